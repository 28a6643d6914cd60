"""Providers' event webhooks: each provider's documented payload, posted to the real anymail endpoint with
the provider's own authentication, recorded once, and turned into suppressions where the address is bad."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from django.test import Client

from tsunagu.messaging.models import EventKind, Message, MessageEvent, Suppression, SuppressionReason
from tsunagu.talent.normalize import email_key
from tsunagu.testing import application_body, http_serving

pytestmark = pytest.mark.django_db

SECRET = "tsunagu:hook-secret-for-tests"
AUTH = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(SECRET.encode()).decode()}
WRONG_AUTH = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"tsunagu:guess").decode()}


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": SECRET}


@pytest.fixture
def sent(api, django_capture_on_commit_callbacks):
    """Send a rejection notice (captured) to `address`; returns its Message."""

    def send(address="yoshiko@example.jp", external_id="A-1001"):
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post("/api/v1/applications",
                                application_body(external_id=external_id, email_address=address))
        assert response.status_code in (200, 201), response.content
        message = Message.objects.get(application__external_id=external_id)
        assert message.status == "sent"
        return message

    return send


def kinds(message) -> list[str]:
    return sorted(MessageEvent.objects.filter(message=message).values_list("kind", flat=True))


def suppression(company, address):
    return Suppression.objects.filter(company=company, email_key=email_key(address)).first()


# --- SendGrid: signed event webhook (ECDSA P-256 over timestamp + body) -------------------------------

@pytest.fixture
def sendgrid_key(settings):
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    settings.ANYMAIL = {**settings.ANYMAIL, "SENDGRID_API_KEY": "SG.test",
                        "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": base64.b64encode(public).decode()}
    return key


def post_sendgrid(events, key, *, auth=AUTH, tamper=False):
    body = json.dumps(events).encode()
    timestamp = str(int(time.time()))
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    if tamper:
        body = body.replace(b"yoshiko", b"yoshikO")
    return Client(enforce_csrf_checks=True).post("/mail/events/sendgrid/tracking/", data=body, content_type="application/json",
                         HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE=base64.b64encode(signature).decode(),
                         HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP=timestamp, **auth)


def sendgrid_events(message, address="yoshiko@example.jp"):
    # As SendGrid's Event Webhook reference shows them; our metadata comes back as a custom argument.
    common = {"email": address, "timestamp": 1795300000, "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
              "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0", "category": [],
              "anymail_id": "0b1e9f52-5e1c-4b43-8d7e-1c3a0f54a2a1", "tsunagu_message": str(message.pk)}
    return [
        {**common, "event": "processed", "sg_event_id": f"cHJvY2Vzc2VkLTE-{message.pk}"},
        {**common, "event": "delivered", "response": "250 OK", "tls": 1, "sg_event_id": f"ZGVsaXZlcmVk-{message.pk}"},
        {**common, "event": "open", "useragent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
         "ip": "255.255.255.255", "sg_machine_open": False, "sg_event_id": f"b3Blbg-{message.pk}"},
        {**common, "event": "click", "useragent": "Mozilla/5.0", "ip": "255.255.255.255",
         "url": "https://tsunagu.example.jp/r/abc", "url_offset": {"index": 0, "type": "html"},
         "sg_event_id": f"Y2xpY2s-{message.pk}"},
        {**common, "event": "bounce", "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
         "status": "5.1.1", "type": "bounce", "bounce_classification": "Invalid Address", "tls": 1,
         "sg_event_id": f"Ym91bmNl-{message.pk}"},
    ]


def test_sendgrid_events_are_recorded_once_and_a_bounce_suppresses(company, sent, sendgrid_key):
    message = sent()
    events = sendgrid_events(message)
    for _ in range(2):  # SendGrid retries; a repeat changes nothing
        assert post_sendgrid(events, sendgrid_key).status_code == 200
    assert kinds(message) == [EventKind.BOUNCED, EventKind.CLICKED, EventKind.DELIVERED, EventKind.OPENED]
    click = MessageEvent.objects.get(message=message, kind=EventKind.CLICKED)
    assert (click.source, click.source_event_id, click.url) == ("sendgrid", f"Y2xpY2s-{message.pk}",
                                                                "https://tsunagu.example.jp/r/abc")
    assert click.company_id == company.pk
    assert click.occurred_at == datetime.fromtimestamp(1795300000, tz=UTC)
    bounce = MessageEvent.objects.get(message=message, kind=EventKind.BOUNCED)
    assert "does not exist" in bounce.detail
    blocked = suppression(company, "yoshiko@example.jp")
    assert blocked.reason == SuppressionReason.HARD_BOUNCE
    assert blocked.message_id == message.pk


def test_sendgrid_blocked_bounce_is_recorded_without_suppressing(company, sent, sendgrid_key):
    message = sent()
    [event] = [e for e in sendgrid_events(message) if e["event"] == "bounce"]
    event.update(type="blocked", reason="421 4.7.0 Try again later, closing connection.", status="4.7.0")
    assert post_sendgrid([event], sendgrid_key).status_code == 200
    assert kinds(message) == [EventKind.BOUNCED]
    assert suppression(company, "yoshiko@example.jp") is None


def test_sendgrid_spam_report_and_unsubscribe_suppress(company, sent, sendgrid_key):
    complained, unsubscribed = sent(), sent("hanako@example.jp", external_id="A-1002")
    base = sendgrid_events(complained)[0]
    spam = {**base, "event": "spamreport", "sg_event_id": "c3BhbQ"}
    unsubscribe = {**base, "email": "hanako@example.jp", "tsunagu_message": str(unsubscribed.pk),
                   "event": "unsubscribe", "sg_event_id": "dW5zdWI"}
    assert post_sendgrid([spam, unsubscribe], sendgrid_key).status_code == 200
    assert suppression(company, "yoshiko@example.jp").reason == SuppressionReason.COMPLAINT
    assert suppression(company, "hanako@example.jp").reason == SuppressionReason.UNSUBSCRIBED
    assert kinds(complained) == [EventKind.COMPLAINED]
    assert kinds(unsubscribed) == [EventKind.UNSUBSCRIBED]


def test_sendgrid_bad_signature_or_secret_is_refused_and_records_nothing(company, sent, sendgrid_key):
    message = sent()
    events = sendgrid_events(message)
    assert post_sendgrid(events, sendgrid_key, tamper=True).status_code == 400
    assert post_sendgrid(events, ec.generate_private_key(ec.SECP256R1())).status_code == 400
    assert post_sendgrid(events, sendgrid_key, auth=WRONG_AUTH).status_code == 400
    assert post_sendgrid(events, sendgrid_key, auth={}).status_code == 400
    assert not MessageEvent.objects.exists()
    assert suppression(company, "yoshiko@example.jp") is None


# --- Amazon SES: SNS notifications, signed by SNS -----------------------------------------------------

class _CertificateServer(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's hook name
        self.server.fetches += 1
        data = self.server.certificate
        self.send_response(200)
        self.send_header("Content-Type", "application/x-pem-file")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class SNS:
    """Plays Amazon SNS: signs notifications with its key; its certificate is served over HTTP locally."""

    topic = "arn:aws:sns:ap-northeast-1:123456789012:tsunagu-ses-events"

    def __init__(self, base_url: str, server):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
        now = datetime.now(UTC)
        certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                       .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                       .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
                       .sign(self.key, hashes.SHA256()))
        server.certificate = certificate.public_bytes(serialization.Encoding.PEM)
        self.server = server
        # A fresh name per test: the verifier caches certificates by URL.
        self.cert_url = f"{base_url}/SimpleNotificationService-{uuid.uuid4().hex}.pem"

    def notification(self, ses_event: dict, *, version="2", key=None, **overrides) -> dict:
        message = {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": self.topic,
            "Subject": "Amazon SES Email Event Notification",
            "Message": json.dumps(ses_event),
            "Timestamp": "2026-11-21T01:02:03.456Z",
            "SignatureVersion": version,
            "SigningCertURL": self.cert_url,
            "UnsubscribeURL": "https://sns.ap-northeast-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
            **overrides,
        }
        return self.sign(message, ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"), key=key)

    def subscription_confirmation(self, *, key=None) -> dict:
        message = {
            "Type": "SubscriptionConfirmation", "MessageId": str(uuid.uuid4()), "Token": "2336412f37" * 8,
            "TopicArn": self.topic, "Timestamp": "2026-11-21T01:00:00.000Z", "SignatureVersion": "1",
            "Message": f"You have chosen to subscribe to the topic {self.topic}.\nTo confirm the subscription, "
                       "visit the SubscribeURL included in this message.",
            "SubscribeURL": "https://sns.ap-northeast-1.amazonaws.com/?Action=ConfirmSubscription&Token=2336412f37",
            "SigningCertURL": self.cert_url,
        }
        return self.sign(message, ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn",
                                   "Type"), key=key)

    def sign(self, message: dict, fields, *, key=None) -> dict:
        signed = "".join(f"{name}\n{message[name]}\n" for name in fields if name in message)
        algorithm = hashes.SHA1() if message["SignatureVersion"] == "1" else hashes.SHA256()
        signature = (key or self.key).sign(signed.encode(), padding.PKCS1v15(), algorithm)
        message["Signature"] = base64.b64encode(signature).decode()
        return message


@pytest.fixture
def sns(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CertificateServer)
    server.fetches = 0
    base = f"http://127.0.0.1:{server.server_address[1]}"
    settings.TSUNAGU_SNS_CERT_URL_PATTERN = re.escape(base) + r"/SimpleNotificationService-[A-Za-z0-9]+\.pem"
    settings.ANYMAIL = {**settings.ANYMAIL, "AMAZON_SES_CLIENT_PARAMS": {"region_name": "ap-northeast-1"}}
    with http_serving(server):
        yield SNS(base, server)


def post_sns(message: dict, *, auth=AUTH):
    return Client(enforce_csrf_checks=True).post("/mail/events/amazon_ses/tracking/", data=json.dumps(message),
                         content_type="text/plain; charset=UTF-8",  # SNS posts its JSON as text/plain
                         HTTP_X_AMZ_SNS_MESSAGE_TYPE=message["Type"], HTTP_X_AMZ_SNS_MESSAGE_ID=message["MessageId"],
                         HTTP_X_AMZ_SNS_TOPIC_ARN=message["TopicArn"], **auth)


def ses_event(message, event_type: str, detail: dict, *, metadata=True, address="yoshiko@example.jp") -> dict:
    # SES event publishing, as the SES developer guide's examples show it.
    headers = [
        {"name": "From", "value": "=?utf-8?b?5qCq5byP5Lya56S+44Ki44Kv44OhIOaOoeeUqOaLheW9kw==?= <recruit@acme.example>"},
        {"name": "To", "value": address},
        {"name": "Subject", "value": "=?utf-8?b?6YG46ICD57WQ5p6c44Gu44GU6YCj57Wh?="},
        {"name": "Message-ID", "value": message.message_id},
        {"name": "MIME-Version", "value": "1.0"},
    ]
    if metadata:
        headers.append({"name": "X-Metadata", "value": json.dumps({"tsunagu_message": str(message.pk)})})
    return {
        "eventType": event_type,
        "mail": {
            "timestamp": "2026-11-21T01:00:00.000Z",
            "source": "recruit@acme.example",
            "sourceArn": "arn:aws:ses:ap-northeast-1:123456789012:identity/acme.example",
            "sendingAccountId": "123456789012",
            "messageId": "010601933e4a1b2c-5f8d2a77-0000-4000-8000-000000000000-000000",
            "destination": [address],
            "headersTruncated": False,
            "headers": headers,
            "commonHeaders": {"from": ["株式会社アクメ 採用担当 <recruit@acme.example>"], "to": [address],
                              "messageId": message.message_id, "subject": "選考結果のご連絡"},
            "tags": {"ses:configuration-set": ["tsunagu"]},
        },
        event_type.lower(): detail,
    }


PERMANENT_BOUNCE = {
    "bounceType": "Permanent", "bounceSubType": "General",
    "bouncedRecipients": [{"emailAddress": "yoshiko@example.jp", "action": "failed", "status": "5.1.1",
                           "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
    "timestamp": "2026-11-21T01:00:05.000Z", "feedbackId": "0106019330-feedback",
    "reportingMTA": "dsn; e226-55.smtp-out.ap-northeast-1.amazonses.com",
}


def test_ses_events_are_verified_recorded_once_and_a_permanent_bounce_suppresses(company, sent, sns):
    message = sent()
    delivery = sns.notification(ses_event(message, "Delivery", {
        "timestamp": "2026-11-21T01:00:02.000Z", "processingTimeMillis": 546, "recipients": ["yoshiko@example.jp"],
        "smtpResponse": "250 2.6.0 Message received", "reportingMTA": "e226-55.smtp-out.amazonses.com"}))
    bounce = sns.notification(ses_event(message, "Bounce", PERMANENT_BOUNCE))
    for notification in (delivery, bounce, delivery, bounce):  # SNS delivers at least once
        assert post_sns(notification).status_code == 200
    assert kinds(message) == [EventKind.BOUNCED, EventKind.DELIVERED]
    recorded = MessageEvent.objects.get(message=message, kind=EventKind.BOUNCED)
    assert (recorded.source, recorded.source_event_id) == ("amazon_ses", bounce["MessageId"])
    assert "550 5.1.1 user unknown" in recorded.detail
    assert suppression(company, "yoshiko@example.jp").reason == SuppressionReason.HARD_BOUNCE
    assert sns.server.fetches == 1  # the certificate is fetched once


def test_ses_complaint_matched_by_message_id_header_with_signature_version_1(company, sent, sns):
    message = sent()
    complaint = sns.notification(ses_event(message, "Complaint", {
        "complainedRecipients": [{"emailAddress": "yoshiko@example.jp"}], "timestamp": "2026-11-21T02:00:00.000Z",
        "feedbackId": "0106019330-complaint", "userAgent": "Yahoo!-Mail-Feedback/2.0",
        "complaintFeedbackType": "abuse", "arrivalDate": "2026-11-21T01:59:00.000Z"}, metadata=False), version="1")
    assert post_sns(complaint).status_code == 200
    assert kinds(message) == [EventKind.COMPLAINED]
    assert suppression(company, "yoshiko@example.jp").reason == SuppressionReason.COMPLAINT


def test_ses_transient_bounce_is_recorded_without_suppressing(company, sent, sns):
    message = sent()
    transient = {**PERMANENT_BOUNCE, "bounceType": "Transient", "bounceSubType": "MailboxFull"}
    assert post_sns(sns.notification(ses_event(message, "Bounce", transient))).status_code == 200
    assert kinds(message) == [EventKind.BOUNCED]
    assert suppression(company, "yoshiko@example.jp") is None


def test_ses_bad_signature_certificate_topic_or_secret_is_refused(company, sent, sns, settings):
    message = sent()
    event = ses_event(message, "Bounce", PERMANENT_BOUNCE)
    forged = sns.notification(event, key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    assert post_sns(forged).status_code == 400
    tampered = sns.notification(event)
    tampered["Message"] = tampered["Message"].replace("Permanent", "Transient")
    assert post_sns(tampered).status_code == 400
    # A certificate anywhere but SNS's own host is not trusted, however well it signs.
    foreign = sns.notification(event, SigningCertURL="https://attacker.example/SimpleNotificationService-1.pem")
    assert post_sns(foreign).status_code == 400
    settings.TSUNAGU_SNS_CERT_URL_PATTERN = r"https://sns\.[a-z0-9-]+\.amazonaws\.com/SimpleNotificationService-\w+\.pem"
    assert post_sns(sns.notification(event)).status_code == 400
    del settings.TSUNAGU_SNS_CERT_URL_PATTERN
    assert post_sns(sns.notification(event)).status_code == 400  # the real default refuses a local URL too
    sns_fixture_pattern = re.escape(sns.cert_url.rsplit("/", 1)[0]) + r"/SimpleNotificationService-\w+\.pem"
    settings.TSUNAGU_SNS_CERT_URL_PATTERN = sns_fixture_pattern
    # Topics configured (ses://...&topic=ARN): another topic is refused.
    settings.TSUNAGU_SNS_TOPIC_ARNS = ["arn:aws:sns:ap-northeast-1:123456789012:other-topic"]
    assert post_sns(sns.notification(event)).status_code == 400
    settings.TSUNAGU_SNS_TOPIC_ARNS = []
    assert post_sns(sns.notification(event), auth=WRONG_AUTH).status_code == 400
    missing = post_sns(sns.notification(event), auth={})
    assert missing.status_code == 401  # SNS sends credentials only after a 401 challenge
    assert missing["WWW-Authenticate"].startswith("Basic")
    assert not MessageEvent.objects.exists()
    assert suppression(company, "yoshiko@example.jp") is None
    # The same notification, properly signed and authenticated, goes through.
    assert post_sns(sns.notification(event)).status_code == 200
    assert kinds(message) == [EventKind.BOUNCED]


def test_ses_subscription_confirmation_is_verified_before_anything_else(sns, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "AMAZON_SES_AUTO_CONFIRM_SNS_SUBSCRIPTIONS": False}
    forged = sns.subscription_confirmation(key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    assert post_sns(forged).status_code == 400
    assert post_sns(sns.subscription_confirmation()).status_code == 200


# --- Postmark: basic auth ---------------------------------------------------------------------------

def post_postmark(payload, *, auth=AUTH):
    return Client(enforce_csrf_checks=True).post("/mail/events/postmark/tracking/", data=json.dumps(payload),
                         content_type="application/json", **auth)


def postmark_bounce(message, **changes):
    # Postmark's bounce webhook, as its documentation shows it, with our metadata.
    return {"RecordType": "Bounce", "MessageStream": "outbound", "ID": 4323372036854775807, "Type": "HardBounce",
            "TypeCode": 1, "Name": "Hard bounce", "Tag": "", "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
            "Metadata": {"tsunagu_message": str(message.pk)}, "ServerID": 23, "Description":
            "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
            "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
            "Email": message.to_email, "From": "recruit@acme.example", "BouncedAt": "2026-11-21T10:28:10.2735393+09:00",
            "DumpAvailable": True, "Inactive": True, "CanActivate": True, "Subject": message.subject, **changes}


def test_postmark_events_are_recorded_once_and_a_hard_bounce_suppresses(company, sent):
    message = sent()
    delivery = {"RecordType": "Delivery", "ServerID": 23, "MessageStream": "outbound",
                "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Recipient": "yoshiko@example.jp", "Tag": "",
                "DeliveredAt": "2026-11-21T10:20:00.0000000+09:00", "Details": "smtp;250 2.0.0 OK",
                "Metadata": {"tsunagu_message": str(message.pk)}}
    opened = {"RecordType": "Open", "MessageStream": "outbound", "FirstOpen": True,
              "Client": {"Name": "Gmail", "Company": "Google"}, "OS": {"Name": "iOS 17"}, "Platform": "Mobile",
              "UserAgent": "Mozilla/5.0 (iPhone)", "ReadSeconds": 5, "Geo": {"Country": "Japan"},
              "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Metadata": {"tsunagu_message": str(message.pk)},
              "ReceivedAt": "2026-11-21T10:25:00.0000000+09:00", "Tag": "", "Recipient": "yoshiko@example.jp"}
    for payload in (delivery, opened, postmark_bounce(message)) * 2:  # Postmark retries failed posts
        assert post_postmark(payload).status_code == 200
    assert kinds(message) == [EventKind.BOUNCED, EventKind.DELIVERED, EventKind.OPENED]
    # Deliveries and opens carry no event id: a digest of their content stands in for it.
    assert MessageEvent.objects.get(message=message, kind=EventKind.DELIVERED).source_event_id.startswith("sha256:")
    assert MessageEvent.objects.get(message=message, kind=EventKind.BOUNCED).source_event_id == "4323372036854775807"
    assert MessageEvent.objects.get(message=message, kind=EventKind.OPENED).user_agent == "Mozilla/5.0 (iPhone)"
    assert suppression(company, "yoshiko@example.jp").reason == SuppressionReason.HARD_BOUNCE


def test_postmark_soft_bounce_does_not_suppress_but_a_spam_complaint_does(company, sent):
    message = sent()
    soft = postmark_bounce(message, ID=11, Type="SoftBounce", TypeCode=4096, Name="Soft bounce")
    assert post_postmark(soft).status_code == 200
    assert suppression(company, "yoshiko@example.jp") is None
    complaint = postmark_bounce(message, RecordType="SpamComplaint", ID=12, Type="SpamComplaint", TypeCode=512,
                                Name="Spam complaint")
    assert post_postmark(complaint).status_code == 200
    assert kinds(message) == [EventKind.BOUNCED, EventKind.COMPLAINED]
    assert suppression(company, "yoshiko@example.jp").reason == SuppressionReason.COMPLAINT


def test_postmark_without_the_secret_is_refused(company, sent):
    message = sent()
    assert post_postmark(postmark_bounce(message), auth=WRONG_AUTH).status_code == 400
    assert post_postmark(postmark_bounce(message), auth={}).status_code == 400
    assert not MessageEvent.objects.exists()
    assert suppression(company, "yoshiko@example.jp") is None


# --- Mailgun: HMAC-SHA256 signature with the webhook signing key --------------------------------------

MAILGUN_KEY = "mailgun-webhook-signing-key-for-tests"


@pytest.fixture
def mailgun(settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_API_KEY": "key-test", "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}


def mailgun_payload(message, event_data: dict, *, key=MAILGUN_KEY, token=None) -> dict:
    timestamp, token = str(int(time.time())), token or uuid.uuid4().hex + uuid.uuid4().hex[:18]
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return {"signature": {"timestamp": timestamp, "token": token, "signature": signature}, "event-data": {
        "id": "G9Bn5sl1TC6nu79C8C0bwg", "timestamp": 1795300000.375624, "recipient": message.to_email,
        "recipient-domain": "example.jp", "tags": [], "campaigns": [], "envelope": {"sender": "recruit@acme.example",
                                                                                   "transport": "smtp"},
        "message": {"headers": {"to": message.to_email, "message-id": message.message_id.strip("<>"),
                                "from": "recruit@acme.example", "subject": message.subject}, "attachments": [],
                    "size": 4111},
        "user-variables": {"tsunagu_message": str(message.pk)}, **event_data}}


def post_mailgun(payload, *, auth=AUTH):
    return Client(enforce_csrf_checks=True).post("/mail/events/mailgun/tracking/", data=json.dumps(payload),
                         content_type="application/json", **auth)


PERMANENT_FAILURE = {"event": "failed", "log-level": "error", "severity": "permanent", "reason": "bounce",
                     "delivery-status": {"attempt-no": 1, "code": 550, "session-seconds": 0.4,
                                         "message": "5.1.1 The email account that you tried to reach does not exist",
                                         "description": ""}}


def test_mailgun_events_are_recorded_once_and_a_permanent_failure_suppresses(company, sent, mailgun):
    message = sent()
    delivered = mailgun_payload(message, {"event": "delivered", "log-level": "info", "delivery-status": {
        "code": 250, "message": "OK", "attempt-no": 1, "description": "", "session-seconds": 0.3}})
    failed = mailgun_payload(message, PERMANENT_FAILURE)
    for payload in (delivered, failed, delivered, failed):
        assert post_mailgun(payload).status_code == 200
    assert kinds(message) == [EventKind.BOUNCED, EventKind.DELIVERED]
    assert MessageEvent.objects.get(message=message, kind=EventKind.BOUNCED).source_event_id == \
        failed["signature"]["token"]
    assert suppression(company, "yoshiko@example.jp").reason == SuppressionReason.HARD_BOUNCE


def test_mailgun_temporary_failure_is_deferred_without_suppressing(company, sent, mailgun):
    message = sent()
    temporary = {**PERMANENT_FAILURE, "severity": "temporary", "reason": "generic", "log-level": "warning",
                 "delivery-status": {"attempt-no": 1, "code": 452, "message": "4.2.2 Mailbox full",
                                     "retry-seconds": 600}}
    assert post_mailgun(mailgun_payload(message, temporary)).status_code == 200
    assert kinds(message) == [EventKind.DEFERRED]
    assert suppression(company, "yoshiko@example.jp") is None


def test_mailgun_matches_by_our_message_id_when_the_metadata_is_missing(company, sent, mailgun):
    message = sent()
    payload = mailgun_payload(message, {"event": "unsubscribed", "log-level": "info"})
    del payload["event-data"]["user-variables"]
    assert post_mailgun(payload).status_code == 200
    assert kinds(message) == [EventKind.UNSUBSCRIBED]
    assert suppression(company, "yoshiko@example.jp").reason == SuppressionReason.UNSUBSCRIBED


def test_mailgun_bad_signature_or_secret_is_refused(company, sent, mailgun):
    message = sent()
    assert post_mailgun(mailgun_payload(message, PERMANENT_FAILURE, key="another-key")).status_code == 400
    tampered = mailgun_payload(message, PERMANENT_FAILURE)
    tampered["signature"]["timestamp"] = str(int(tampered["signature"]["timestamp"]) + 1)
    assert post_mailgun(tampered).status_code == 400
    assert post_mailgun(mailgun_payload(message, PERMANENT_FAILURE), auth=WRONG_AUTH).status_code == 400
    assert not MessageEvent.objects.exists()
    assert suppression(company, "yoshiko@example.jp") is None


def test_mailgun_without_a_signing_key_answers_404(sent, settings):
    message = sent()
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    assert post_mailgun(mailgun_payload(message, PERMANENT_FAILURE)).status_code == 404
    assert not MessageEvent.objects.exists()


# --- events about mail that is not ours -------------------------------------------------------------

def test_event_for_an_unknown_message_is_answered_200_and_ignored(company, sent, mailgun):
    message = sent()
    stranger = mailgun_payload(message, PERMANENT_FAILURE)
    stranger["event-data"]["user-variables"] = {"tsunagu_message": str(message.pk + 1000)}
    stranger["event-data"]["message"]["headers"]["message-id"] = "20261121.abc@mg.other.example"
    assert post_mailgun(stranger).status_code == 200
    other_app = mailgun_payload(message, PERMANENT_FAILURE)
    other_app["event-data"]["user-variables"] = {}
    other_app["event-data"]["message"]["headers"]["message-id"] = "20261121.abc@mg.other.example"
    assert post_mailgun(other_app).status_code == 200
    assert not MessageEvent.objects.exists()
    assert suppression(company, "yoshiko@example.jp") is None


def test_event_whose_recipient_is_not_the_messages_is_ignored(company, sent, mailgun):
    message = sent()
    payload = mailgun_payload(message, PERMANENT_FAILURE)
    payload["event-data"]["recipient"] = "someone-else@example.jp"
    assert post_mailgun(payload).status_code == 200
    assert not MessageEvent.objects.exists()
    assert suppression(company, "someone-else@example.jp") is None
    assert suppression(company, "yoshiko@example.jp") is None
