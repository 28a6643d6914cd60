"""What a tenant can (not) make the server request through an ATS connection: the API base URL is checked when
it is saved and again on every request, ids from webhook bodies stay inside their path segment, and every
failure reads the same to the tenant (no port scanner in the delivery log or the poll status)."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError

from tsunagu.intake.actions import connections, deliveries, polling
from tsunagu.intake.models import AtsConnection, WebhookDelivery
from tsunagu.intake.tests import webhook_samples as samples
from tsunagu.lib import outbound
from tsunagu.testing import allow_local_outbound, free_port, http_serving

pytestmark = pytest.mark.django_db

LEVER_TOKEN = "lever-signature-token"


class Recorder(BaseHTTPRequestHandler):
    """A vendor API that records each request and answers with `server.status` (Lever's or HERP's shape)."""

    def do_GET(self):  # noqa: N802 - http.server's name
        self.server.seen.append(self.path)
        body = json.dumps({"data": {"emails": []}, "candidacies": [], "hasNextPage": False}).encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def vendor(settings):
    allow_local_outbound(settings)  # the local plain-HTTP server plays the vendor: opt in, as a private setup would
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Recorder)
    server.seen, server.status = [], 200
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    with http_serving(server):
        yield server


def lever_delivery(client, make_company, slug, base_url, capture, **sample):
    company, _key = make_company(slug=slug)
    connection = connections.add_connection(company, kind="lever", secret=LEVER_TOKEN, api_key="lever-key",
                                            api_base_url=base_url)
    with capture(execute=True):
        response = client.post(connection.webhook_path, data=json.dumps(samples.lever(**sample)).encode(),
                               content_type="application/json")
    assert response.status_code == 200
    return WebhookDelivery.objects.get(connection=connection)


def test_a_lever_opportunity_id_stays_inside_its_path_segment(client, make_company, vendor,
                                                              django_capture_on_commit_callbacks):
    lever_delivery(client, make_company, "traversal", vendor.url, django_capture_on_commit_callbacks,
                   opportunity_id="../../internal/admin")
    assert vendor.seen == ["/v1/opportunities/..%2F..%2Finternal%2Fadmin?expand=stage&expand=applications"]


def test_a_lever_opportunity_id_of_dots_is_never_requested(client, make_company, vendor,
                                                           django_capture_on_commit_callbacks):
    delivery = lever_delivery(client, make_company, "dots", vendor.url, django_capture_on_commit_callbacks,
                              opportunity_id="..")
    assert vendor.seen == [] and delivery.outcome == f"Lever API: {outbound.GENERIC_MESSAGE}"


def test_lever_failures_read_the_same_in_the_delivery_log(client, make_company, vendor,
                                                          django_capture_on_commit_callbacks):
    """Connection refused, HTTP 500 and a name that does not resolve: one text for HR."""
    vendor.status = 500
    outcomes = {
        "refused": f"http://127.0.0.1:{free_port()}",
        "http500": vendor.url,
        "nodns": "http://no-such-host.invalid",
    }
    for slug, base_url in outcomes.items():
        outcomes[slug] = lever_delivery(client, make_company, slug, base_url,
                                        django_capture_on_commit_callbacks).outcome
    assert len(vendor.seen) == 1  # the 500 was a real answer
    assert set(outcomes.values()) == {f"Lever API: {outbound.GENERIC_MESSAGE}"}


def test_herp_failures_read_the_same_on_the_connection(make_company, vendor, django_capture_on_commit_callbacks):
    vendor.status = 500
    errors = {}
    for slug, base_url in {"refused": f"http://127.0.0.1:{free_port()}", "http500": vendor.url,
                           "nodns": "http://no-such-host.invalid/hire"}.items():
        company, _key = make_company(slug=slug)
        connection = connections.add_connection(company, kind="herp", api_key="herp-key", api_base_url=base_url)
        with django_capture_on_commit_callbacks(execute=True):
            polling.poll_connection(connection.pk)
        connection.refresh_from_db()
        errors[slug] = connection.last_poll_error
    assert vendor.seen and len(set(errors.values())) == 1
    [error] = set(errors.values())
    assert "HERP Hire" in error and "500" not in error and "refused" not in error.lower()


def test_a_lever_request_to_a_refused_address_sends_no_key(client, make_company, settings, vendor,
                                                           django_capture_on_commit_callbacks):
    """Saved while allowed, then the deployment stops allowing it: the request is checked again, and refused."""
    company, _key = make_company(slug="later")
    connection = connections.add_connection(company, kind="lever", secret=LEVER_TOKEN, api_key="lever-key",
                                            api_base_url=vendor.url)
    settings.TSUNAGU_OUTBOUND_ALLOW_PRIVATE = []
    with django_capture_on_commit_callbacks(execute=True):
        client.post(connection.webhook_path, data=json.dumps(samples.lever()).encode(),
                    content_type="application/json")
    assert vendor.seen == []
    with pytest.raises(deliveries.RetryLater):
        deliveries.process_delivery(WebhookDelivery.objects.get().pk, retry=True)
    assert vendor.seen == []


# --- saving the base URL -----------------------------------------------------------------------------

@pytest.mark.parametrize("base_url, message", [
    ("https://127.0.0.1:8000/", "接続できません"),
    ("https://localhost/", "接続できません"),
    ("https://169.254.169.254/latest/meta-data", "接続できません"),
    ("https://[::1]/", "接続できません"),
    ("https://[::ffff:127.0.0.1]/", "接続できません"),
    ("https://10.0.0.8/", "接続できません"),
    ("http://api.lever.co", "https://"),
    ("ftp://api.lever.co/", "https://"),
    ("https://api.lever.co/internal/admin#x", "「#」"),
    ("https://api.lever.co/?x=1", "「?」"),
    ("https://user:pw@api.lever.co/", "ユーザー名"),
])
def test_the_console_refuses_a_base_url_the_server_must_not_call(login, make_company, base_url, message):
    company, _key = make_company()
    client = login(company)
    response = client.post("/console/connections/", {"kind": "lever", "secret": LEVER_TOKEN, "api_key": "k",
                                                     "api_base_url": base_url})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not AtsConnection.objects.filter(company=company).exists()


def test_the_action_refuses_a_trailing_fragment_and_keeps_a_good_url(make_company):
    company, _key = make_company()
    for bad in ("https://api.lever.co/internal/admin#", "https://api.lever.co/x?", "http://127.0.0.1:9/"):
        with pytest.raises(ValidationError) as caught:
            connections.add_connection(company, kind="lever", secret=LEVER_TOKEN, api_key="k", api_base_url=bad)
        assert "api_base_url" in caught.value.message_dict
    connection = connections.add_connection(company, kind="herp", api_key="k",
                                            api_base_url="https://herp.example.jp/hire/")
    assert connection.api_base_url == "https://herp.example.jp/hire"
