"""HTTP load against a running `tsunagu serve`: keep-alive client threads, for a fixed time, in their own process.

A benchmark describes one measured phase as a LoadPlan (which requests each thread sends, which status
counts as answered) and gets back a LoadResult: answers by status, latencies, client and server CPU. A plan
whose clients follow a script rather than a list of requests (e.g. a form, then a link from a mail)
overrides LoadPlan.generate; run_load runs it in the load process all the same.
"""

from __future__ import annotations

import http.client
import itertools
import math
import multiprocessing
import os
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, NamedTuple

from bench.harness import HOST, BenchError, Service, percentile, say

THREADS = 8  # concurrent client connections, each keep-alive
DURATION = 10.0  # seconds per measured phase
WARMUP_REQUESTS = 50  # per phase kind, sequential, not timed (first-request imports, connection set-up)
HTTP_TIMEOUT = 30.0
# A phone browser: neither a scanner nor a machine, so what it opens counts as a person.
PHONE_BROWSER = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/17.5 Mobile/15E148 Safari/604.1")
# How long run_load waits for the load process beyond the phase itself (start-up, building requests).
SETUP_TIMEOUT = 120.0


class Request(NamedTuple):
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = {}  # shared default: never mutated, http.client only reads it


@dataclass(frozen=True, kw_only=True)
class LoadPlan:
    """What one measured phase sends. Instances are pickled to the load process; a subclass may build
    its requests there (before the clock starts) rather than carry them, e.g. thousands of signed bodies."""

    # True: each thread cycles through its requests until the deadline. False: each request is sent at
    # most once, and a thread that runs out stops early (counted in LoadResult.exhausted_threads).
    repeat: ClassVar[bool] = True

    port: int
    name: str  # for messages: "healthz", "click", ...
    expected_status: int = 200  # the answer that counts (and whose latency is recorded)
    threads: int = THREADS
    duration: float = DURATION

    def requests(self, thread: int, threads: int) -> Iterable[Request]:
        """The requests of client `thread` (0-based) out of `threads`, in order; warm-up uses (0, 1)."""
        raise NotImplementedError

    def generate(self) -> LoadResult:
        """The phase itself, in the load process: by default generate_load's keep-alive threads."""
        return generate_load(self)


@dataclass(frozen=True, kw_only=True)
class RoundRobin(LoadPlan):
    """Fixed requests shared out between the threads; a thread with no share of its own sends them all."""

    send: tuple[Request, ...]

    def requests(self, thread: int, threads: int) -> Sequence[Request]:
        return self.send[thread::threads] or self.send


@dataclass
class LoadResult:
    expected: int = 200
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # of expected answers only; sorted once merged
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)  # connection errors etc.
    exhausted_threads: int = 0
    sample_failure: str = ""  # the first unexpected answer
    sample_location: str = ""  # the first expected answer that had a Location header: "path… → location"
    client_cpu: float = 0.0  # seconds of CPU the load process used while the threads ran
    server_cpu: float = math.nan  # seconds of CPU the server process used meanwhile (Linux /proc)
    server_tree_cpu: float = math.nan  # the same with its child processes (the queue workers of `tsunagu serve`)

    @property
    def ok(self) -> int:
        return self.statuses.get(self.expected, 0)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else math.nan

    def p(self, fraction: float) -> float:
        """Latency percentile in milliseconds."""
        return percentile(self.latencies, fraction) * 1000


# The load generator runs in its own process (multiprocessing, "spawn"), not in threads of the bench
# process: the client threads are pure Python (http.client) and share one GIL, and the bench process
# also holds the probe connections; in a separate process the client's GIL is its own, nothing else in
# the bench competes with it, and its CPU use can be reported. One process is enough: a client request
# costs a small fraction of what the server spends on it, and on a small machine more client processes
# would only take CPU away from the server under test.
def generate_load(plan: LoadPlan) -> LoadResult:
    prepared = [list(plan.requests(thread, plan.threads)) for thread in range(plan.threads)]
    barrier = threading.Barrier(plan.threads + 1)
    results = [LoadResult(expected=plan.expected_status) for _ in range(plan.threads)]
    finished = [0.0] * plan.threads
    deadline_box: list[float] = []

    def client(index: int) -> None:
        result, mine = results[index], prepared[index]
        connection = http.client.HTTPConnection(HOST, plan.port, timeout=HTTP_TIMEOUT)
        want_location = True  # only the thread's first expected answer is looked at
        barrier.wait()
        deadline = deadline_box[0]
        n = 0
        try:
            while time.perf_counter() < deadline:
                if n == len(mine):
                    if not plan.repeat or not mine:
                        result.exhausted_threads = 1
                        break
                    n = 0
                method, path, body, headers = mine[n]
                n += 1
                sent = time.perf_counter()
                try:
                    connection.request(method, path, body=body, headers=headers)
                    response = connection.getresponse()
                    answer = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    result.errors[type(exc).__name__] += 1
                    connection.close()  # the next request reconnects
                    continue
                elapsed = time.perf_counter() - sent
                result.statuses[response.status] += 1
                if response.status == plan.expected_status:
                    result.latencies.append(elapsed)
                    if want_location:
                        want_location = False
                        if location := response.getheader("Location"):
                            result.sample_location = f"{path[:40]}… → {location}"
                elif not result.sample_failure:
                    result.sample_failure = f"{response.status}: {answer[:300]!r}"
                if response.will_close:
                    connection.close()
        finally:
            finished[index] = time.perf_counter()
            connection.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(plan.threads)]
    for thread in threads:
        thread.start()
    cpu_started = time.process_time()
    started = time.perf_counter()
    deadline_box.append(started + plan.duration)
    barrier.wait()  # the clock starts once every request is built and every thread is ready
    for thread in threads:
        thread.join(plan.duration + HTTP_TIMEOUT + 10)
    total = LoadResult(expected=plan.expected_status, seconds=max(finished) - started,
                       client_cpu=time.process_time() - cpu_started)
    for result in results:
        total.latencies.extend(result.latencies)
        total.statuses.update(result.statuses)
        total.errors.update(result.errors)
        total.exhausted_threads += result.exhausted_threads
        total.sample_failure = total.sample_failure or result.sample_failure
        total.sample_location = total.sample_location or result.sample_location
    total.latencies.sort()
    return total


def run_load(plan: LoadPlan, server: Service) -> LoadResult:
    """Run one phase in a fresh load process; fail early if the server dies or the phase never ends."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        pool.apply(time.sleep, (0,))  # the pool process is up before the server's CPU is read
        cpu_before, tree_before = process_cpu(server.process.pid), process_tree_cpu(server.process.pid)
        pending = pool.apply_async(_generate, (plan,))
        deadline = time.monotonic() + plan.duration + HTTP_TIMEOUT + SETUP_TIMEOUT
        while not pending.ready():
            server.check_running()
            if time.monotonic() > deadline:
                raise BenchError(f"the load generator for {plan.name} did not finish")
            pending.wait(0.5)
        result = pending.get()
        result.server_cpu = process_cpu(server.process.pid) - cpu_before
        result.server_tree_cpu = process_tree_cpu(server.process.pid) - tree_before
        return result


def _generate(plan: LoadPlan) -> LoadResult:
    return plan.generate()


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads), from /proc; NaN where there is none."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return math.nan


def process_tree_cpu(pid: int) -> float:
    """process_cpu of a process and of its living descendants (/proc/<pid>/task/*/children)."""
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, ValueError):
            pass
    return process_cpu(pid) + sum(process_tree_cpu(child) for child in children)


def warm_up(plan: LoadPlan, count: int = WARMUP_REQUESTS) -> int:
    """Sequential requests before the clock (imports on first use, connection set-up), as one thread of one.

    Returns how many were answered as expected; any other answer raises BenchError.
    """
    requests = plan.requests(0, 1)
    if plan.repeat:
        requests = itertools.cycle(requests)
    connection = http.client.HTTPConnection(HOST, plan.port, timeout=HTTP_TIMEOUT)
    ok = 0
    try:
        for method, path, body, headers in itertools.islice(requests, count):
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            if response.status != plan.expected_status:
                raise BenchError(f"warm-up {plan.name} answered {response.status}: {answer[:500]!r}")
            ok += 1
    finally:
        connection.close()
    return ok


# --- reporting ---------------------------------------------------------------------------------------

def say_result(label: str, result: LoadResult) -> None:
    """One phase on one line: answers, rate, p50/p99, CPU per request, and anything unexpected."""
    extra = ""
    other = {status: n for status, n in result.statuses.items() if status != result.expected}
    if other or result.errors:
        extra = f"  UNEXPECTED: {dict(other)} errors {dict(result.errors)}; first: {result.sample_failure}"
    answers = max(1, sum(result.statuses.values()))
    say(f"{label:<28} {result.ok:7,} {result.expected} in {result.seconds:5.1f} s = {result.rate:8,.0f} /s   "
        f"p50 {result.p(0.50):6.1f} ms   p99 {result.p(0.99):6.1f} ms   CPU/request: server "
        f"{result.server_cpu / answers * 1e6:4.0f} µs, client {result.client_cpu / answers * 1e6:4.0f} µs{extra}")


def bare_view_baseline(before: LoadResult, after: LoadResult) -> float:
    """The baseline rate: the mean of the bare view measured before and after; says so if the two disagree."""
    baseline = (before.rate + after.rate) / 2
    say(f"bare view (mean of before/after): {baseline:8,.0f} req/s")
    if min(before.rate, after.rate) < 0.67 * max(before.rate, after.rate):
        say("  note: the two baseline runs differ by more than 1.5x - something else was using this machine's "
            "CPU or disk; the ratio is unreliable, re-run")
    return baseline
