"""The re-application post to a company's Slack or Teams channel: through the outbound guard, to a real local
HTTPS server, once per re-application; a chat service that fails never fails intake; the URL is validated,
stored and shown masked in the settings."""

from __future__ import annotations

import json
import ssl
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme

from tsunagu.companies import actions as companies
from tsunagu.companies.models import Company, Role
from tsunagu.lib import chat_webhook_urls, outbound
from tsunagu.messaging import chat_webhooks
from tsunagu.talent.models import Reapplication
from tsunagu.testing import ApiClient, allow_local_outbound, application_body, free_port, http_serving

pytestmark = pytest.mark.django_db

SLACK_PATH = "/services/T0000/B0000/abcdefghijklmnop"


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        self.server.seen.append({"path": self.path, "type": self.headers.get("Content-Type"),
                                 "body": json.loads(self.rfile.read(length))})
        self.send_response(self.server.status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def chat_server(settings, ca, tmp_path):
    """A local HTTPS server with a certificate for 127.0.0.1, trusted and reachable through the guard, and
    accepted as a Slack host (as a private deployment would name its relay)."""
    allow_local_outbound(settings)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    settings.TSUNAGU_OUTBOUND_CA_FILE = str(ca_file)
    settings.TSUNAGU_CHAT_WEBHOOK_HOSTS = {"127.0.0.1": chat_webhook_urls.SLACK}
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)

    @contextmanager
    def serving(status=200):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.seen, server.status = [], status
        server.socket = context.wrap_socket(server.socket, server_side=True)
        with http_serving(server):
            yield server

    return serving


@pytest.fixture
def acme(make_company):
    company, key = make_company()
    companies.create_user(email="boss@acme.example", password="a-long-password", company=company, role=Role.ADMIN)
    return company, ApiClient(key)


def apply_twice(api, capture, *, repeat: int = 1):
    with capture(execute=True):
        assert api.post("/api/v1/applications", application_body(external_id="A-1")).status_code == 201
    for _ in range(repeat):
        with capture(execute=True):
            response = api.post("/api/v1/applications", application_body(external_id="A-2", status="active"))
        assert response.status_code in (200, 201)


def test_a_reapplication_is_posted_to_slack_once(acme, chat_server, django_capture_on_commit_callbacks):
    company, api = acme
    with chat_server() as server:
        Company.objects.filter(pk=company.pk).update(
            chat_webhook_url=f"https://127.0.0.1:{server.server_address[1]}{SLACK_PATH}")
        apply_twice(api, django_capture_on_commit_callbacks, repeat=3)
    [post] = server.seen
    reapplication = Reapplication.objects.get()
    assert post["path"] == SLACK_PATH and post["type"].startswith("application/json")
    text = post["body"]["text"]
    assert "髙橋 𠮷子" in text and "バックエンドエンジニア" in text
    assert f"/console/reapplications/{reapplication.pk}/|" in text
    assert "yoshiko@example.jp" not in text and "090" not in text  # no contact details leave for the chat


@pytest.mark.parametrize("status", [500, 404])
def test_a_failing_chat_service_does_not_break_intake(acme, chat_server, status, django_capture_on_commit_callbacks):
    company, api = acme
    with chat_server(status=status) as server:
        Company.objects.filter(pk=company.pk).update(
            chat_webhook_url=f"https://127.0.0.1:{server.server_address[1]}{SLACK_PATH}")
        apply_twice(api, django_capture_on_commit_callbacks)
    assert len(server.seen) == 1  # tried once now; a 5xx is retried later by the queue
    assert Reapplication.objects.count() == 1


def test_an_unreachable_chat_service_does_not_break_intake(acme, chat_server, django_capture_on_commit_callbacks):
    company, api = acme
    Company.objects.filter(pk=company.pk).update(chat_webhook_url=f"https://127.0.0.1:{free_port()}{SLACK_PATH}")
    apply_twice(api, django_capture_on_commit_callbacks)
    assert Reapplication.objects.count() == 1


def test_a_failure_is_raised_for_the_retry_and_a_refusal_is_not(chat_server):
    message = chat_webhooks.ChatMessage(title="t", lines=("a",), link="https://x.example/", link_text="open")
    with chat_server(status=503) as server:
        with pytest.raises(chat_webhooks.ChatPostFailed):
            chat_webhooks.post(f"https://127.0.0.1:{server.server_address[1]}{SLACK_PATH}", message)
    with chat_server(status=403) as server:
        assert chat_webhooks.post(f"https://127.0.0.1:{server.server_address[1]}{SLACK_PATH}", message) is False


def test_the_guard_still_refuses_loopback_for_chat_hosts(settings):
    """A Slack-looking name that resolves to the server's own network is refused by lib.outbound."""
    settings.TSUNAGU_OUTBOUND_ALLOW_PRIVATE = []
    with pytest.raises(outbound.OutboundError):
        outbound.post("https://127.0.0.1/services/T0/B0/x", b"{}")
    with pytest.raises(outbound.OutboundError):
        outbound.post("http://hooks.slack.com/services/T0/B0/x", b"{}")  # http refused


def test_payloads_for_each_service():
    message = chat_webhooks.ChatMessage(title="再応募 <A&B>", lines=("氏名: 髙橋",), link="https://t.example/r/1/",
                                        link_text="詳細")
    slack = chat_webhooks.payload(chat_webhook_urls.SLACK, message)
    assert slack["text"].startswith("*再応募 &lt;A&amp;B&gt;*") and "<https://t.example/r/1/|詳細>" in slack["text"]
    teams = chat_webhooks.payload(chat_webhook_urls.TEAMS, message)
    assert teams["@type"] == "MessageCard" and teams["potentialAction"][0]["targets"][0]["uri"] == message.link
    workflow = chat_webhooks.payload(chat_webhook_urls.TEAMS_WORKFLOW, message)
    assert workflow["attachments"][0]["content"]["type"] == "AdaptiveCard"


@pytest.mark.parametrize("url, service", [
    ("https://hooks.slack.com/services/T000/B000/XXXXXXXX", "slack"),
    ("https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/456", "teams"),
    ("https://prod-12.japaneast.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=x",
     "teams_workflow"),
    ("http://hooks.slack.com/services/T000/B000/XXXXXXXX", None),
    ("https://hooks.slack.com.evil.example/services/T000/B000/XXXX", None),
    ("https://evil.example/hooks.slack.com/services/T000/B000/XXXX", None),
    ("https://user:pw@hooks.slack.com/services/T000/B000/XXXXXXXX", None),
    ("https://webhook.office.com/webhookb2/abcdefgh", None),
    ("https://hooks.slack.com/", None),
    ("https://169.254.169.254/latest/meta-data/iam", None),
    ("https://hooks.slack.com/services/" + "x" * 3000, None),
])
def test_which_urls_are_accepted(url, service):
    assert chat_webhook_urls.chat_service(url) == service


# --- the settings page -----------------------------------------------------------------------------

def settings_form(company, **changes):
    data = {field: getattr(company, field) for field in (
        "name", "sender_name", "sender_email", "reply_to", "signature", "time_zone", "delay_minutes", "send_window",
        "business_hour_start", "business_hour_end", "combine_rejections_minutes", "postal_address",
        "frequency_cap_days", "privacy_policy", "retention_days", "dkim_selector")}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not False}


def test_settings_validate_store_and_mask_the_url(make_company, login):
    company, _key = make_company()
    client = login(company, Role.ADMIN)
    url = "https://hooks.slack.com/services/T000/B000/SecretPart1234"
    response = client.post("/console/settings/", settings_form(company, chat_webhook_url="https://10.0.0.1/hook/abcdefgh"))
    assert response.status_code == 200 and "Incoming Webhook" in response.content.decode()
    company.refresh_from_db()
    assert company.chat_webhook_url == ""
    response = client.post("/console/settings/", settings_form(company, chat_webhook_url=url, welcome_back_mail="on"))
    assert response.status_code == 302
    company.refresh_from_db()
    assert company.chat_webhook_url == url and company.welcome_back_mail is True
    page = client.get("/console/settings/").content.decode()
    assert "SecretPart1234" not in page and "https://hooks.slack.com/…1234" in page
    # Saving the page again without typing the URL keeps it; the box clears it.
    client.post("/console/settings/", settings_form(company, welcome_back_mail="on"))
    company.refresh_from_db()
    assert company.chat_webhook_url == url
    client.post("/console/settings/", settings_form(company, chat_webhook_clear="on"))
    company.refresh_from_db()
    assert company.chat_webhook_url == "" and company.welcome_back_mail is False


def test_only_admins_change_the_webhook(make_company, login):
    company, _key = make_company()
    client = login(company, Role.RECRUITER)
    response = client.post("/console/settings/", settings_form(
        company, chat_webhook_url="https://hooks.slack.com/services/T000/B000/XXXXXXXX"))
    assert response.status_code == 403
    company.refresh_from_db()
    assert company.chat_webhook_url == ""
