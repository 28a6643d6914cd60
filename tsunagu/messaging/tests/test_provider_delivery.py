"""Delivery through providers' APIs (django-anymail) against a real local HTTP server playing the provider:
what each request carries, and how the delivery loop reads the provider's refusals."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import threading
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.utils import getaddresses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from tsunagu.messaging.models import Message, MessageStatus
from tsunagu.testing import application_body, http_serving

pytestmark = pytest.mark.django_db


@dataclass
class FakeProvider:
    """A local HTTP server that records each request and answers with the next queued (status, body)."""

    url: str = ""
    requests: list = field(default_factory=list)
    answers: list = field(default_factory=list)
    default: tuple = (200, {})
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self):
        with self.lock:
            return self.answers.pop(0) if self.answers else self.default


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's hook name
        provider: FakeProvider = self.server.provider
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with provider.lock:
            provider.requests.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
        status, payload = provider.answer()
        data = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_provider():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    provider = FakeProvider(url=f"http://127.0.0.1:{server.server_address[1]}")
    server.provider = provider
    with http_serving(server):
        yield provider


def reject(api, django_capture_on_commit_callbacks, **extra):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/applications", application_body(**extra))
    assert response.status_code in (200, 201), response.content
    return Message.objects.get(application__external_id=extra.get("external_id", "A-1001"))


def use_provider(settings, backend: str, **anymail):
    settings.EMAIL_BACKEND = f"tsunagu.messaging.provider_backends.{backend}"
    settings.ANYMAIL = {**settings.ANYMAIL, **anymail}


def display_name(address_header: str) -> str:
    [(name, _address)] = getaddresses([address_header])
    return str(make_header(decode_header(name)))


# --- Postmark ---------------------------------------------------------------------------------------

POSTMARK_OK = {"To": "yoshiko@example.jp", "SubmittedAt": "2026-11-21T10:00:00.0000000Z",
               "MessageID": "b7bc2f4a-e38e-4336-af7d-e6c392c2f817", "ErrorCode": 0, "Message": "OK"}


def test_postmark_request_carries_the_notice(api, company, settings, fake_provider,
                                             django_capture_on_commit_callbacks):
    company.reply_to = "hr@acme.example"
    company.save()
    use_provider(settings, "PostmarkBackend", POSTMARK_SERVER_TOKEN="server-token-1",
                 POSTMARK_API_URL=fake_provider.url + "/")
    fake_provider.default = (200, POSTMARK_OK)
    message = reject(api, django_capture_on_commit_callbacks)

    message.refresh_from_db()
    assert message.status == MessageStatus.SENT, message.last_error
    [request] = fake_provider.requests
    assert request["path"] == "/email"
    assert request["headers"]["X-Postmark-Server-Token"] == "server-token-1"
    sent = json.loads(request["body"])
    assert display_name(sent["From"]) == "株式会社アクメ 採用担当"
    assert "<recruit@acme.example>" in sent["From"]
    assert display_name(sent["To"]) == "髙橋 𠮷子"
    assert "yoshiko@example.jp" in sent["To"]
    assert sent["ReplyTo"] == "hr@acme.example"
    assert sent["Subject"] == message.subject == "選考結果のご連絡(株式会社アクメ)"
    assert sent["TextBody"] == message.body_text
    assert sent["TextBody"].startswith("髙橋 𠮷子様")
    assert "<a href=" in sent["HtmlBody"]
    headers = {header["Name"]: header["Value"] for header in sent["Headers"]}
    assert headers["Message-ID"] == message.message_id
    assert sent["Metadata"] == {"tsunagu_message": str(message.pk)}


def test_postmark_inactive_recipient_fails_the_message_for_good(api, settings, fake_provider,
                                                               django_capture_on_commit_callbacks):
    use_provider(settings, "PostmarkBackend", POSTMARK_SERVER_TOKEN="t", POSTMARK_API_URL=fake_provider.url + "/")
    fake_provider.default = (422, {
        "ErrorCode": 406,
        "Message": "You tried to send to a recipient that has been marked as inactive.\n"
                   "Found inactive addresses: yoshiko@example.jp.\n"
                   "Inactive recipients are ones that have generated a hard bounce or a spam complaint.",
    })
    message = reject(api, django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert "AnymailRecipientsRefused" in message.last_error


@pytest.mark.parametrize(("status", "body"), [
    (500, {"ErrorCode": 500, "Message": "Internal server error"}),
    (429, {"ErrorCode": 429, "Message": "Rate limit exceeded"}),
    (401, {"ErrorCode": 10, "Message": "No Account or Server API tokens were supplied"}),
])
def test_postmark_server_trouble_rate_limits_and_credentials_are_retried(
        status, body, api, settings, fake_provider, django_capture_on_commit_callbacks):
    use_provider(settings, "PostmarkBackend", POSTMARK_SERVER_TOKEN="t", POSTMARK_API_URL=fake_provider.url + "/")
    fake_provider.default = (status, body)
    message = reject(api, django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.status == MessageStatus.SCHEDULED
    assert message.attempts == 1
    assert str(status) in message.last_error


def test_postmark_refusing_the_request_itself_fails_the_message(api, settings, fake_provider,
                                                               django_capture_on_commit_callbacks):
    use_provider(settings, "PostmarkBackend", POSTMARK_SERVER_TOKEN="t", POSTMARK_API_URL=fake_provider.url + "/")
    fake_provider.default = (400, {"ErrorCode": 400, "Message": "Sender signature not defined"})
    message = reject(api, django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert "Sender signature not defined" in message.last_error


def test_an_unreachable_provider_is_a_temporary_failure(api, settings, django_capture_on_commit_callbacks):
    from tsunagu.testing import free_port

    use_provider(settings, "PostmarkBackend", POSTMARK_SERVER_TOKEN="t",
                 POSTMARK_API_URL=f"http://127.0.0.1:{free_port()}/", REQUESTS_TIMEOUT=2)
    message = reject(api, django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.status == MessageStatus.SCHEDULED
    assert "ConnectionError" in message.last_error


# --- SendGrid ---------------------------------------------------------------------------------------

def test_sendgrid_request_carries_the_notice(api, settings, fake_provider, django_capture_on_commit_callbacks):
    use_provider(settings, "SendGridBackend", SENDGRID_API_KEY="SG.test-key", SENDGRID_API_URL=fake_provider.url + "/v3/")
    fake_provider.default = (202, None)
    message = reject(api, django_capture_on_commit_callbacks)

    message.refresh_from_db()
    assert message.status == MessageStatus.SENT, message.last_error
    [request] = fake_provider.requests
    assert request["path"] == "/v3/mail/send"
    assert request["headers"]["Authorization"] == "Bearer SG.test-key"
    sent = json.loads(request["body"])
    assert sent["from"] == {"email": "recruit@acme.example", "name": "株式会社アクメ 採用担当"}
    [personalization] = sent["personalizations"]
    assert personalization["to"] == [{"email": "yoshiko@example.jp", "name": "髙橋 𠮷子"}]
    assert sent["subject"] == "選考結果のご連絡(株式会社アクメ)"
    content = {part["type"]: part["value"] for part in sent["content"]}
    assert content["text/plain"] == message.body_text
    assert "<a href=" in content["text/html"]
    assert sent["headers"]["Message-ID"] == message.message_id
    assert sent["custom_args"]["tsunagu_message"] == str(message.pk)


# --- Mailgun ----------------------------------------------------------------------------------------

def test_mailgun_request_carries_the_notice(api, settings, fake_provider, django_capture_on_commit_callbacks):
    use_provider(settings, "MailgunBackend", MAILGUN_API_KEY="key-test", MAILGUN_API_URL=fake_provider.url + "/v3")
    fake_provider.default = (200, {"id": "<20261121.1@acme.example>", "message": "Queued. Thank you."})
    message = reject(api, django_capture_on_commit_callbacks)

    message.refresh_from_db()
    assert message.status == MessageStatus.SENT, message.last_error
    [request] = fake_provider.requests
    # No sending domain configured: the sender address's domain.
    assert request["path"] == "/v3/acme.example/messages"
    assert request["headers"]["Authorization"] == "Basic " + base64.b64encode(b"api:key-test").decode()
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    fields = parse_qs(request["body"].decode("ascii"), keep_blank_values=True)
    assert display_name(fields["from"][0]) == "株式会社アクメ 採用担当"
    assert display_name(fields["to"][0]) == "髙橋 𠮷子"
    assert fields["subject"] == ["選考結果のご連絡(株式会社アクメ)"]
    assert fields["text"] == [message.body_text]
    assert "<a href=" in fields["html"][0]
    assert fields["h:Message-Id"] == [message.message_id]
    assert fields["h:List-Unsubscribe-Post"] == ["List-Unsubscribe=One-Click"]
    assert fields["v:tsunagu_message"] == [str(message.pk)]


# --- Amazon SES (boto3 against the local server) ----------------------------------------------------

def test_amazon_ses_request_carries_the_notice_as_mime(api, settings, fake_provider,
                                                       django_capture_on_commit_callbacks):
    use_provider(settings, "AmazonSESBackend",
                 AMAZON_SES_SESSION_PARAMS={"aws_access_key_id": "AKIDTEST", "aws_secret_access_key": "secret"},
                 AMAZON_SES_CLIENT_PARAMS={"region_name": "ap-northeast-1", "endpoint_url": fake_provider.url},
                 AMAZON_SES_CONFIGURATION_SET_NAME="tsunagu")
    fake_provider.default = (200, {"MessageId": "010001812345abcd-00000000-0000-0000-0000-000000000000-000000"})
    message = reject(api, django_capture_on_commit_callbacks)

    message.refresh_from_db()
    assert message.status == MessageStatus.SENT, message.last_error
    [request] = fake_provider.requests
    assert request["path"] == "/v2/email/outbound-emails"
    assert "ap-northeast-1/ses/aws4_request" in request["headers"]["Authorization"]
    sent = json.loads(request["body"])
    assert sent["ConfigurationSetName"] == "tsunagu"
    assert sent["Destination"] == {"ToAddresses": ["yoshiko@example.jp"]}
    mime = email.message_from_bytes(base64.b64decode(sent["Content"]["Raw"]["Data"]), policy=email.policy.default)
    assert mime["From"].addresses[0].display_name == "株式会社アクメ 採用担当"
    assert mime["To"].addresses[0].display_name == "髙橋 𠮷子"
    assert mime["Subject"] == "選考結果のご連絡(株式会社アクメ)"
    assert mime["Message-ID"] == message.message_id
    assert json.loads(mime["X-Metadata"]) == {"tsunagu_message": str(message.pk)}
    assert mime.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n") == message.body_text
    assert "<a href=" in mime.get_body(preferencelist=("html",)).get_content()


# --- how anymail's errors are read ------------------------------------------------------------------

def test_amazon_ses_errors_are_read_by_their_status_and_code():
    from anymail.exceptions import AnymailAPIError

    from tsunagu.messaging.provider_backends import failure

    def ses_error(code, status):
        return AnymailAPIError(f"An error occurred ({code})", response={
            "Error": {"Code": code, "Message": "..."}, "ResponseMetadata": {"HTTPStatusCode": status}})

    assert failure(ses_error("MessageRejected", 400))[0] is True
    assert failure(ses_error("Throttling", 400))[0] is False
    assert failure(ses_error("TooManyRequestsException", 429))[0] is False
    assert failure(ses_error("InternalFailure", 500))[0] is False
    assert failure(AnymailAPIError("Could not connect to the endpoint URL"))[0] is False


def test_a_header_with_a_line_break_never_reaches_the_provider():
    from anymail.exceptions import AnymailInvalidAddress

    from tsunagu.messaging.mime import NoticeEmail
    from tsunagu.messaging.provider_backends import failure, provider_message

    notice = NoticeEmail(subject="件名", text="本文", html="<p>本文</p>", from_name="株式会社アクメ\nBcc: x@evil.example",
                         from_email="recruit@acme.example", to_name="髙橋 𠮷子", to_email="yoshiko@example.jp",
                         message_id="<1.tsunagu.1@acme.example>")
    with pytest.raises(AnymailInvalidAddress) as caught:
        provider_message(notice)
    assert failure(caught.value)[0] is True
