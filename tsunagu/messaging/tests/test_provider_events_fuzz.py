"""Property: whatever is posted to the providers' event webhooks (/mail/events/<provider>/tracking/) — any
credentials, headers, bytes, encodings, nesting, numbers and JSON types — the answer is never a server error,
and a refused post records nothing (no event, no suppression, no message changed). Each provider is fuzzed
with forged posts and with posts that pass its authentication (the shared secret, and SendGrid's, Mailgun's
or SNS's signature over the fuzzed body), so anymail's readers and ours behind the checks are fuzzed too.

Bounded and reproducible: a fixed number of examples, derandomized, no example database."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from http.server import ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from tsunagu.intake.actions.events import record_application_event
from tsunagu.intake.events import IncomingApplicationEvent
from tsunagu.messaging.models import Message, MessageEvent, Suppression
from tsunagu.messaging.tests.test_provider_events import SNS, _CertificateServer
from tsunagu.talent.data import CandidateData, JobData
from tsunagu.testing import http_serving
from tsunagu.testing import json_values as json_values_of
from tsunagu.testing import shaped as shaped_like

pytestmark = pytest.mark.django_db

SECRET = "tsunagu:fuzz-hook-secret"
AUTH = "Basic " + base64.b64encode(SECRET.encode()).decode()
MAILGUN_KEY = "mailgun-webhook-signing-key-for-fuzz"
FUZZ = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.large_base_example])
PROVIDERS = ["sendgrid", "postmark", "mailgun", "amazon_ses"]


@pytest.fixture
def world(settings, make_company):
    """Every provider configured, SNS played locally, and one message of ours the events can name."""
    sendgrid_key = ec.generate_private_key(ec.SECP256R1())
    public = sendgrid_key.public_key().public_bytes(serialization.Encoding.DER,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CertificateServer)
    server.fetches = 0
    base = f"http://127.0.0.1:{server.server_address[1]}"
    settings.TSUNAGU_SNS_CERT_URL_PATTERN = base.replace(".", r"\.") + r"/SimpleNotificationService-[A-Za-z0-9]+\.pem"
    settings.ANYMAIL = {
        **settings.ANYMAIL, "WEBHOOK_SECRET": SECRET,
        "SENDGRID_API_KEY": "SG.test", "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": base64.b64encode(public).decode(),
        "MAILGUN_API_KEY": "key-test", "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY,
        "AMAZON_SES_CLIENT_PARAMS": {"region_name": "ap-northeast-1"},
        "AMAZON_SES_AUTO_CONFIRM_SNS_SUBSCRIPTIONS": False,  # no call to AWS from a test
    }
    company, _key = make_company(slug="fuzz-mail")
    result = record_application_event(company, IncomingApplicationEvent(
        external_id="F-1", status="rejected", candidate=CandidateData(name="髙橋 𠮷子", email="yoshiko@example.jp"),
        job=JobData(title="営業"), source="fuzz", event_id="fuzz-1", occurred_at=timezone.now()))
    message = Message.objects.get(application=result.application)
    with http_serving(server):
        yield {"sendgrid_key": sendgrid_key, "sns": SNS(base, server), "message": message}


# --- what a sender can put in a post --------------------------------------------------------------

json_values = json_values_of(["bounce", "delivered", "Bounce", "Delivery", "Notification", "HardBounce", "failed", "permanent", "Received"])


def shaped(template):
    return shaped_like(template, json_values, min_items=1)


def templates(message) -> dict:
    pk, address = str(message.pk), message.to_email
    return {
        "sendgrid": [{"email": address, "timestamp": 1795300000, "event": "bounce", "type": "bounce",
                      "reason": "550 5.1.1 unknown", "sg_event_id": "Ym91bmNl", "sg_message_id": "14c5d75ce93",
                      "tsunagu_message": pk}],
        "postmark": {"RecordType": "Bounce", "ID": 4323372036854775807, "Type": "HardBounce", "MessageID": "883953f4",
                     "Metadata": {"tsunagu_message": pk}, "Email": address, "Description": "unknown user",
                     "Details": "smtp;550 5.1.1", "BouncedAt": "2026-11-21T10:28:10+09:00"},
        "mailgun": {"event-data": {"id": "G9Bn5sl1", "timestamp": 1795300000.375624, "recipient": address,
                                   "event": "failed", "severity": "permanent", "reason": "bounce",
                                   "delivery-status": {"code": 550, "message": "5.1.1 unknown"},
                                   "message": {"headers": {"message-id": message.message_id.strip("<>")}},
                                   "user-variables": {"tsunagu_message": pk}}},
        "amazon_ses": {"eventType": "Bounce", "mail": {
            "messageId": "0106019", "destination": [address],
            "headers": [{"name": "X-Metadata", "value": json.dumps({"tsunagu_message": pk})}],
            "commonHeaders": {"messageId": message.message_id}},
            "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
                       "bouncedRecipients": [{"emailAddress": address, "diagnosticCode": "smtp; 550 5.1.1"}]}},
    }


ENCODINGS = ["utf-8", "utf-16", "utf-32", "latin-1", "cp932"]


def encoded(value, encoding: str, ascii_only: bool) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only).encode(encoding, errors="surrogatepass"
                                                             if encoding.startswith("utf") else "replace")


def raw_bodies(template):
    return st.one_of(
        st.binary(max_size=300),
        st.integers(1, 200_000).map(lambda depth: b"[" * depth + b"]" * depth),
        st.integers(1, 50_000).map(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth),
        st.integers(300, 5000).map(lambda digits: b'[{"timestamp": 1' + b"0" * digits + b', "event": "bounce"}]'),
        st.builds(encoded, shaped(template) | json_values, st.sampled_from(ENCODINGS), st.booleans()),
    )


header_values = st.one_of(
    st.text(max_size=60),
    st.binary(max_size=60).map(lambda raw: raw.decode("latin-1")),
    st.sampled_from(["Basic é", "Basic " + base64.b64encode("tsunagu:é".encode()).decode(), "Basic ====", "²³",
                     "9" * 5000, "\x00", "Notification", "SubscriptionConfirmation"]),
    st.builds(lambda char, count: char * count, st.characters(), st.integers(1, 100_000)),
)
KNOWN_HEADERS = ["Authorization", "X-Twilio-Email-Event-Webhook-Signature", "X-Twilio-Email-Event-Webhook-Timestamp",
                 "X-Amz-Sns-Message-Type", "X-Amz-Sns-Message-Id", "X-Amz-Sns-Topic-Arn"]
headers_strategy = st.dictionaries(st.sampled_from(KNOWN_HEADERS), header_values, max_size=4)
CONTENT_TYPES = ["application/json", "text/plain; charset=UTF-8", "application/x-www-form-urlencoded",
                 "multipart/form-data; boundary=x", "application/json; charset=utf-16"]


# --- signing as each provider signs -----------------------------------------------------------------

def signed(provider: str, world, payload, body: bytes, headers: dict) -> tuple[bytes, dict]:
    """The post with valid credentials over the fuzzed content."""
    headers = {**headers, "Authorization": AUTH}
    if provider == "sendgrid":
        stamp = str(int(time.time()))
        signature = world["sendgrid_key"].sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        headers.update({"X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
                        "X-Twilio-Email-Event-Webhook-Timestamp": stamp})
    elif provider == "mailgun":
        payload = payload if isinstance(payload, dict) else {"event-data": payload}
        stamp, token = str(int(time.time())), uuid.uuid4().hex
        payload["signature"] = {"timestamp": stamp, "token": token, "signature": hmac.new(
            MAILGUN_KEY.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()}
        body = json.dumps(payload).encode()
    elif provider == "amazon_ses":
        notification = world["sns"].notification({})
        notification["Message"] = body.decode("utf-8", errors="surrogateescape").encode(
            "utf-8", errors="replace").decode()
        notification = world["sns"].sign(notification, ("Message", "MessageId", "Subject", "Timestamp", "TopicArn",
                                                        "Type"))
        headers.update({"X-Amz-Sns-Message-Type": "Notification", "X-Amz-Sns-Message-Id": notification["MessageId"],
                        "X-Amz-Sns-Topic-Arn": notification["TopicArn"]})
        body = json.dumps(notification).encode()
    return body, headers


# --- the property -----------------------------------------------------------------------------------

def recorded() -> tuple:
    return (MessageEvent.objects.count(), Suppression.objects.count(),
            sorted(Message.objects.values_list("pk", "status")))


def post_and_check(provider, body, headers, content_type):
    before = recorded()
    response = Client().generic("POST", f"/mail/events/{provider}/tracking/", body, content_type=content_type,
                                headers=headers)
    assert response.status_code < 500, (response.status_code, response.content[:300])
    if currently_in_test_context():  # --hypothesis-show-statistics: how far the examples got
        event(f"answered {response.status_code}")
    if response.status_code >= 400:
        assert recorded() == before, "a refused post recorded something"
        if response.status_code == 400:
            assert response.json()["detail"], response.content[:300]
        else:  # SNS's first post comes without credentials: a 401 challenge
            assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Basic")
    return response.status_code


@pytest.mark.parametrize("provider", PROVIDERS)
@FUZZ
@given(data=st.data(), content_type=st.sampled_from(CONTENT_TYPES),
       auth=st.sampled_from(["right", "wrong", "none", "fuzzed"]))
def test_forged_posts_are_refused_without_a_server_error(world, provider, data, content_type, auth):
    body = data.draw(raw_bodies(templates(world["message"])[provider]), label="body")
    headers = data.draw(headers_strategy, label="headers")
    if auth == "right":
        headers["Authorization"] = AUTH
    elif auth == "wrong":
        headers["Authorization"] = "Basic " + base64.b64encode(b"tsunagu:guess").decode()
    elif auth == "none":
        headers.pop("Authorization", None)
    status = post_and_check(provider, body, headers, content_type)
    if provider != "postmark":  # Postmark's only protection is the secret; the others also sign
        assert status in (400, 401)


@pytest.mark.parametrize("provider", PROVIDERS)
@FUZZ
@given(data=st.data(), content_type=st.sampled_from(CONTENT_TYPES))
def test_authenticated_malformed_posts_are_refused_without_a_server_error(world, provider, data, content_type):
    """The credentials and signatures are right, so the reading of the body is what is fuzzed."""
    template = templates(world["message"])[provider]
    payload = data.draw(shaped(template) | json_values, label="payload")
    body = data.draw(st.builds(encoded, st.just(payload), st.sampled_from(ENCODINGS), st.booleans())
                     | raw_bodies(template), label="body")
    body, headers = signed(provider, world, payload, body, data.draw(headers_strategy, label="headers"))
    if provider in ("mailgun", "amazon_ses", "sendgrid"):
        content_type = "application/json" if provider != "amazon_ses" else "text/plain; charset=UTF-8"
    post_and_check(provider, body, headers, content_type)


# --- the findings (each answered 500 before) -------------------------------------------------------

def test_ses_with_bad_credentials_and_a_non_json_body_is_400(world):
    headers = {"Authorization": "Basic " + base64.b64encode(b"tsunagu:guess").decode(),
               "X-Amz-Sns-Message-Type": "Notification", "X-Amz-Sns-Message-Id": "m-1"}
    assert post_and_check("amazon_ses", b"not json at all", headers, "text/plain; charset=UTF-8") == 400


def test_ses_with_the_secret_and_a_non_json_or_nested_body_is_400(world):
    headers = {"Authorization": AUTH, "X-Amz-Sns-Message-Type": "Notification", "X-Amz-Sns-Message-Id": "m-1"}
    for body in (b"not json at all", b"[1, 2]", b"[" * 100_000 + b"]" * 100_000, b'{"Type": ["Notification"]}'):
        assert post_and_check("amazon_ses", body, headers, "text/plain; charset=UTF-8") == 400


def test_sendgrid_non_ascii_signature_is_400(world):
    headers = {"Authorization": AUTH, "X-Twilio-Email-Event-Webhook-Signature": "é" * 20,
               "X-Twilio-Email-Event-Webhook-Timestamp": str(int(time.time()))}
    assert post_and_check("sendgrid", b"[]", headers, "application/json") == 400


def test_mailgun_list_body_or_non_ascii_token_is_400(world):
    headers = {"Authorization": AUTH}
    assert post_and_check("mailgun", b"[1]", headers, "application/json") == 400
    body = json.dumps({"signature": {"timestamp": "1", "token": "é", "signature": "00"}, "event-data": {}}).encode()
    assert post_and_check("mailgun", body, headers, "application/json") == 400


def test_a_signed_event_with_a_huge_timestamp_or_wrong_types_is_400(world):
    template = templates(world["message"])["sendgrid"]
    for change in ({"timestamp": 10**18}, {"email": ["yoshiko@example.jp"]}, {"tsunagu_message": "9" * 30},
                   {"sg_event_id": {"id": 1}}):
        body = json.dumps([{**template[0], **change}]).encode()
        body, headers = signed("sendgrid", world, None, body, {})
        status = post_and_check("sendgrid", body, headers, "application/json")
        assert status in (200, 400)
    assert MessageEvent.objects.count() == 0


def test_a_valid_signed_event_is_still_recorded(world):
    """The hardening refuses only what is malformed: a documented post is recorded as before."""
    body = json.dumps(templates(world["message"])["sendgrid"]).encode()
    body, headers = signed("sendgrid", world, None, body, {})
    assert post_and_check("sendgrid", body, headers, "application/json") == 200
    assert MessageEvent.objects.filter(message=world["message"]).count() == 1
