"""Benchmark (a): from the API call that rejects to the SMTP server receiving the notice.

The whole embedded deployment runs as users run it (`tsunagu serve`: web server, queue worker and
scheduler in one process) for a company with delay 0 and the window always open. Rejections are sent
one at a time and each waits for its own mail, so the figure is the latency of one notice, not the
throughput of many.
"""

from __future__ import annotations

import time

import requests

from bench.harness import (
    HOST,
    BenchError,
    Service,
    bench_environment,
    free_port,
    last_json_line,
    percentile,
    run_tsunagu,
    say,
    section,
    verdict,
    wait_for_http_ok,
)
from bench.smtp_sink import RecordingSink

REJECTIONS = 200
TARGET_P50 = 1.0  # seconds
TARGET_P99 = 2.0
HTTP_TIMEOUT = 10.0
MAIL_TIMEOUT = 10.0  # one notice that takes longer counts as not delivered
MAX_UNDELIVERED = 3  # after this many, something is broken: stop rather than wait 10 s per rejection


def rejection_payload(number: int) -> dict:
    return {
        "external_id": f"B-{number}",
        "candidate": {"name": "髙橋 𠮷子", "email": f"c{number}@example.jp"},
        "job": {"title": "バックエンドエンジニア"},
        "stage": "一次面接",
        "status": "rejected",
    }


def run(rejections: int = REJECTIONS) -> dict:
    section(f"(a) latency: rejection API call -> mail at the SMTP server ({rejections} sequential rejections)")
    with bench_environment("latency") as bench, RecordingSink() as sink:
        port = free_port()
        base_url = f"http://{HOST}:{port}"
        env = bench.with_env(TSUNAGU_EMAIL_URL=sink.url, TSUNAGU_BASE_URL=base_url)
        # `company create` needs the tables; `serve` would migrate too, but only once it starts.
        run_tsunagu(env, "manage", "migrate", "--verbosity", "0")
        company = last_json_line(run_tsunagu(
            env, "company", "create", "--name", "株式会社ベンチ", "--slug", "bench",
            "--delay-minutes", "0", "--send-window", "always",
        ))
        with Service("serve", ["serve", "--bind", f"{HOST}:{port}"], env) as server:
            wait_for_http_ok(f"{base_url}/healthz", timeout=60, service=server)
            say(f"tsunagu serve is up on {base_url}; SMTP sink on {sink.url}")
            latencies, api_times, undelivered = _reject_one_at_a_time(
                f"{base_url}/api/v1/applications", company["api_key"], sink, server, rejections)
        return _report(latencies, api_times, undelivered, rejections)


def _reject_one_at_a_time(endpoint: str, api_key: str, sink: RecordingSink, server: Service,
                          rejections: int) -> tuple[list[float], list[float], int]:
    latencies: list[float] = []  # API call sent -> mail received by the SMTP server
    api_times: list[float] = []  # API call sent -> API answered (the notice is only planned by then)
    undelivered = 0
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {api_key}"
        for number in range(1, rejections + 1):
            payload = rejection_payload(number)
            sent = time.monotonic()
            response = http.post(endpoint, json=payload, timeout=HTTP_TIMEOUT)
            answered = time.monotonic()
            if response.status_code != 201:
                raise BenchError(f"POST {endpoint} answered {response.status_code}: {response.text[:500]}")
            arrived = sink.wait_for(payload["candidate"]["email"], timeout=MAIL_TIMEOUT)
            api_times.append(answered - sent)
            if arrived is None:
                undelivered += 1
                server.check_running()
                say(f"rejection {number}: no mail within {MAIL_TIMEOUT:.0f} s")
                if undelivered >= MAX_UNDELIVERED:
                    say(f"stopping after {undelivered} undelivered notices")
                    break
                continue
            latencies.append(arrived - sent)
            if number % 50 == 0:
                say(f"{number}/{rejections} delivered")
    return latencies, api_times, undelivered


def _report(latencies: list[float], api_times: list[float], undelivered: int, rejections: int) -> dict:
    latencies.sort()
    api_times.sort()
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    worst = latencies[-1] if latencies else float("nan")
    complete = undelivered == 0 and len(latencies) == rejections
    say()
    say(f"delivered {len(latencies)}/{rejections} notices" + ("" if complete else f" ({undelivered} not within "
                                                                                  f"{MAIL_TIMEOUT:.0f} s)"))
    say(f"API answer        p50 {percentile(api_times, 0.50) * 1000:7.1f} ms   "
        f"p99 {percentile(api_times, 0.99) * 1000:7.1f} ms")
    say(f"call -> SMTP      p50 {p50 * 1000:7.1f} ms   p99 {p99 * 1000:7.1f} ms   max {worst * 1000:7.1f} ms")
    p50_met = complete and p50 <= TARGET_P50
    p99_met = complete and p99 <= TARGET_P99
    say(f"target p50 <= {TARGET_P50:.0f} s: {verdict(p50_met)}    target p99 <= {TARGET_P99:.0f} s: {verdict(p99_met)}")
    return {
        "name": "latency",
        "summary": f"p50 {p50:.3f} s, p99 {p99:.3f} s, max {worst:.3f} s over {len(latencies)} notices",
        "met": p50_met and p99_met,
    }
