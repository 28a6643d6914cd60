"""Each ATS adapter against its vendor's documented payloads and signature rules, through the real
endpoint, with mail going to a real SMTP server."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from tsunagu.intake.actions import connections, deliveries
from tsunagu.intake.models import DeliveryStatus, WebhookDelivery
from tsunagu.intake.tests import webhook_samples as samples
from tsunagu.messaging.models import Message, MessageStatus
from tsunagu.talent.models import Application
from tsunagu.testing import ApiClient, allow_local_outbound, free_port, http_serving, text_part

pytestmark = pytest.mark.django_db

SECRET = "a-shared-secret-1234"


@pytest.fixture
def connect(make_company):
    def make(kind, delay_minutes=0, **options):
        company, key = make_company(slug=f"{kind}-co", name=f"株式会社{kind}", delay_minutes=delay_minutes)
        connection = connections.add_connection(company, kind=kind, secret=options.pop("secret", SECRET), **options)
        return connection, ApiClient(key)

    return make


def post(client, connection, body, headers, capture):
    with capture(execute=True):
        return client.post(connection.webhook_path, data=body, content_type="application/json", **headers)


# --- Greenhouse ------------------------------------------------------------------------------------

def test_greenhouse_rejection_reaches_the_candidate(client, connect, smtp_settings, django_capture_on_commit_callbacks):
    connection, api = connect("greenhouse")
    body, headers = samples.greenhouse_request(SECRET, samples.greenhouse())
    response = post(client, connection, body, headers, django_capture_on_commit_callbacks)
    assert response.status_code == 200
    [received] = smtp_settings.wait_for(1)
    assert received["rcpt"] == ["hanako.sato@example.jp"]
    assert text_part(received["message"]).startswith("佐藤 花子様")
    messages = api.get("/api/v1/messages", application="71980812").json()
    assert [(m["kind"], m["status"]) for m in messages] == [("rejection", "sent")]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PROCESSED and delivery.message is not None


@pytest.mark.parametrize("headers", [{}, {"HTTP_SIGNATURE": "sha256 deadbeef"}, {"HTTP_SIGNATURE": "sha1 abc"}])
def test_greenhouse_bad_or_missing_signature_is_401_and_stores_nothing(client, connect, headers,
                                                                        django_capture_on_commit_callbacks):
    connection, _api = connect("greenhouse")
    body = json.dumps(samples.greenhouse()).encode()
    response = post(client, connection, body, headers, django_capture_on_commit_callbacks)
    assert response.status_code == 401
    assert WebhookDelivery.objects.count() == 0 and Application.objects.count() == 0


def test_greenhouse_malformed_json_is_400(client, connect, django_capture_on_commit_callbacks):
    connection, _api = connect("greenhouse")
    body = b'{"action": "reject_candidate", '
    headers = {"HTTP_SIGNATURE": f"sha256 {samples.hex_hmac(SECRET, body)}"}
    assert post(client, connection, body, headers, django_capture_on_commit_callbacks).status_code == 400


def test_greenhouse_ping_and_unknown_actions_are_200_and_ignored(client, connect, django_capture_on_commit_callbacks):
    connection, _api = connect("greenhouse")
    body, headers = samples.greenhouse_request(SECRET, {"action": "ping", "payload": {"web_hook_id": 1}})
    assert post(client, connection, body, headers, django_capture_on_commit_callbacks).status_code == 200
    assert WebhookDelivery.objects.get().status == DeliveryStatus.IGNORED
    assert Application.objects.count() == 0


def test_greenhouse_redelivery_and_retries_with_new_ids_send_once(client, connect, smtp_settings,
                                                                  django_capture_on_commit_callbacks):
    connection, _api = connect("greenhouse")
    payload = samples.greenhouse()
    body, headers = samples.greenhouse_request(SECRET, payload, event_id="evt-same")
    for _ in range(3):
        assert post(client, connection, body, headers, django_capture_on_commit_callbacks).status_code == 200
    body, headers = samples.greenhouse_request(SECRET, payload, event_id="evt-new-id")
    post(client, connection, body, headers, django_capture_on_commit_callbacks)
    assert WebhookDelivery.objects.count() == 2
    assert Message.objects.count() == 1
    smtp_settings.wait_for(1)
    time.sleep(0.2)
    assert len(smtp_settings.received) == 1


def test_greenhouse_unreject_before_sending_cancels(client, connect, django_capture_on_commit_callbacks):
    connection, _api = connect("greenhouse", delay_minutes=120)
    for action, status in [("reject_candidate", "rejected"), ("unreject_candidate", "active")]:
        body, headers = samples.greenhouse_request(SECRET, samples.greenhouse(action=action, status=status))
        post(client, connection, body, headers, django_capture_on_commit_callbacks)
    assert Message.objects.get().status == MessageStatus.CANCELLED


def test_greenhouse_unreject_after_sending_changes_nothing_sent(client, connect, smtp_settings,
                                                                 django_capture_on_commit_callbacks):
    connection, _api = connect("greenhouse")
    body, headers = samples.greenhouse_request(SECRET, samples.greenhouse())
    post(client, connection, body, headers, django_capture_on_commit_callbacks)
    smtp_settings.wait_for(1)
    body, headers = samples.greenhouse_request(SECRET, samples.greenhouse(action="unreject_candidate", status="active"))
    post(client, connection, body, headers, django_capture_on_commit_callbacks)
    assert Message.objects.get().status == MessageStatus.SENT
    assert Application.objects.get().status == "active"


def test_greenhouse_prospects_and_can_email_false_get_no_mail(client, connect, django_capture_on_commit_callbacks):
    connection, _api = connect("greenhouse")
    body, headers = samples.greenhouse_request(SECRET, samples.greenhouse(prospect=True))
    post(client, connection, body, headers, django_capture_on_commit_callbacks)
    body, headers = samples.greenhouse_request(SECRET, samples.greenhouse(application_id=2, can_email=False,
                                                                          email="quiet@example.jp"))
    post(client, connection, body, headers, django_capture_on_commit_callbacks)
    assert Message.objects.count() == 0
    # The one who asked for no e-mail is still in the pool as rejected.
    assert Application.objects.get().status == "rejected"


def test_stage_and_reason_mappings_are_applied(client, connect, django_capture_on_commit_callbacks):
    connection, _api = connect("greenhouse", delay_minutes=60)
    connections.update_mappings(connection, stage_mapping={"Face to Face": 40},
                             reason_mapping={"Lacking skill(s)/qualification(s)": "スキル不一致"})
    body, headers = samples.greenhouse_request(SECRET, samples.greenhouse())
    post(client, connection, body, headers, django_capture_on_commit_callbacks)
    application = Application.objects.get()
    assert (application.stage, application.stage_raw, application.rejection_reason) == (40, "Face to Face", "スキル不一致")


# --- Ashby -----------------------------------------------------------------------------------------

def test_ashby_archive_with_reason_is_a_rejection_and_active_again_cancels(client, connect,
                                                                             django_capture_on_commit_callbacks):
    connection, _api = connect("ashby", delay_minutes=60)
    body, headers = samples.ashby_request(SECRET, samples.ashby())
    assert post(client, connection, body, headers, django_capture_on_commit_callbacks).status_code == 200
    message = Message.objects.get()
    assert message.status == MessageStatus.SCHEDULED and message.application.external_id == samples.ashby()["data"][
        "application"]["id"]
    body, headers = samples.ashby_request(SECRET, samples.ashby(status="Active"))
    post(client, connection, body, headers, django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert message.status == MessageStatus.CANCELLED


def test_ashby_retries_share_the_action_id_and_ping_is_ok(client, connect, django_capture_on_commit_callbacks):
    connection, _api = connect("ashby", delay_minutes=60)
    body, headers = samples.ashby_request(SECRET, samples.ashby(action_id="same-action"))
    for _ in range(2):
        post(client, connection, body, headers, django_capture_on_commit_callbacks)
    assert WebhookDelivery.objects.count() == 1 and Message.objects.count() == 1
    body, headers = samples.ashby_request(SECRET, {"action": "ping", "data": {}})
    assert post(client, connection, body, headers, django_capture_on_commit_callbacks).status_code == 200
    body, _headers = samples.ashby_request(SECRET, samples.ashby())
    assert post(client, connection, body, {"HTTP_ASHBY_SIGNATURE": "sha256=00"},
                django_capture_on_commit_callbacks).status_code == 401


# --- Workable --------------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["hex", "base64"])
def test_workable_disqualified_candidate_is_notified(client, connect, smtp_settings, encoding,
                                                     django_capture_on_commit_callbacks):
    connection, _api = connect("workable")
    body, headers = samples.workable_request(SECRET, samples.workable(), encoding=encoding)
    assert post(client, connection, body, headers, django_capture_on_commit_callbacks).status_code == 200
    [received] = smtp_settings.wait_for(1)
    assert "「カスタマーサクセス」" in text_part(received["message"])
    assert Application.objects.get().rejection_reason == "Position filled"


# --- generic ---------------------------------------------------------------------------------------

def test_generic_format_with_timestamped_signature(client, connect, smtp_settings, django_capture_on_commit_callbacks):
    connection, api = connect("generic")
    body, headers = samples.generic_request(SECRET, samples.generic())
    assert post(client, connection, body, headers, django_capture_on_commit_callbacks).status_code == 200
    smtp_settings.wait_for(1)
    assert api.get("/api/v1/applications/HR-77").json()["stage"] == "final_interview"


def test_generic_refuses_old_timestamps_and_reports_bad_bodies(client, connect, django_capture_on_commit_callbacks):
    connection, _api = connect("generic")
    body, headers = samples.generic_request(SECRET, samples.generic(), timestamp=time.time() - 301)
    assert post(client, connection, body, headers, django_capture_on_commit_callbacks).status_code == 401
    bad = samples.generic()
    del bad["application"]["candidate"]["email"]
    body, headers = samples.generic_request(SECRET, bad)
    response = post(client, connection, body, headers, django_capture_on_commit_callbacks)
    assert response.status_code == 400 and "email" in response.json()["detail"]
    body, headers = samples.generic_request(SECRET, {**samples.generic(), "event_id": ""})
    assert post(client, connection, body, headers, django_capture_on_commit_callbacks).status_code == 400
    assert WebhookDelivery.objects.count() == 0


# --- Lever: a real local HTTP server in Lever's place -----------------------------------------------

class FakeLever(BaseHTTPRequestHandler):
    api_key = "lever-api-key"
    reason_type = "non-hired"
    requests: list = []

    def do_GET(self):  # noqa: N802 - http.server's name
        import base64

        FakeLever.requests.append(self.path)
        expected = "Basic " + base64.b64encode(f"{self.api_key}:".encode()).decode()
        if self.headers.get("Authorization") != expected:
            return self._send(401, {"code": "Unauthorized"})
        if self.path.startswith("/v1/opportunities/"):
            return self._send(200, {"data": {
                "id": self.path.split("/")[3].split("?")[0], "name": "渡辺 さくら", "emails": ["sakura@example.jp"],
                "phones": [{"type": "mobile", "value": "090-7777-8888"}],
                "stage": {"id": "s-2", "text": "On-site interview"},
                "applications": [{"id": "a-1", "posting": "p-1"}]}})
        if self.path.startswith("/v1/archive_reasons/"):
            return self._send(200, {"data": {"id": "r", "text": "Underqualified", "status": "active",
                                             "type": FakeLever.reason_type}})
        if self.path.startswith("/v1/postings/"):
            return self._send(200, {"data": {"id": "p-1", "text": "フロントエンドエンジニア"}})
        return self._send(404, {"code": "NotFound"})

    def _send(self, status, data):
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def lever_api(settings):
    allow_local_outbound(settings)  # a plain-HTTP server on loopback plays Lever: opt in, as a private setup would
    FakeLever.requests, FakeLever.reason_type = [], "non-hired"
    with http_serving(ThreadingHTTPServer(("127.0.0.1", free_port()), FakeLever)) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}"


def lever_post(client, connection, payload, capture):
    return post(client, connection, json.dumps(payload).encode(), {}, capture)


def test_lever_archive_change_reads_the_opportunity_and_notifies(client, connect, lever_api, smtp_settings,
                                                                 django_capture_on_commit_callbacks):
    connection, api = connect("lever", secret="lever-signature-token", api_key="lever-api-key",
                              api_base_url=lever_api)
    response = lever_post(client, connection, samples.lever(), django_capture_on_commit_callbacks)
    assert response.status_code == 200
    [received] = smtp_settings.wait_for(1)
    assert received["rcpt"] == ["sakura@example.jp"]
    assert "「フロントエンドエンジニア」" in text_part(received["message"])
    assert any(path.startswith("/v1/opportunities/") for path in FakeLever.requests)
    application = Application.objects.get()
    assert (application.rejection_reason, application.stage_raw) == ("Underqualified", "On-site interview")


def test_lever_hired_reason_and_unarchive_cancel(client, connect, lever_api, django_capture_on_commit_callbacks):
    connection, _api = connect("lever", delay_minutes=60, secret="lever-signature-token", api_key="lever-api-key",
                               api_base_url=lever_api)
    lever_post(client, connection, samples.lever(), django_capture_on_commit_callbacks)
    assert Message.objects.get().status == MessageStatus.SCHEDULED
    lever_post(client, connection, samples.lever(to_archived=False), django_capture_on_commit_callbacks)
    assert Message.objects.get().status == MessageStatus.CANCELLED
    FakeLever.reason_type = "hired"
    lever_post(client, connection, samples.lever(), django_capture_on_commit_callbacks)
    assert Application.objects.get().status == "hired"
    assert Message.objects.get().status == MessageStatus.CANCELLED


def test_lever_stale_or_forged_requests_are_401(client, connect, lever_api, django_capture_on_commit_callbacks):
    connection, _api = connect("lever", secret="lever-signature-token", api_key="lever-api-key",
                               api_base_url=lever_api)
    stale = samples.lever(triggered_at=int((time.time() - 2 * 86400) * 1000))
    assert lever_post(client, connection, stale, django_capture_on_commit_callbacks).status_code == 401
    forged = samples.lever(secret="not-the-secret")
    assert lever_post(client, connection, forged, django_capture_on_commit_callbacks).status_code == 401
    assert WebhookDelivery.objects.count() == 0


def test_lever_api_down_keeps_the_delivery_for_a_retry(client, connect, settings,
                                                       django_capture_on_commit_callbacks):
    allow_local_outbound(settings)
    connection, _api = connect("lever", secret="lever-signature-token", api_key="k",
                               api_base_url=f"http://127.0.0.1:{free_port()}")
    assert lever_post(client, connection, samples.lever(), django_capture_on_commit_callbacks).status_code == 200
    delivery = WebhookDelivery.objects.get()
    # Held for its retries: no other worker takes it meanwhile.
    assert delivery.status == DeliveryStatus.PROCESSING and "Lever API" in delivery.outcome
    assert deliveries.process_queued_deliveries() == 0
    with pytest.raises(deliveries.RetryLater):  # what makes the queue retry it later
        deliveries.process_delivery(delivery.pk, retry=True)
    # If every retry fails, the sweep gives it back to the queue after the lease: never lost.
    WebhookDelivery.objects.update(claimed_at=timezone.now() - deliveries.PROCESSING_LEASE - timedelta(seconds=1),
                                   received_at=timezone.now() - timedelta(minutes=2))
    assert deliveries.sweep_deliveries() == 1  # the immediate test queue runs the woken task at once
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PROCESSING  # tried again, and held for new retries
    assert delivery.claimed_at > timezone.now() - timedelta(minutes=1)


# --- connections -----------------------------------------------------------------------------------

def test_unknown_webhook_url_is_404(client):
    assert client.post("/hooks/greenhouse/not-a-token", data=b"{}", content_type="application/json").status_code == 404


def test_send_test_event_goes_through_the_real_check(connect):
    for kind in ["greenhouse", "ashby", "workable", "generic", "lever"]:
        connection, _api = connect(kind, api_key="k") if kind == "lever" else connect(kind)
        receipt = deliveries.send_test_event(connection)
        assert (receipt.status_code, receipt.detail) == (200, "ignored"), kind


def test_connection_needs_a_real_secret(make_company):
    from django.core.exceptions import ValidationError

    company, _key = make_company()
    with pytest.raises(ValidationError):
        connections.add_connection(company, kind="greenhouse", secret="short")
    with pytest.raises(ValidationError):
        connections.add_connection(company, kind="lever", secret="long-enough-secret")


def test_events_out_of_order_end_as_in_order(client, connect, django_capture_on_commit_callbacks):
    connection, _api = connect("greenhouse", delay_minutes=60)
    rejected = samples.greenhouse()
    active = samples.greenhouse(action="unreject_candidate", status="active")
    active["payload"]["application"]["last_activity_at"] = (timezone.now() + timedelta(hours=1)).isoformat()
    for payload in (active, rejected):  # the later un-reject arrives first
        body, headers = samples.greenhouse_request(SECRET, payload)
        post(client, connection, body, headers, django_capture_on_commit_callbacks)
    assert Application.objects.get().status == "active"
    assert not Message.objects.filter(status=MessageStatus.SCHEDULED).exists()


@pytest.mark.slow
@pytest.mark.sqlite_data_dir
def test_ats_add_on_the_command_line_prints_the_webhook_url(tmp_path):
    from tsunagu.testing import base_env, run_cli

    env = base_env(str(tmp_path), TSUNAGU_BASE_URL="https://tsunagu.example.jp")
    run_cli(["company", "create", "--name", "株式会社つなぐ", "--slug", "tsunagu"], env)
    result = run_cli(["ats", "add", "--company", "tsunagu", "--kind", "greenhouse", "--secret", SECRET], env)
    assert result.returncode == 0, result.stderr
    url = json.loads(result.stdout)["webhook_url"]
    assert url.startswith("https://tsunagu.example.jp/hooks/greenhouse/") and len(url.rsplit("/", 1)[1]) >= 32
    lever = run_cli(["ats", "add", "--company", "tsunagu", "--kind", "lever", "--secret", SECRET], env)
    assert lever.returncode != 0 and "API" in lever.stderr
    bad = run_cli(["ats", "add", "--company", "tsunagu", "--kind", "taleo", "--secret", SECRET], env)
    assert bad.returncode != 0 and "invalid choice" in bad.stderr


def test_a_delivery_whose_task_was_lost_is_processed_by_the_sweep(client, connect, monkeypatch):
    from tsunagu.lib import queue

    connection, _api = connect("greenhouse", delay_minutes=60)
    monkeypatch.setattr(queue, "enqueue", lambda name, *args, **options: None)  # the queue loses it
    body, headers = samples.greenhouse_request(SECRET, samples.greenhouse())
    client.post(connection.webhook_path, data=body, content_type="application/json", **headers)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.QUEUED
    assert deliveries.sweep_deliveries() == 0  # not stale yet
    monkeypatch.undo()
    WebhookDelivery.objects.update(received_at=timezone.now() - timedelta(minutes=10))
    assert deliveries.sweep_deliveries() == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PROCESSED
    assert Message.objects.get().status == MessageStatus.SCHEDULED
