"""Benchmark (h): the dashboard of a company with 1,000,000 applications and 5,000,000 messages.

A fresh environment gets two companies: the measured one with ~3 years of generated history (bench.analytics_data:
applications, candidates, rejection notices and follow-ups, opens/clicks/bounces, referral clicks, registrations
and the ledger), and a small second one whose rows must never be counted. The load runs in a helper process
(executemany on SQLite, COPY on PostgreSQL; its time is printed), which then times the rollup: rollup.rebuild
over the whole history, a refresh with nothing changed, and a refresh after one more day of rows.

Then `tsunagu web` alone serves, and one keep-alive client logged in as a viewer sends requests one at a time,
after a warm-up, PER_PAGE timed requests per page: the dashboard (this month, fiscal year, year), the funnel by
job over the year, and GET /api/v1/analytics/summary over one year; the baseline in the same run is /healthz (a
bare view). p50/p95 are nearest-rank over the timed requests (client side, response fully read).

Size: TSUNAGU_BENCH_SCALE (default 1; e.g. 0.01 for a quick run at 1/100) or `--analytics-scale`.
Target (issue 14): p95 <= 300 ms for every page.
"""

from __future__ import annotations

import math
import os
import time
from datetime import date, timedelta

from bench.harness import (
    HOST,
    BenchError,
    Service,
    bench_environment,
    console_login,
    database_kind,
    free_port,
    last_json_line,
    run_python_module,
    run_tsunagu,
    say,
    section,
    verdict,
    wait_for_http_ok,
)
from bench.pool_search import Timing

SCALE = float(os.environ.get("TSUNAGU_BENCH_SCALE", "1") or 1)
PER_PAGE = 200
WARMUP = 10
PAGE_BUDGET_SECONDS = 120.0  # a slow page stops after this much timed work (its n is printed)
TARGET_P95_MS = 300.0
HTTP_TIMEOUT = 60.0
EMAIL, PASSWORD = "viewer@bench.example", "bench-analytics-password-1"


def pages(today: date) -> list[tuple[str, str, str]]:
    """(label, session name, path) of the measured pages."""
    year_ago = today - timedelta(days=364)
    return [
        ("/console/ (this month)", "console", "/console/"),
        ("/console/?period=fiscal_year", "console", "/console/?period=fiscal_year"),
        ("/console/?period=year", "console", "/console/?period=year"),
        ("funnel by job, year", "console", "/console/analytics/funnel/?by=job&period=year"),
        ("API summary, one year", "api", f"/api/v1/analytics/summary?from={year_ago}&to={today}"),
    ]


def run(scale: float = SCALE) -> dict:
    section(f"(h) analytics: the dashboard over {int(1_000_000 * scale):,} applications and "
            f"{int(5_000_000 * scale):,} messages on {database_kind()}")
    with bench_environment("analytics") as bench:
        port = free_port()
        base_url = f"http://{HOST}:{port}"
        env = bench.with_env(TSUNAGU_BASE_URL=base_url, TSUNAGU_EMAIL_URL="capture://")
        run_tsunagu(env, "manage", "migrate", "--verbosity", "0")
        key = last_json_line(run_tsunagu(env, "company", "create", "--name", "株式会社ベンチ", "--slug", "bench",
                                         "--delay-minutes", "60"))["api_key"]
        run_tsunagu(env, "company", "create", "--name", "他社株式会社", "--slug", "other")
        run_tsunagu(env, "user", "create", "--company", "bench", "--email", EMAIL, "--password", PASSWORD,
                    "--role", "viewer")
        started = time.monotonic()
        loaded = last_json_line(run_python_module(
            env, "bench.analytics_data", "load", "--company", "bench", "--scale", str(scale),
            "--second-company", "other", "--delay-minutes", "60", timeout=6 * 3600))
        _report_load(loaded, time.monotonic() - started)
        with Service("web", ["web", "--bind", f"{HOST}:{port}"], env) as server:
            wait_for_http_ok(f"{base_url}/healthz", timeout=120, service=server)
            return _measure(base_url, key, server, loaded)


def _report_load(loaded: dict, seconds: float) -> None:
    counts = loaded["counts"]
    say(f"generated in {seconds:.0f} s (load {loaded['load_seconds']:.0f} s: {loaded['seconds']}):")
    say("  " + ", ".join(f"{table.split('_', 1)[1]} {n:,}" for table, n in counts.items()))
    say(f"  second company: {sum(loaded['second_company'].values()):,} rows")
    say(f"rollup.rebuild (whole history)       {loaded['rebuild_seconds']:8.2f} s   "
        f"-> {loaded['daily_count_rows']:,} DailyCount rows")
    say(f"rollup.refresh, nothing changed       {loaded['refresh_unchanged_seconds']:8.2f} s")
    say(f"rollup.refresh after one more day     {loaded['refresh_new_day_seconds']:8.2f} s   "
        f"({loaded['new_day_applications']:,} applications of the last weeks decided today, with their mail)")
    counted, stored = loaded["applications_counted"], loaded["applications_stored"]
    say(f"applications counted {counted:,} of {stored:,} stored: "
        f"{'exact' if counted == stored else 'MISMATCH (other company counted, or rows missed)'}")


def _measure(base_url: str, key: str, server: Service, loaded: dict) -> dict:
    import requests

    sessions = {"console": requests.Session(), "api": requests.Session(), "plain": requests.Session()}
    sessions["api"].headers["Authorization"] = f"Bearer {key}"
    console_login(sessions["console"], base_url, EMAIL, PASSWORD, timeout=HTTP_TIMEOUT)

    def get(session, path: str, timing: Timing | None) -> None:
        server.check_running()
        started = time.perf_counter()
        response = session.get(base_url + path, timeout=HTTP_TIMEOUT, allow_redirects=False)
        _body = response.content
        elapsed = time.perf_counter() - started
        if timing is None:
            if response.status_code != 200:
                raise BenchError(f"warm-up {path} answered {response.status_code}: {response.text[:300]}")
            return
        timing.seconds.append(elapsed)
        timing.statuses[response.status_code] = timing.statuses.get(response.status_code, 0) + 1

    def series(label: str, session, path: str) -> Timing:
        for _ in range(WARMUP):
            get(session, path, None)
        timing = Timing(label)
        for _ in range(PER_PAGE):
            get(session, path, timing)
            if sum(timing.seconds) > PAGE_BUDGET_SECONDS:
                break
        return timing

    baseline = series("/healthz (bare view)", sessions["plain"], "/healthz")
    say()
    say(f"GET latency, {PER_PAGE} requests per page one at a time (after {WARMUP} warm-up requests):")
    say("  " + baseline.line())
    results = []
    for label, session, path in pages(date.today()):
        timing = series(label, sessions[session], path)
        results.append(timing)
        say("  " + timing.line(TARGET_P95_MS))
    worst = max(results, key=lambda timing: timing.p(0.95))
    met = all(timing.p(0.95) <= TARGET_P95_MS and set(timing.statuses) == {200} for timing in results)
    say(f"target p95 <= {TARGET_P95_MS:.0f} ms on every page: {verdict(met)} "
        f"(slowest: {worst.label}, p95 {worst.p(0.95):.1f} ms; bare view p95 {baseline.p(0.95):.1f} ms)")
    return {
        "name": "analytics",
        "summary": (f"worst p95 {worst.p(0.95):.0f} ms ({worst.label}); rebuild {loaded['rebuild_seconds']:.0f} s, "
                    f"refresh {loaded['refresh_unchanged_seconds']:.2f} s / {loaded['refresh_new_day_seconds']:.2f} s"),
        "met": met if not math.isnan(worst.p(0.95)) else None,
    }
