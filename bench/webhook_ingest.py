"""Benchmark (d): signed Greenhouse webhooks ingested per second, as a ratio to a bare Django view.

`tsunagu serve` runs as users run it (web server, queue worker and scheduler in one process) with one
company (delay 60 minutes, so no notice is sent during the run) and one Greenhouse connection made
through the real CLI. The baseline is /healthz on the same server in the same run: a Django view that
returns {"ok": true} and touches no database, so it measures the web server, WSGI and Django's request
path. It is measured before the webhooks and again after the worker has drained them; the ratio uses
the mean. The system is the same load shape (same client threads, keep-alive connections, same
duration) POSTing signed `reject_candidate` events, each with its own application id and
Greenhouse-Event-ID, to the connection's webhook URL. Bodies are built and signed before the clock
starts. Afterwards the database must hold exactly one WebhookDelivery per 200 answer; how many the
worker processed within a bounded wait is printed for information.

Target (issue 3): at least 500 signed events ingested per second on this 2-core machine, with exactly
one stored delivery per 200 answer. The ratio to the bare view is printed for context.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

from bench.harness import (
    HOST,
    OutboxProbe,
    Service,
    bench_environment,
    free_port,
    last_json_line,
    run_tsunagu,
    say,
    section,
    verdict,
    wait_for_http_ok,
)
from bench.load import (
    DURATION,
    THREADS,
    LoadPlan,
    LoadResult,
    Request,
    RoundRobin,
    bare_view_baseline,
    run_load,
    warm_up,
)

# Pre-built webhook requests per thread: the phase stops early (and says so) if a thread runs out. At
# 4,000 per thread the server would have to ingest over 3,000 events/s for 10 s to exhaust them.
WEBHOOKS_PER_THREAD = 4_000
PROCESS_TIMEOUT = 90.0  # bounded wait for the worker to process the stored deliveries
SECRET = "bench-greenhouse-" + secrets.token_hex(8)
TARGET_EVENTS_PER_SECOND = 500
NOW = "2026-11-20T03:00:00.000Z"


# --- requests (built in the load-generator process, before its clock starts) ------------------------

def greenhouse_body(application_id: int) -> bytes:
    """A Greenhouse `reject_candidate` event as their documentation shows it (cf. intake/tests/webhook_samples.py)."""
    payload = {
        "action": "reject_candidate",
        "payload": {"application": {
            "id": application_id, "rejected_at": NOW, "prospect": False, "status": "rejected",
            "applied_at": "2026-11-01T12:03:02.728Z", "last_activity_at": NOW,
            "current_stage": {"id": 1073533, "name": "Face to Face"},
            "rejection_reason": {"id": 9504, "name": "Lacking skill(s)/qualification(s)",
                                 "type": {"id": 1, "name": "We rejected them"}},
            "candidate": {
                "id": 60_000_000 + application_id, "first_name": "花子", "last_name": "佐藤", "can_email": True,
                "phone_numbers": [{"value": "090-1111-2222", "type": "mobile"}],
                "email_addresses": [{"value": f"gh{application_id}@example.jp", "type": "personal"}],
            },
            "jobs": [{"id": 274075, "name": "データサイエンティスト"}],
        }},
    }
    return json.dumps(payload, ensure_ascii=False).encode()


def signed_webhook(secret: str, application_id: int) -> tuple[bytes, dict[str, str]]:
    """Body and headers exactly as Greenhouse signs them: `Signature: sha256 <hex HMAC-SHA256 of the body>`."""
    body = greenhouse_body(application_id)
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "Signature": f"sha256 {signature}",
                  "Greenhouse-Event-ID": f"bench-event-{application_id}"}


@dataclass(frozen=True, kw_only=True)
class WebhookPlan(LoadPlan):
    """Signed webhooks to `path`, each with its own application id: thread t sends first + t * per_thread + n."""

    repeat: ClassVar[bool] = False  # every event once; a thread that runs out stops (and the line says so)

    path: str
    first_application_id: int
    per_thread: int = WEBHOOKS_PER_THREAD
    # Carried in the plan, not read from the module: the spawned load process would draw a new SECRET.
    secret: str = SECRET

    def requests(self, thread: int, threads: int) -> Iterator[Request]:
        start = self.first_application_id + thread * self.per_thread
        for n in range(self.per_thread):
            yield Request("POST", self.path, *signed_webhook(self.secret, start + n))


# --- reading deliveries from outside ---------------------------------------------------------------

class DeliveryProbe(OutboxProbe):
    """Counts WebhookDelivery rows by status straight from the database (the bench process needs no Django)."""

    QUERY = "SELECT status, COUNT(*) FROM intake_webhookdelivery GROUP BY status"


def wait_for_processing(probe: DeliveryProbe, server: Service, timeout: float) -> tuple[dict[str, int], float]:
    """Poll until no delivery is queued or `timeout` passes; return the last counts and the seconds waited."""
    started = time.monotonic()
    counts = probe.counts()
    while counts.get("queued", 0) and time.monotonic() - started < timeout:
        server.check_running()
        time.sleep(0.5)
        counts = probe.counts()
    return counts, time.monotonic() - started


# --- the benchmark ---------------------------------------------------------------------------------

def run() -> dict:
    section(f"(d) webhook ingest: signed Greenhouse events/s vs a bare Django view "
            f"({THREADS} keep-alive clients, {DURATION:.0f} s per phase)")
    with bench_environment("webhooks") as bench:
        port = free_port()
        base_url = f"http://{HOST}:{port}"
        env = bench.with_env(TSUNAGU_BASE_URL=base_url, TSUNAGU_EMAIL_URL="capture://")
        run_tsunagu(env, "manage", "migrate", "--verbosity", "0")
        # A 60-minute delay: every rejection plans a notice, none is due (or sent) while the bench runs.
        run_tsunagu(env, "company", "create", "--name", "株式会社ベンチ", "--slug", "bench", "--delay-minutes", "60")
        connection = last_json_line(run_tsunagu(env, "ats", "add", "--company", "bench", "--kind", "greenhouse",
                                                "--secret", SECRET))
        hook_path = urlsplit(connection["webhook_url"]).path
        probe = None
        with Service("serve", ["serve", "--bind", f"{HOST}:{port}"], env) as server:
            wait_for_http_ok(f"{base_url}/healthz", timeout=60, service=server)
            say(f"tsunagu serve is up on {base_url}; webhook path {hook_path.rsplit('/', 1)[0]}/…")
            probe = DeliveryProbe(bench)
            try:
                health = RoundRobin(port=port, name="healthz", send=(Request("GET", "/healthz"),))
                warm_up(health)
                before = run_load(health, server)
                _line("bare view /healthz (before)", before)

                warm_ok = warm_up(WebhookPlan(port=port, name="webhook", path=hook_path, first_application_id=1))
                hooks = WebhookPlan(port=port, name="webhook", path=hook_path, first_application_id=1_000_000)
                queued_before = probe.counts().get("queued", 0)
                ingest = run_load(hooks, server)
                _line("signed webhooks", ingest)
                stored_now = probe.counts()
                say(f"right after the phase: {sum(stored_now.values()):,} deliveries stored, "
                    f"{stored_now.get('processed', 0):,} processed while ingesting "
                    f"({queued_before} were still queued from the warm-up when it began)")

                counts, waited = wait_for_processing(probe, server, PROCESS_TIMEOUT)
                after = run_load(health, server)
                _line("bare view /healthz (after)", after)
            finally:
                probe.close()
        return _report(before, after, ingest, warm_ok, stored_now, counts, waited)


def _line(label: str, result: LoadResult) -> None:
    extra = ""
    other = {status: n for status, n in result.statuses.items() if status != 200}
    if other or result.errors:
        extra += f"  NON-200: {dict(other)} errors {dict(result.errors)}; first: {result.sample_failure}"
    if result.exhausted_threads:
        extra += f"  ({result.exhausted_threads} threads ran out of pre-built requests)"
    say(f"{label:<28} {result.ok:7,} OK in {result.seconds:5.1f} s = {result.rate:8,.0f} /s   "
        f"p50 {result.p(0.50):6.1f} ms   p99 {result.p(0.99):6.1f} ms{extra}")


def _report(before: LoadResult, after: LoadResult, ingest: LoadResult, warm_ok: int, at_phase_end: dict[str, int],
            counts: dict[str, int], waited: float) -> dict:
    say()
    baseline = bare_view_baseline(before, after)
    ratio = ingest.rate / baseline if baseline else math.nan
    expected = ingest.ok + warm_ok
    stored = sum(counts.values())
    processed = counts.get("processed", 0)
    drained = (processed - at_phase_end.get("processed", 0)) / waited if waited > 0.5 else math.nan
    fast_enough = ingest.rate >= TARGET_EVENTS_PER_SECOND
    say(f"webhook ingest:                   {ingest.rate:8,.0f} events/s   target >= {TARGET_EVENTS_PER_SECOND}: "
        f"{verdict(fast_enough)}")
    say(f"ratio webhook / bare view:        {ratio:8.1%}   (informative)")
    say(f"deliveries stored: {stored:,} for {expected:,} answers 200 ({ingest.ok:,} timed + {warm_ok} warm-up): "
        + ("match" if stored == expected else "MISMATCH"))
    say(f"deliveries processed by the worker: {processed:,}/{stored:,} after waiting {waited:.0f} s "
        f"(others: { {k: v for k, v in counts.items() if k != 'processed'} }); about "
        f"{drained:,.0f}/s while draining after the phase (informative only)")
    non_200 = sum(n for status, n in ingest.statuses.items() if status != 200) + sum(ingest.errors.values())
    return {
        "name": "webhooks",
        "summary": f"{ingest.rate:,.0f} events/s (target {TARGET_EVENTS_PER_SECOND}) = {ratio:.0%} of bare view "
                   f"{baseline:,.0f} req/s; "
                   f"{stored:,}/{expected:,} stored, {processed:,} processed" + (f"; {non_200} non-200" if non_200 else ""),
        "met": fast_enough and stored == expected,
    }
