"""Benchmark (e): tracked-link clicks answered per second, and their p99, as a ratio to a bare view.

`tsunagu serve` runs as users run it (web server, queue worker and scheduler in one process) with one
company and 2,000 real sent notices in its outbox. A helper process (Django, same data dir and secret
key) signs one click link per notice exactly as mail carries them (`/t/c/<token>`, target URL, message,
company and send time in the token). The load comes from a second process: keep-alive client threads,
each GETting links round-robin with a phone browser's User-Agent for a fixed time, counting 302 answers
and their latency. The baseline is /healthz on the same server in the same run (a Django view that returns
{"ok": true} through the same middleware), measured before and after; the ratio uses the mean.

Afterwards the server is stopped gracefully (SIGTERM) and the database must hold exactly one click event
per 302 answer (timed and warm-up), none flagged as a machine: the buffer in front of the database loses
nothing on a normal shutdown.

Target (issue 4): click redirect >= 50 % of the bare view's rate, with p99 < 20 ms.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from bench.harness import (
    HOST,
    OutboxProbe,
    Service,
    bench_environment,
    free_port,
    last_json_line,
    links_helper_main,
    run_python_module,
    run_tsunagu,
    say,
    section,
    verdict,
    wait_for_http_ok,
)
from bench.load import (
    DURATION,
    PHONE_BROWSER,
    THREADS,
    LoadResult,
    Request,
    RoundRobin,
    bare_view_baseline,
    run_load,
    say_result,
    warm_up,
)

MESSAGES = 2_000  # sent notices, one signed link each; clients cycle through them
TARGET_RATIO = 0.50
TARGET_P99_MS = 20.0


# --- the helper that makes real notices and their links (run with Django, in the bench environment) -----

def make_links(company_slug: str, count: int, out: str) -> dict:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tsunagu.settings")
    import django

    django.setup()
    from datetime import timedelta

    from django.utils import timezone

    from tsunagu.companies.models import Company
    from tsunagu.messaging.models import Message, MessageKind, MessageStatus
    from tsunagu.messaging.tracking.tokens import click_token

    company = Company.objects.get(slug=company_slug)
    sent_at = timezone.now() - timedelta(hours=1)
    Message.objects.bulk_create([
        Message(company=company, kind=MessageKind.REJECTION, key=f"bench-click:{n}", to_email=f"c{n}@example.jp",
                to_name="髙橋 𠮷子", status=MessageStatus.SENT, send_at=sent_at, sent_at=sent_at,
                subject="選考結果のご連絡", body_text="…")
        for n in range(count)
    ], batch_size=500)
    messages = Message.objects.filter(company=company, key__startswith="bench-click:").order_by("pk")
    paths = [
        "/t/c/" + click_token(f"https://careers.bench.example/jobs/{message.pk}?utm_source=tsunagu",
                              message_id=message.pk, company_id=company.pk, sent_at=message.sent_at)
        for message in messages
    ]
    Path(out).write_text(json.dumps(paths))
    return {"messages": len(paths), "path_length": max(len(path) for path in paths)}


# --- reading events from outside ------------------------------------------------------------------

class EventProbe(OutboxProbe):
    """Counts click events (person / machine) straight from the database; the bench process needs no Django."""

    QUERY = "SELECT machine, COUNT(*) FROM messaging_messageevent WHERE kind = 'clicked' GROUP BY machine"

    def clicks(self) -> tuple[int, int]:
        counts = {bool(machine): n for machine, n in self.counts().items()}
        return counts.get(False, 0), counts.get(True, 0)


# --- the benchmark ---------------------------------------------------------------------------------

def run() -> dict:
    section(f"(e) click redirect: tracked links answered/s vs a bare Django view "
            f"({THREADS} keep-alive clients, {DURATION:.0f} s per phase)")
    with bench_environment("clicks") as bench:
        port = free_port()
        base_url = f"http://{HOST}:{port}"
        env = bench.with_env(TSUNAGU_BASE_URL=base_url, TSUNAGU_EMAIL_URL="capture://")
        run_tsunagu(env, "manage", "migrate", "--verbosity", "0")
        run_tsunagu(env, "company", "create", "--name", "株式会社ベンチ", "--slug", "bench", "--delay-minutes", "60")
        paths_file = str(bench.data_dir / "click-paths.json")
        made = last_json_line(run_python_module(env, "bench.click_redirect", "make-links", "--company", "bench",
                                                "--count", str(MESSAGES), "--out", paths_file))
        say(f"{made['messages']:,} sent notices, one signed link each (up to {made['path_length']} characters)")
        probe = EventProbe(bench)
        try:
            with Service("serve", ["serve", "--bind", f"{HOST}:{port}"], env) as server:
                wait_for_http_ok(f"{base_url}/healthz", timeout=60, service=server)
                # A phone browser, and not too soon after sending (the notices were sent an hour ago): every
                # click must be recorded as a person.
                browser = {"User-Agent": PHONE_BROWSER}
                health = RoundRobin(port=port, name="healthz", send=(Request("GET", "/healthz", None, browser),))
                links = json.loads(Path(paths_file).read_text())
                clicks = RoundRobin(port=port, name="click", expected_status=302,
                                    send=tuple(Request("GET", path, None, browser) for path in links))
                warm_up(health)
                before = run_load(health, server)
                say_result("bare view /healthz (before)", before)
                warm_clicks = warm_up(clicks)
                redirect = run_load(clicks, server)
                say_result("click redirect /t/c/…", redirect)
                during = probe.clicks()
                after = run_load(health, server)
                say_result("bare view /healthz (after)", after)
                server.stop()  # SIGTERM: the graceful shutdown under test
                if server.process.returncode != 0:
                    say(f"warning: `tsunagu serve` exited with {server.process.returncode} on SIGTERM:\n"
                        f"{server.log_tail()}")
            stored = probe.clicks()
        finally:
            probe.close()
        say(f"a sample redirect: {redirect.sample_location}")
        return _report(before, after, redirect, warm_clicks, during, stored)


def _report(before: LoadResult, after: LoadResult, redirect: LoadResult, warm_clicks: int,
            during: tuple[int, int], stored: tuple[int, int]) -> dict:
    say()
    baseline = bare_view_baseline(before, after)
    ratio = redirect.rate / baseline if baseline else math.nan
    p99 = redirect.p(0.99)
    answered = redirect.ok + warm_clicks
    people, machines = stored
    fast = ratio >= TARGET_RATIO
    quick = p99 < TARGET_P99_MS
    say(f"click redirect:                   {redirect.rate:8,.0f} req/s = {ratio:6.1%} of the bare view   "
        f"target >= {TARGET_RATIO:.0%}: {verdict(fast)}")
    say(f"click redirect p99:               {p99:8.1f} ms   target < {TARGET_P99_MS:.0f} ms: {verdict(quick)}")
    say(f"click events written while the load ran: {sum(during):,}; after the graceful stop: {people + machines:,}")
    exact = people == answered and machines == 0
    say(f"click events stored: {people:,} as people, {machines} flagged, for {answered:,} answers 302 "
        f"({redirect.ok:,} timed + {warm_clicks} warm-up): " + ("match" if exact else "MISMATCH"))
    unexpected = sum(n for status, n in redirect.statuses.items() if status != 302) + sum(redirect.errors.values())
    return {
        "name": "clicks",
        "summary": f"{redirect.rate:,.0f} redirects/s = {ratio:.0%} of bare view {baseline:,.0f} req/s "
                   f"(target {TARGET_RATIO:.0%}), p99 {p99:.1f} ms (target < {TARGET_P99_MS:.0f}); "
                   f"{people:,}/{answered:,} events stored" + (f"; {unexpected} unexpected" if unexpected else ""),
        "met": fast and quick and exact,
    }


def main(argv: list[str] | None = None) -> int:
    return links_helper_main(argv, benchmark="click", make_links=make_links, default_count=MESSAGES)


if __name__ == "__main__":
    sys.exit(main())
