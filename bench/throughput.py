"""Benchmark (b): how fast the queue worker delivers due notices, relative to raw smtplib.

10,000 rejection notices are planned (delay 0, window always) and handed to the queue while no worker
runs. The baseline sends the same 10,000 messages, pre-rendered to bytes, over one smtplib connection
to the same SMTP sink: the speed of the wire and the sink, with no Tsunagu in the way. Then
`tsunagu worker` and `tsunagu scheduler` are started and the clock runs from the first mail reaching
the sink until the outbox says all 10,000 are sent. The sink runs in its own process, so it costs the
same for both sides; it also proves that nothing was sent twice.
"""

from __future__ import annotations

import pickle
import smtplib
import time

from bench.harness import (
    HOST,
    BenchError,
    OutboxProbe,
    Service,
    bench_environment,
    last_json_line,
    run_python_module,
    run_tsunagu,
    say,
    section,
    verdict,
)
from bench.smtp_sink import CountingSink, SinkStats

NOTICES = 10_000
TARGET_RATIO = 0.70
DELIVERY_TIMEOUT = 600.0  # seconds for the worker to send everything
POLL_INTERVAL = 0.1
PROGRESS_EVERY = 15.0
SETTLE = 2.0  # after the last "sent", watch the sink this long for a mail sent twice


def run(notices: int = NOTICES) -> dict:
    section(f"(b) throughput: worker delivering {notices:,} notices vs raw smtplib, same SMTP sink")
    with bench_environment("throughput") as bench, CountingSink() as sink:
        env = bench.with_env(TSUNAGU_EMAIL_URL=sink.url)
        run_tsunagu(env, "manage", "migrate", "--verbosity", "0")
        run_tsunagu(env, "company", "create", "--name", "株式会社ベンチ", "--slug", "bench",
                    "--delay-minutes", "0", "--send-window", "always")

        started = time.monotonic()
        mails_file = bench.data_dir / "notices.pickle"
        made = last_json_line(run_python_module(env, "bench.make_notices", "--company", "bench",
                                                "--count", str(notices), "--out", str(mails_file), timeout=900))
        if made["rendered"] != notices:
            raise BenchError(f"expected {notices} due notices, the outbox has {made['rendered']}")
        say(f"planned and rendered {notices:,} notices in {time.monotonic() - started:.1f} s "
            f"(average message {made['bytes'] / notices / 1024:.1f} KiB)")
        with open(mails_file, "rb") as handle:
            mails = pickle.load(handle)

        raw_seconds = _raw_smtplib_loop(mails, sink)
        raw_rate = notices / raw_seconds
        say(f"baseline, raw smtplib (one connection):  {raw_rate:8.1f} messages/s  ({raw_seconds:.1f} s)")

        sink.reset()
        probe = OutboxProbe(bench)
        try:
            worker_seconds, total_seconds, stats = _worker_delivery(env, sink, probe, notices)
            counts = probe.counts()
        finally:
            probe.close()

    worker_rate = notices / worker_seconds
    ratio = worker_rate / raw_rate
    say(f"tsunagu worker + scheduler:              {worker_rate:8.1f} messages/s  ({worker_seconds:.1f} s from "
        f"the first mail; {total_seconds:.1f} s including process start-up)")
    exact = stats.mails == notices and stats.distinct_recipients == notices
    say(f"sink received {stats.mails:,} mails for {stats.distinct_recipients:,} distinct recipients "
        f"(expected {notices:,} each): {'exact, nothing sent twice' if exact else 'NOT EXACT'}")
    say(f"outbox afterwards: {_format_counts(counts)}")
    met = exact and ratio >= TARGET_RATIO
    say(f"ratio worker/raw {ratio:.1%}   target >= {TARGET_RATIO:.0%}: {verdict(met)}")
    return {
        "name": "throughput",
        "summary": f"worker {worker_rate:.0f}/s vs raw {raw_rate:.0f}/s = {ratio:.1%}"
                   + ("" if exact else " (sink count NOT exact)"),
        "met": met,
    }


def _raw_smtplib_loop(mails: list[tuple[str, list[str], bytes]], sink: CountingSink) -> float:
    """Send every pre-rendered message over one connection; return the seconds it took."""
    sink.reset()
    started = time.perf_counter()
    with smtplib.SMTP(HOST, sink.port, timeout=30) as connection:
        for envelope_from, recipients, data in mails:
            connection.sendmail(envelope_from, recipients, data)
    seconds = time.perf_counter() - started
    received = sink.stats().mails
    if received != len(mails):
        raise BenchError(f"the baseline sent {len(mails)} mails but the sink counted {received}")
    return seconds


def _worker_delivery(env: dict[str, str], sink: CountingSink, probe: OutboxProbe,
                     notices: int) -> tuple[float, float, SinkStats]:
    """Run worker and scheduler until the outbox has `notices` sent rows.

    Returns (seconds from the first mail at the sink until all were sent, seconds including process
    start-up, the sink's final counts)."""
    with Service("scheduler", ["scheduler"], env) as scheduler, Service("worker", ["worker"], env) as worker:
        launched = time.time()
        deadline = time.monotonic() + DELIVERY_TIMEOUT
        next_progress = time.monotonic() + PROGRESS_EVERY
        while True:
            sent = probe.counts().get("sent", 0)
            if sent >= notices:
                finished = time.time()
                break
            worker.check_running()
            scheduler.check_running()
            if time.monotonic() > deadline:
                raise BenchError(f"only {sent}/{notices} sent after {DELIVERY_TIMEOUT:.0f} s; "
                                 f"outbox: {_format_counts(probe.counts())}\n{worker.log_tail()}")
            if time.monotonic() >= next_progress:
                say(f"... {sent:,}/{notices:,} sent")
                next_progress += PROGRESS_EVERY
            time.sleep(POLL_INTERVAL)
        time.sleep(SETTLE)
        stats = sink.stats()
    if stats.first_arrival is None:
        raise BenchError("the outbox says sent, but the sink received nothing")
    # Both stamps are time.time() (the sink is another process); the first mail marks the worker as running.
    return finished - stats.first_arrival, finished - launched, stats


def _format_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{status} {count:,}" for status, count in sorted(counts.items())) or "empty"
