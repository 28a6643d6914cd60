"""Benchmark (b): how fast the queue worker delivers due notices, relative to raw smtplib.

100,000 personalised rejection notices (each its own name and address, tracked links, unsubscribe
footer) are planned (delay 0, window always) and handed to the queue while no worker runs. The
baseline sends the same 100,000 messages, pre-rendered to bytes, over one smtplib connection
to the same SMTP sink: the speed of the wire and the sink, with no Tsunagu in the way. It runs once
before and once after the worker, and the ratio uses the mean (this machine's speed drifts). For the
system, `tsunagu worker` and `tsunagu scheduler` are started and the clock runs from the first mail
reaching the sink until the outbox says all 100,000 are sent. The sink runs in its own process, so it
costs the same for both sides; it also proves that nothing was sent twice.
"""

from __future__ import annotations

import pickle
import resource
import smtplib
import time
from dataclasses import dataclass
from pathlib import Path

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

NOTICES = 100_000
TARGET_RATIO = 0.70
# Seconds the worker gets; if it is not done by then, the rate is taken over what it sent (bounds the run on a
# slow machine).
DELIVERY_TIMEOUT = 900.0
# Recording 100,000 rejections one by one through the intake action takes a few minutes.
SETUP_TIMEOUT = 2400.0
POLL_INTERVAL = 0.1
PROGRESS_EVERY = 15.0
SETTLE = 2.0  # after the last "sent", watch the sink this long for a mail sent twice


@dataclass(frozen=True)
class RawRun:
    seconds: float
    cpu_seconds: float  # this process's CPU: the client side of the loop


@dataclass(frozen=True)
class WorkerRun:
    sent: int  # rows the outbox had as sent when the clock stopped (all of them, unless it timed out)
    seconds: float  # from the first mail at the sink until the outbox said all were sent
    seconds_with_startup: float  # from launching the processes
    cpu_seconds: float  # worker and scheduler processes together, start-up included
    sink: SinkStats


def run(notices: int = NOTICES) -> dict:
    section(f"(b) throughput: worker delivering {notices:,} notices vs raw smtplib, same SMTP sink")
    with bench_environment("throughput") as bench, CountingSink() as sink:
        env = bench.with_env(TSUNAGU_EMAIL_URL=sink.url)
        run_tsunagu(env, "manage", "migrate", "--verbosity", "0")
        run_tsunagu(env, "company", "create", "--name", "株式会社ベンチ", "--slug", "bench",
                    "--delay-minutes", "0", "--send-window", "always")
        mails = _plan_and_render(env, bench.data_dir / "notices.pickle", notices)

        # The baseline runs before and after the worker, and the ratio uses their mean: on a shared machine
        # the speed drifts over minutes, and bracketing cancels most of that drift.
        raw_before = _raw_smtplib_loop(mails, sink)
        sink.reset()
        probe = OutboxProbe(bench)
        try:
            worker = _worker_delivery(env, sink, probe, notices)
            counts = probe.counts()
        finally:
            probe.close()
        raw_after = _raw_smtplib_loop(mails, sink)
    return _report(notices, raw_before, raw_after, worker, counts)


def _plan_and_render(env: dict[str, str], mails_file: Path, notices: int) -> list[tuple[str, list[str], bytes]]:
    started = time.monotonic()
    made = last_json_line(run_python_module(env, "bench.make_notices", "--company", "bench",
                                            "--count", str(notices), "--out", str(mails_file),
                                            timeout=SETUP_TIMEOUT))
    if made["rendered"] != notices:
        raise BenchError(f"expected {notices} due notices, the outbox has {made['rendered']}")
    say(f"set-up: {notices:,} rejections recorded in {made['create_seconds']:.0f} s, their notices rendered "
        f"in {made['render_seconds']:.0f} s (average {made['bytes'] / notices / 1024:.1f} KiB); "
        f"{time.monotonic() - started:.0f} s in all")
    with open(mails_file, "rb") as handle:
        return pickle.load(handle)


def _raw_smtplib_loop(mails: list[tuple[str, list[str], bytes]], sink: CountingSink) -> RawRun:
    """Send every pre-rendered message over one connection."""
    sink.reset()
    cpu_started = time.process_time()
    started = time.perf_counter()
    with smtplib.SMTP(HOST, sink.port, timeout=30) as connection:
        for envelope_from, recipients, data in mails:
            connection.sendmail(envelope_from, recipients, data)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    received = sink.stats().mails
    if received != len(mails):
        raise BenchError(f"the baseline sent {len(mails)} mails but the sink counted {received}")
    return RawRun(seconds, cpu_seconds)


def _worker_delivery(env: dict[str, str], sink: CountingSink, probe: OutboxProbe, notices: int) -> WorkerRun:
    """Run worker and scheduler until the outbox has `notices` sent rows (or DELIVERY_TIMEOUT passes)."""
    # CPU of child processes is known once they are reaped, i.e. after both services have stopped.
    cpu_before = _children_cpu_seconds()
    with Service("scheduler", ["scheduler"], env) as scheduler, Service("worker", ["worker"], env) as worker:
        launched = time.time()
        deadline = time.monotonic() + DELIVERY_TIMEOUT
        next_progress = time.monotonic() + PROGRESS_EVERY
        while True:
            sent = probe.counts().get("sent", 0)
            if sent >= notices or time.monotonic() > deadline:
                finished = time.time()
                break
            worker.check_running()
            scheduler.check_running()
            if time.monotonic() >= next_progress:
                say(f"... {sent:,}/{notices:,} sent")
                next_progress += PROGRESS_EVERY
            time.sleep(POLL_INTERVAL)
        time.sleep(SETTLE)
        stats = sink.stats()
    cpu_seconds = _children_cpu_seconds() - cpu_before
    if stats.first_arrival is None:
        raise BenchError("the outbox says sent, but the sink received nothing")
    # Both stamps are time.time() (the sink is another process); the first mail marks the worker as running.
    return WorkerRun(sent, finished - stats.first_arrival, finished - launched, cpu_seconds, stats)


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _report(notices: int, raw_before: RawRun, raw_after: RawRun, worker: WorkerRun, counts: dict[str, int]) -> dict:
    for label, raw in (("before", raw_before), ("after", raw_after)):
        say(f"{'raw smtplib, one connection, ' + label + ':':<40}{notices / raw.seconds:8.1f} messages/s  "
            f"({raw.seconds:.1f} s; client CPU {raw.cpu_seconds / notices * 1000:.2f} ms/message)")
    raw_rate = (notices / raw_before.seconds + notices / raw_after.seconds) / 2
    worker_rate = worker.sent / worker.seconds
    ratio = worker_rate / raw_rate
    complete = worker.sent == notices
    say(f"{'tsunagu worker + scheduler:':<40}{worker_rate:8.1f} messages/s  "
        f"({worker.seconds:.1f} s from the first mail, {worker.seconds_with_startup:.1f} s with start-up; "
        f"worker and scheduler CPU {worker.cpu_seconds / max(worker.sent, 1) * 1000:.2f} ms/message)")
    if not complete:
        say(f"INCOMPLETE: {worker.sent:,}/{notices:,} sent within {DELIVERY_TIMEOUT:.0f} s; the rate is over those")
    # Every notice has its own recipient, so a recipient seen twice is a mail sent twice.
    once_each = worker.sink.mails == worker.sink.distinct_recipients
    exact = once_each and (worker.sink.mails == notices or not complete)
    expected = f"expected {notices:,} each" if complete else "expected one mail per recipient"
    say(f"sink received {worker.sink.mails:,} mails for {worker.sink.distinct_recipients:,} distinct recipients "
        f"({expected}): {'exact, nothing sent twice' if exact else 'NOT EXACT'}")
    say(f"outbox afterwards: {_format_counts(counts)}")
    met = complete and exact and ratio >= TARGET_RATIO
    say(f"ratio worker/raw (raw = mean of before and after, {raw_rate:.1f} messages/s): {ratio:.1%}   "
        f"target >= {TARGET_RATIO:.0%}: {verdict(met)}")
    problems = [text for failed, text in ((not complete, "incomplete"), (not exact, "sink count NOT exact")) if failed]
    return {
        "name": "throughput",
        "summary": f"worker {worker_rate:.0f}/s vs raw {raw_rate:.0f}/s = {ratio:.1%}"
                   + (f" ({', '.join(problems)})" if problems else ""),
        "met": met,
    }


def _format_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{status} {count:,}" for status, count in sorted(counts.items())) or "empty"
