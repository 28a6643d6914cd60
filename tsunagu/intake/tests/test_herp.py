"""HERP Hire, polled: a real local HTTP server plays HERP Hire's API (Bearer key, 100 candidacies a page,
`hasNextPage`, x-remaining-request, 429 with Retry-After) with candidacies shaped as HERP answers them, and
Tsunagu's poller turns ended selections into notices that reach a real SMTP server."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta
from datetime import timezone as dt_timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from tsunagu.intake.actions import connections, polling
from tsunagu.intake.adapters import herp as herp_adapter
from tsunagu.intake.models import AtsConnection, DeliveryStatus, WebhookDelivery
from tsunagu.messaging.models import Message, MessageStatus
from tsunagu.talent.models import Application, ApplicationEvent
from tsunagu.testing import (
    LOCAL_OUTBOUND_ENV,
    ApiClient,
    allow_local_outbound,
    free_port,
    http_serving,
    smtp_running,
    text_part,
)

pytestmark = pytest.mark.django_db

API_KEY = "herp-api-key-0f3a9c"
JST = dt_timezone(timedelta(hours=9))
REQUISITION = "366af623-4dc8-4008-b09c-240e7783d185"
JOB_TITLE = "バックエンドエンジニア"


def stamp(moment=None, *, minute=False) -> str:
    """A time as HERP writes it: JST with an offset; 選考終了日時 has minute precision."""
    moment = (moment or timezone.now()).astimezone(JST)
    return moment.replace(second=0, microsecond=0).isoformat() if minute else moment.isoformat(timespec="seconds")


def candidacy(name="佐藤 花子", email="hanako.sato@example.jp", *, reason="rejected", ended_at=None,
              step="firstInterview", requisition=REQUISITION, channel=None, applied_at=None, updated_at=None,
              candidacy_id=None) -> dict:
    """One candidacy as GET /v1/candidacies lists it (ended with `reason`, or active when reason is None)."""
    now = timezone.now()
    applied = applied_at or now - timedelta(days=10)
    item = {
        "id": candidacy_id or str(uuid.uuid4()), "name": name, "status": "active", "requisitionId": requisition,
        "appliedAt": stamp(applied), "step": step, "stepUpdatedAt": stamp(applied + timedelta(days=3)),
        "channel": channel or {"type": "media", "mediaName": "ビズリーチ", "isScout": False},
        "note": "１月２６日：書類選考リマインド\n【ステータス】\n・書類選考中", "operators": ["U-OD036"], "tags": [],
        "updatedAt": stamp(updated_at or now),
    }
    if email:
        item["email"] = email
        item["telephoneNumber"] = "080-5968-1776"
    if reason:
        item.update(status="terminated", terminationReason=reason,
                    terminatedAt=stamp(ended_at or now, minute=True))
    return item


class FakeHerp:
    """HERP Hire's public API: GET /v1/candidacies and /v1/requisitions behind `Authorization: Bearer`."""

    def __init__(self):
        self.api_key = API_KEY
        self.candidacies: list[dict] = []
        self.requisitions = {REQUISITION: JOB_TITLE}
        self.page_size = 100
        self.remaining = 100
        self.requests: list[dict] = []
        self.throttle: dict[tuple[str, str], int] = {}  # (path, page) -> Retry-After seconds, once
        herp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                url = urlsplit(self.path)
                query = {key: values[0] for key, values in parse_qs(url.query).items()}
                herp.requests.append({"path": url.path, "query": query, "auth": self.headers.get("Authorization")})
                if self.headers.get("Authorization") != f"Bearer {herp.api_key}":
                    return self.answer(401, {"message": "Unauthorized"})
                retry_after = herp.throttle.pop((url.path, query.get("page", "1")), None)
                if retry_after is not None:
                    return self.answer(429, {"message": "Too Many Requests"}, {"Retry-After": str(retry_after)})
                page = int(query.get("page", "1"))
                if url.path == "/v1/candidacies":
                    items = sorted(herp.candidacies, key=lambda c: c.get(query.get("sort", "appliedAt")) or "",
                                   reverse=query.get("direction", "desc") == "desc")
                    chunk = items[(page - 1) * herp.page_size:page * herp.page_size]
                    return self.answer(200, {"candidacies": chunk, "hasNextPage": page * herp.page_size < len(items)})
                if url.path == "/v1/requisitions":
                    return self.answer(200, {"requisitions": [{"id": rid, "name": title}
                                                              for rid, title in herp.requisitions.items()]})
                return self.answer(404, {"message": "Not Found"})

            def answer(self, status, data, headers=None):
                body = json.dumps(data, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("x-remaining-request", str(herp.remaining))
                self.send_header("x-reset-at", stamp(timezone.now() + timedelta(seconds=60)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def candidacy_requests(self) -> list[dict]:
        return [r for r in self.requests if r["path"] == "/v1/candidacies"]

    def change(self, candidacy_id: str, **fields) -> None:
        item = next(c for c in self.candidacies if c["id"] == candidacy_id)
        for key, value in fields.items():
            if value is None:
                item.pop(key, None)
            else:
                item[key] = value
        item["updatedAt"] = stamp(timezone.now() + timedelta(seconds=1))


@pytest.fixture
def herp_api(settings):
    allow_local_outbound(settings)  # a plain-HTTP server on loopback plays HERP: opt in, as a private setup would
    api = FakeHerp()
    with http_serving(api.server):
        yield api


@pytest.fixture
def connect(make_company, herp_api):
    def make(slug="herp-co", delay_minutes=0, api_key=API_KEY, base_url=None):
        company, key = make_company(slug=slug, name="株式会社エイチ", delay_minutes=delay_minutes)
        connection = connections.add_connection(company, kind="herp", api_key=api_key,
                                             api_base_url=base_url or herp_api.url)
        return connection, ApiClient(key)

    return make


@pytest.fixture
def poll(django_capture_on_commit_callbacks):
    def run(connection):
        with django_capture_on_commit_callbacks(execute=True):
            result = polling.poll_connection(connection.pk)
        connection.refresh_from_db()
        return result

    return run


# --- what a poll finds -------------------------------------------------------------------------------

def test_a_rejection_found_by_polling_plans_exactly_one_notice(connect, herp_api, poll):
    connection, api = connect(delay_minutes=60)
    rejected = candidacy()
    herp_api.candidacies += [rejected, candidacy("山本 健", "ken@example.jp", reason=None, step="secondInterview")]
    result = poll(connection)
    assert (result.queued, result.swept, result.error) == (1, True, "")
    message = Message.objects.get()
    assert message.status == MessageStatus.SCHEDULED and message.kind == "rejection"
    application = Application.objects.get()
    assert application.external_id == rejected["id"]
    assert (application.status, application.stage_raw, application.stage) == ("rejected", "一次面接", 20)
    assert application.job.title == JOB_TITLE and application.job.external_id == REQUISITION
    assert application.candidate.phone == "080-5968-1776"
    # The delivery log keeps what the event needs, not HERP's notes about the person.
    stored = WebhookDelivery.objects.get().payload
    assert stored["id"] == rejected["id"] and "note" not in stored and "operators" not in stored
    # Every request carried the key as a Bearer token, and candidacies were read oldest first.
    assert {r["auth"] for r in herp_api.requests} == {f"Bearer {API_KEY}"}
    assert herp_api.candidacy_requests()[0]["query"] == {"sort": "appliedAt", "direction": "asc", "page": "1"}
    # The API finds the notice by HERP's candidacy id.
    assert [m["status"] for m in api.get("/api/v1/messages", application=rejected["id"]).json()] == ["scheduled"]
    for _ in range(2):
        assert poll(connection).queued == 0
    assert Message.objects.count() == 1 and WebhookDelivery.objects.count() == 1
    assert ApplicationEvent.objects.filter(source="herp").count() == 1


def test_cursor_advances_and_repeated_polls_create_nothing_new(connect, herp_api, poll):
    connection, _api = connect(delay_minutes=60)
    first = candidacy()
    herp_api.candidacies.append(first)
    poll(connection)
    after_one = herp_adapter.Cursor.load(connection)
    assert after_one.previous is not None and after_one.sweep is None and after_one.page == 1
    poll(connection)
    after_two = herp_adapter.Cursor.load(connection)
    assert after_two.since > after_one.since  # the window moved on
    assert after_two.since == after_one.previous - herp_adapter.OVERLAP
    # HR edits the note of the ended candidacy: updated, but the same end — nothing new.
    herp_api.change(first["id"], note="お見送り済み")
    assert poll(connection).queued == 0
    # Another selection ends in the very same minute as the first one: it is not missed.
    herp_api.candidacies.append(candidacy("田中 一郎", "ichiro@example.jp", ended_at=timezone.now(),
                                          candidacy_id=str(uuid.uuid4())))
    herp_api.candidacies[-1]["terminatedAt"] = first["terminatedAt"]
    assert poll(connection).queued == 1
    assert Message.objects.count() == 2 and WebhookDelivery.objects.count() == 2


def test_pages_are_followed_until_hasnextpage_is_false(connect, herp_api, poll):
    connection, _api = connect(delay_minutes=60)
    herp_api.page_size = 2
    herp_api.candidacies += [candidacy(f"候補 {n}", f"c{n}@example.jp", applied_at=timezone.now() - timedelta(days=n))
                             for n in range(5)]
    result = poll(connection)
    assert [r["query"]["page"] for r in herp_api.candidacy_requests()] == ["1", "2", "3"]
    assert (result.pages, result.queued, result.swept) == (3, 5, True)
    assert Message.objects.filter(kind="rejection").count() == 5
    # The job title was looked up once for the round.
    assert len([r for r in herp_api.requests if r["path"] == "/v1/requisitions"]) == 1


def test_a_round_keeps_to_its_request_budget_and_the_next_goes_on(connect, herp_api, poll, monkeypatch):
    connection, _api = connect(delay_minutes=60)
    monkeypatch.setattr(herp_adapter, "REQUESTS_PER_ROUND", 2)
    herp_api.page_size = 2
    herp_api.candidacies += [candidacy(f"候補 {n}", f"c{n}@example.jp", applied_at=timezone.now() - timedelta(days=n))
                             for n in range(5)]
    first = poll(connection)  # page 1 and the requisitions: the budget is spent
    assert (first.requests, first.queued, first.swept) == (2, 2, False)
    assert herp_adapter.Cursor.load(connection).page == 2
    second = poll(connection)  # pages 2 and 3; the title is known now
    assert (second.requests, second.queued, second.swept) == (2, 3, True)
    assert [r["query"]["page"] for r in herp_api.candidacy_requests()] == ["1", "2", "3"]
    assert Message.objects.count() == 5


def test_a_round_stops_when_herp_says_few_requests_are_left(connect, herp_api, poll):
    connection, _api = connect()
    herp_api.page_size = 1
    herp_api.remaining = herp_adapter.RESERVE_REQUESTS - 1  # the company's own tools used the rest
    herp_api.candidacies += [candidacy(reason=None), candidacy("山本 健", "ken@example.jp", reason=None)]
    result = poll(connection)
    assert (result.requests, result.swept, result.error) == (1, False, "")
    assert herp_adapter.Cursor.load(connection).page == 2


def test_http_429_is_honoured_and_the_sweep_resumes_where_it_stopped(connect, herp_api, poll):
    connection, _api = connect(delay_minutes=60)
    herp_api.page_size = 1
    herp_api.candidacies += [candidacy(applied_at=timezone.now() - timedelta(days=2)),
                             candidacy("山本 健", "ken@example.jp", applied_at=timezone.now() - timedelta(days=1))]
    herp_api.throttle[("/v1/candidacies", "2")] = 120
    result = poll(connection)
    assert result.queued == 1 and "120" in result.error
    assert "利用上限" in connection.last_poll_error
    waited = (connection.poll_not_before - timezone.now()).total_seconds()
    assert 110 < waited <= 120
    assert herp_adapter.Cursor.load(connection).page == 2
    # Until then neither the scheduler nor "poll now" asks HERP again.
    requests_so_far = len(herp_api.requests)
    assert polling.poll_due_connections(now=timezone.now() + timedelta(minutes=1)) == 0
    assert polling.request_poll(connection) is False
    assert polling.poll_connection(connection.pk) is None
    assert len(herp_api.requests) == requests_so_far
    AtsConnection.objects.filter(pk=connection.pk).update(poll_not_before=timezone.now() - timedelta(seconds=1))
    result = poll(connection)
    assert (result.queued, result.swept, result.error) == (1, True, "")
    assert herp_api.candidacy_requests()[-1]["query"]["page"] == "2"
    assert connection.last_poll_error == "" and connection.poll_not_before is None
    assert Message.objects.count() == 2


def test_a_wrong_key_is_recorded_as_the_connections_error(connect, herp_api, poll):
    connection, _api = connect(api_key="not-the-key")
    herp_api.candidacies.append(candidacy())
    result = poll(connection)
    assert "401" in result.error and "401" in connection.last_poll_error
    assert connection.last_polled_at is not None and connection.poll_cursor == ""
    assert WebhookDelivery.objects.count() == 0 and Application.objects.count() == 0
    AtsConnection.objects.filter(pk=connection.pk).update(api_key=API_KEY)
    assert poll(connection).queued == 1
    assert connection.last_poll_error == ""


# --- what each change does -----------------------------------------------------------------------------

def test_active_again_before_sending_cancels_the_notice(connect, herp_api, poll):
    connection, _api = connect(delay_minutes=60)
    item = candidacy()
    herp_api.candidacies.append(item)
    poll(connection)
    message = Message.objects.get()
    assert message.status == MessageStatus.SCHEDULED
    herp_api.change(item["id"], status="active", terminationReason=None, terminatedAt=None)
    assert poll(connection).queued == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.CANCELLED
    assert Application.objects.get().status == "active"
    assert WebhookDelivery.objects.filter(action="reactivated", status=DeliveryStatus.PROCESSED).count() == 1
    assert poll(connection).queued == 0  # in step with HERP now
    # Ended again: the same notice is planned again, still only one.
    herp_api.change(item["id"], status="terminated", terminationReason="rejected",
                    terminatedAt=stamp(timezone.now() + timedelta(minutes=2), minute=True))
    assert poll(connection).queued == 1
    assert Message.objects.get().status == MessageStatus.SCHEDULED


def test_correcting_the_end_reason_to_declined_cancels_the_notice(connect, herp_api, poll):
    connection, _api = connect(delay_minutes=60)
    item = candidacy()
    herp_api.candidacies.append(item)
    poll(connection)
    herp_api.change(item["id"], terminationReason="refusedByCandidate")  # same 選考終了日時, other reason
    assert poll(connection).queued == 1
    assert Application.objects.get().status == "withdrawn"
    assert Message.objects.get().status == MessageStatus.CANCELLED


def test_an_accepted_offer_cancels_a_pending_notice(connect, herp_api, poll):
    connection, _api = connect(delay_minutes=60)
    item = candidacy()
    herp_api.candidacies.append(item)
    poll(connection)
    herp_api.change(item["id"], status="active", terminationReason=None, terminatedAt=None, step="offerAccepted")
    poll(connection)
    assert Application.objects.get().status == "hired"
    assert Message.objects.get().status == MessageStatus.CANCELLED


def test_other_end_reasons_are_recorded_without_a_notice(connect, herp_api, poll):
    connection, _api = connect()
    declined = candidacy("辞退 太郎", "taro@example.jp", reason="refusedByCandidate")
    not_eligible = candidacy("対象 外子", "gaiko@example.jp", reason="notEligible")
    herp_api.candidacies += [declined, not_eligible]
    assert poll(connection).queued == 2
    assert Message.objects.count() == 0
    statuses = dict(Application.objects.values_list("external_id", "status"))
    assert statuses == {declined["id"]: "withdrawn", not_eligible["id"]: "withdrawn"}
    # The end reason is kept in the application's history.
    assert ApplicationEvent.objects.get(event_id__startswith=f"herp:{declined['id']}:").rejection_reason == "辞退"


def test_history_agents_and_unknown_people_get_no_notice(connect, herp_api, poll):
    connection, _api = connect()
    long_ago = timezone.now() - timedelta(days=40)
    herp_api.candidacies += [
        # Ended long before the connection was made (and touched since): history, not news.
        candidacy("昔 終子", "old@example.jp", ended_at=long_ago, updated_at=long_ago),
        candidacy("昔 編集", "edited@example.jp", ended_at=long_ago),
        # Referred by a recruitment agency: the agent tells the candidate.
        candidacy("紹介 花子", "agent@example.jp", channel={"type": "agent", "agent": {"id": "a", "company": "X社"}}),
        # No e-mail address in HERP: nobody to write to.
        candidacy("無記 名子", None),
        # A requisition HERP does not list: no job title to name in the mail.
        candidacy("職種 不明", "unknown-job@example.jp", requisition=str(uuid.uuid4())),
    ]
    assert poll(connection).queued == 3
    assert Message.objects.count() == 0
    assert sorted(Application.objects.values_list("candidate__email", "status")) == [
        ("agent@example.jp", "rejected"), ("unknown-job@example.jp", "rejected")]
    assert WebhookDelivery.objects.get(action="terminated/rejected", outcome="no e-mail address").status == \
        DeliveryStatus.IGNORED


def test_connection_mappings_apply_to_polled_changes(connect, herp_api, poll):
    connection, _api = connect(delay_minutes=60)
    assert connection.stage_mapping["カジュアル面談"] == 5 and connection.stage_mapping["三次面接"] == 30
    connections.update_mappings(connection, stage_mapping={**connection.stage_mapping, "三次面接": 40},
                             reason_mapping={"辞退": "候補者都合"})
    herp_api.candidacies += [candidacy(step="thirdInterview"),
                             candidacy("辞退 太郎", "taro@example.jp", reason="refusedByCandidate", step="casualInterview")]
    poll(connection)
    rows = {a.candidate.email: (a.stage_raw, a.stage) for a in Application.objects.all()}
    assert rows == {"hanako.sato@example.jp": ("三次面接", 40), "taro@example.jp": ("カジュアル面談", 5)}
    assert ApplicationEvent.objects.get(status="withdrawn").rejection_reason == "候補者都合"


# --- the scheduler -------------------------------------------------------------------------------------

def test_one_failing_connection_does_not_stop_the_others(connect, herp_api, django_capture_on_commit_callbacks):
    broken, _ = connect(slug="broken", base_url=f"http://127.0.0.1:{free_port()}")
    working, _ = connect(slug="working")
    herp_api.candidacies.append(candidacy())
    with django_capture_on_commit_callbacks(execute=True):
        assert polling.poll_due_connections() == 2
    broken.refresh_from_db()
    working.refresh_from_db()
    assert "HERP Hire" in broken.last_poll_error and broken.last_polled_at is not None
    assert working.last_poll_error == ""
    assert Message.objects.get().application.company == working.company
    # Both were just polled: neither is due again before the interval is up.
    assert polling.poll_due_connections() == 0
    later = timezone.now() + polling.poll_interval() + timedelta(seconds=1)
    assert polling.poll_due_connections(now=later) == 2


def test_the_scheduler_asks_a_worker_once_per_due_connection_until_the_round_starts(connect, monkeypatch):
    """Rounds run in workers (HTTP can take seconds; the scheduler's 2-second tick must not wait): however
    often the scheduler ticks, one task waits per connection, and a new one is asked for once it started."""
    from tsunagu.lib import queue
    from tsunagu.lib.queue import taken

    first, _ = connect(slug="first")
    second, _ = connect(slug="second")
    queued = []
    # A queue no worker reads yet: what is queued is only recorded (the connection id of each round).
    monkeypatch.setattr(queue, "enqueue", lambda name, connection_id: queued.append(connection_id))
    assert polling.poll_due_connections() == 2
    assert polling.poll_due_connections() == 0 and sorted(queued) == sorted([first.pk, second.pk])
    taken(polling.poll_key(first.pk))  # the worker picked up the first connection's task
    assert polling.poll_due_connections() == 1 and queued[-1] == first.pk
    first.refresh_from_db()
    assert first.last_polled_at is None  # the scheduler itself made no request to HERP


def test_the_scheduler_loop_polls_due_connections(connect, herp_api, monkeypatch, django_capture_on_commit_callbacks):
    from tsunagu.core import runtime

    connection, _api = connect(delay_minutes=60)
    herp_api.candidacies.append(candidacy())
    stop = threading.Event()
    real = polling.poll_due_connections

    def poll_once(**kwargs):
        polled = real(**kwargs)
        stop.set()
        return polled

    monkeypatch.setattr(runtime, "poll_due_connections", poll_once)  # where the scheduler looks it up
    monkeypatch.setattr(runtime, "close_old_connections", lambda: None)  # keep the test's transaction
    with django_capture_on_commit_callbacks(execute=True):
        runtime.scheduler_loop(stop, interval=0.01)
    connection.refresh_from_db()
    assert connection.last_polled_at is not None
    assert Message.objects.get().status == MessageStatus.SCHEDULED


# --- end to end: the notice reaches a real SMTP server ---------------------------------------------------

def test_a_polled_rejection_reaches_the_candidate_by_smtp(connect, herp_api, poll, smtp_settings):
    connection, api = connect()
    item = candidacy()
    herp_api.candidacies.append(item)
    poll(connection)
    [received] = smtp_settings.wait_for(1)
    assert received["rcpt"] == ["hanako.sato@example.jp"]
    text = text_part(received["message"])
    assert text.startswith("佐藤 花子様") and f"「{JOB_TITLE}」" in text
    assert [(m["kind"], m["status"]) for m in api.get("/api/v1/messages", application=item["id"]).json()] == [
        ("rejection", "sent")]
    poll(connection)
    assert len(smtp_settings.received) == 1


@pytest.mark.slow
def test_tsunagu_serve_polls_herp_and_the_notice_arrives(herp_api):
    """The real `tsunagu serve`: its scheduler polls the fake HERP Hire, its worker sends over SMTP."""
    from tsunagu.testing import run_cli, running_tsunagu

    with smtp_running() as sink, running_tsunagu(smtp_port=sink.port, **LOCAL_OUTBOUND_ENV) as (server, company):
        item = candidacy("高橋 美咲", "misaki@example.jp")
        herp_api.candidacies.append(item)
        added = run_cli(["ats", "add", "--company", company["slug"], "--kind", "herp", "--api-key", API_KEY,
                         "--api-base-url", herp_api.url], server.env)
        assert added.returncode == 0, added.stderr
        assert json.loads(added.stdout)["webhook_url"] is None
        [received] = sink.wait_for(1, timeout=60)
        assert received["rcpt"] == ["misaki@example.jp"]
        assert f"「{JOB_TITLE}」" in text_part(received["message"])
        assert herp_api.candidacy_requests()[0]["auth"] == f"Bearer {API_KEY}"


# --- connecting HERP Hire ------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.sqlite_data_dir
def test_ats_add_herp_on_the_command_line(tmp_path):
    from tsunagu.testing import base_env, run_cli

    env = base_env(str(tmp_path))
    run_cli(["company", "create", "--name", "株式会社つなぐ", "--slug", "tsunagu"], env)
    result = run_cli(["ats", "add", "--company", "tsunagu", "--kind", "herp", "--api-key", API_KEY,
                      "--api-base-url", "https://herp.example.jp/hire"], env)
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["kind"] == "herp" and isinstance(output["id"], int) and output["webhook_url"] is None
    assert output["poll_interval_seconds"] == polling.POLL_INTERVAL
    missing_key = run_cli(["ats", "add", "--company", "tsunagu", "--kind", "herp"], env)
    assert missing_key.returncode != 0 and "API" in missing_key.stderr
    # Webhook kinds still need their secret.
    no_secret = run_cli(["ats", "add", "--company", "tsunagu", "--kind", "greenhouse"], env)
    assert no_secret.returncode != 0 and "secret" in no_secret.stderr


def test_herp_needs_an_api_key_but_no_secret(make_company):
    from django.core.exceptions import ValidationError

    company, _key = make_company()
    with pytest.raises(ValidationError):
        connections.add_connection(company, kind="herp", api_key="  ")
    connection = connections.add_connection(company, kind="herp", api_key=API_KEY)
    assert connection.secret == "" and connection.api_base_url == ""


def test_a_herp_connection_has_no_webhook_endpoint(client, connect):
    connection, _api = connect()
    response = client.post(connection.webhook_path, data=b"{}", content_type="application/json")
    assert response.status_code == 404


def test_console_shows_the_polling_state_and_polls_now(login, make_company, herp_api,
                                                        django_capture_on_commit_callbacks):
    company, _key = make_company(slug="console-herp")
    client = login(company)
    page = client.post("/console/connections/", {"kind": "herp", "api_key": "wrong-key",
                                                 "api_base_url": herp_api.url}, follow=True).content.decode()
    connection = AtsConnection.objects.get(company=company)
    assert 'id="poll-now"' in page and "今すぐ取得" in page and "まだ取得していません" in page
    assert 'id="webhook-url"' not in page and connection.webhook_url not in page
    url = f"/console/connections/{connection.pk}/"
    herp_api.candidacies.append(candidacy())
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url + "poll/").status_code == 302
    page = client.get(url).content.decode()
    assert "取得を開始しました" in page
    assert "HTTP 401" in page.split('id="last-poll-error"')[1].split("</dd>")[0]
    AtsConnection.objects.filter(pk=connection.pk).update(api_key=API_KEY)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url + "poll/")
    page = client.get(url).content.decode()
    error_cell = page.split('id="last-poll-error"')[1].split("</dd>")[0]
    assert "HTTP 401" not in error_cell and "なし" in error_cell
    assert "terminated/rejected" in page and herp_api.candidacies[0]["id"] in page
    assert 'class="status status-scheduled"' in page or 'class="status status-sent"' in page
    # The list of connections says how HERP Hire is connected.
    assert "APIから定期取得" in client.get("/console/connections/").content.decode()
