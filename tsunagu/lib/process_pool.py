"""A small pool of long-lived worker processes that run untrusted work under hard limits.

Something that a single C-level operation can keep busy (rendering a user's template, for instance) cannot be
bounded inside the process that runs it: Python checks nothing while one operation runs, and that operation
holds the GIL, so every other thread of the process (the web server's, a worker's heartbeat) stalls with it.
A ProcessPool runs such jobs in separate processes instead:

- each job has a wall-clock limit: a worker that has not answered by then is killed (SIGKILL) and replaced on
  the next job, and the caller gets JobTimeout;
- each worker limits its own address space (RLIMIT_AS: what it had after set-up plus `memory_bytes`), so a job
  that allocates too much gets MemoryError there (JobMemory here) instead of swapping the machine, and its CPU
  time (RLIMIT_CPU, kept a little ahead of each job), so a worker whose parent died cannot spin on for long;
- a worker answers in JSON, never in pickle: whatever a job manages inside it, it can hand back plain data only.

Workers are started lazily (`python -m tsunagu.lib.process_pool`, a fresh interpreter: nothing of the parent's
state, and not the parent's __main__ re-imported as multiprocessing's spawn would), shared by the threads of a
process, and stopped at exit. A worker exits by itself when its parent goes away (its pipe closes). After
os.fork() the child process forgets the parent's workers (shared_pool starts its own when first needed).
"""

from __future__ import annotations

import atexit
import importlib
import json
import math
import os
import pickle
import select
import signal
import subprocess
import sys
import threading
import time
import weakref
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

START_TIMEOUT = 30.0  # a fresh worker (a new interpreter with its imports) must be ready within this
MAX_REPLY_BYTES = 16 * 2**20


class PoolError(Exception):
    """A job did not produce a result (the subclass says why)."""


class JobTimeout(PoolError):
    """The job ran past its time and its worker was killed."""


class JobMemory(PoolError):
    """The job went over the worker's memory limit."""


class JobCrashed(PoolError):
    """The worker died during the job, or answered with something that is not a result."""


class PoolBusy(PoolError):
    """Every worker stayed busy for as long as the caller could wait."""


class PoolUnavailable(PoolError):
    """No worker could be started."""


@dataclass(frozen=True)
class PoolSpec:
    """What the workers run: `handler` ("module:function") for each job, after `setup` ("module:function",
    called once with `setup_args`) in each new worker. Both must return or accept plain data only."""

    handler: str
    setup: str = ""
    setup_args: tuple = ()
    size: int = 2
    memory_bytes: int = 512 * 2**20


class _Worker:
    def __init__(self, spec: PoolSpec):
        child_read, parent_write = os.pipe()
        parent_read, child_write = os.pipe()
        # The package root on the path: the worker imports tsunagu however the parent found it.
        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tsunagu.lib.process_pool", str(child_read), str(child_write)],
                pass_fds=(child_read, child_write), stdin=subprocess.DEVNULL, env=env)
        finally:
            os.close(child_read)
            os.close(child_write)
        self.requests = Connection(parent_write, readable=False)
        self.replies = Connection(parent_read, writable=False)
        self._poller = select.poll()  # one for the worker's life: Connection.poll() builds a selector each time
        self._poller.register(parent_read, select.POLLIN)
        self.ready = False
        self.requests.send_bytes(pickle.dumps(spec))

    def _answered_within(self, seconds: float) -> bool:
        return bool(self._poller.poll(max(seconds, 0) * 1000))

    def wait_ready(self) -> None:
        if not self._answered_within(START_TIMEOUT):
            raise PoolUnavailable(f"the worker did not start within {START_TIMEOUT:g} s")
        if json.loads(self.replies.recv_bytes(MAX_REPLY_BYTES)) != {"ready": True}:
            raise PoolUnavailable("the worker did not start")
        self.ready = True

    def run(self, args: tuple, timeout: float):
        self.requests.send_bytes(pickle.dumps((args, math.ceil(timeout) + 2)))
        if not self._answered_within(timeout):
            raise JobTimeout(f"no result within {timeout:g} s")
        reply = json.loads(self.replies.recv_bytes(MAX_REPLY_BYTES))
        if "ok" in reply:
            return reply["ok"]
        if reply.get("memory"):
            raise JobMemory("the job went over the memory limit")
        raise JobCrashed(reply.get("error", "no result"))

    def close(self, *, kill: bool) -> None:
        """Stop the worker: closing its pipe ends it; a busy or stuck one is killed. Always reaped."""
        for connection in (self.requests, self.replies):
            connection.close()
        if kill:
            self.process.kill()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def forget(self) -> None:
        """In a forked child: drop this copy of the pipes, leave the parent's worker alone."""
        for connection in (self.requests, self.replies):
            connection.close()
        self.process.returncode = 0  # not our child: never wait for it


class ProcessPool:
    def __init__(self, spec: PoolSpec):
        self.spec = spec
        self._lock = threading.Condition()
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._closed = False
        _every_pool.add(self)

    def call(self, *args, timeout: float, wait: float = 15.0):
        """Run the handler with `args` (picklable) in a worker; its JSON result, or a PoolError."""
        worker = self._checkout(wait)
        healthy = False
        try:
            if not worker.ready:
                worker.wait_ready()
            result = worker.run(args, timeout)
            healthy = True
            return result
        except JobCrashed:
            healthy = worker.process.poll() is None  # the job raised; the worker itself is fine
            raise
        except (EOFError, OSError, ValueError) as exc:  # a dead worker; ValueError: a reply that does not parse
            raise JobCrashed(f"{type(exc).__name__}: {exc}") from exc
        finally:
            self._checkin(worker, healthy)

    def _checkout(self, wait: float) -> _Worker:
        deadline = time.monotonic() + wait
        with self._lock:
            while True:
                if self._closed:
                    raise PoolUnavailable("the pool is shut down")
                if self._idle:
                    return self._idle.pop()
                if len(self._all) < self.spec.size:
                    try:
                        worker = _Worker(self.spec)
                    except OSError as exc:
                        raise PoolUnavailable(f"cannot start a worker: {exc}") from exc
                    self._all.add(worker)
                    return worker
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PoolBusy(f"every worker stayed busy for {wait:g} s")
                self._lock.wait(remaining)

    def _checkin(self, worker: _Worker, healthy: bool) -> None:
        with self._lock:
            keep = healthy and not self._closed
            if keep:
                self._idle.append(worker)
            else:
                self._all.discard(worker)
            self._lock.notify()
        if not keep:
            worker.close(kill=True)  # outside the lock: reaping can take a moment

    def worker_pids(self) -> list[int]:
        with self._lock:
            return sorted(worker.process.pid for worker in self._all)

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            idle, busy = list(self._idle), [w for w in self._all if w not in self._idle]
            self._idle.clear()
            self._all.clear()
            self._lock.notify_all()
        for worker in idle:
            worker.close(kill=False)
        for worker in busy:
            worker.close(kill=True)

    def _forget(self) -> None:
        for worker in self._all:
            worker.forget()
        self._all.clear()
        self._idle.clear()
        self._closed = True


# --- one pool per spec and process ---------------------------------------------------------------

_pools: dict[PoolSpec, ProcessPool] = {}
_pools_lock = threading.Lock()
_every_pool: weakref.WeakSet[ProcessPool] = weakref.WeakSet()  # shared or not: what a forked child forgets


def shared_pool(spec: PoolSpec) -> ProcessPool:
    """This process's pool for `spec`, made on first use."""
    with _pools_lock:
        pool = _pools.get(spec)
        if pool is None:
            pool = _pools[spec] = ProcessPool(spec)
        return pool


def shutdown_pools() -> None:
    """Stop every pool of this process (at exit, too)."""
    with _pools_lock:
        _pools.clear()
    for pool in list(_every_pool):
        pool.shutdown()


def _after_fork_in_child() -> None:
    global _pools_lock
    _pools_lock = threading.Lock()  # another thread may have held it at the fork
    _pools.clear()
    # Our copies of the parent's pipes would keep its workers from seeing it exit: close them, kill nothing.
    for pool in list(_every_pool):
        pool._forget()


atexit.register(shutdown_pools)
os.register_at_fork(after_in_child=_after_fork_in_child)


# --- the worker process ----------------------------------------------------------------------------

def _resolve(name: str):
    module, _sep, attribute = name.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _limit_memory(extra_bytes: int) -> None:
    try:
        import resource

        with open("/proc/self/statm") as statm:
            current = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = current + extra_bytes
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, OSError, ValueError):
        pass  # not Linux: the wall-clock kill still bounds the job


_CPU_AHEAD = 30  # seconds of CPU time granted beyond a job's own, so that most jobs need no system call
_cpu_limit = 0.0


def _limit_cpu(seconds: int) -> None:
    """Keep RLIMIT_CPU a little ahead of what a job may use: a worker whose parent died (nobody left to kill
    it) and that spins in one operation is ended by SIGXCPU within about _CPU_AHEAD seconds."""
    global _cpu_limit
    used = time.process_time()
    if used + seconds <= _cpu_limit:
        return
    try:
        import resource

        _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        limit = math.ceil(used) + seconds + _CPU_AHEAD
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (limit, hard))
        _cpu_limit = limit
    except (ImportError, OSError, ValueError):
        _cpu_limit = float("inf")


def _worker_main(read_fd: int, write_fd: int) -> int:
    # Ctrl-C in a terminal reaches the whole process group: the parent decides when its workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests = Connection(read_fd, writable=False)
    replies = Connection(write_fd, readable=False)
    spec: PoolSpec = pickle.loads(requests.recv_bytes())
    if spec.setup:
        _resolve(spec.setup)(*spec.setup_args)
    handler = _resolve(spec.handler)
    _limit_memory(spec.memory_bytes)
    replies.send_bytes(json.dumps({"ready": True}).encode())
    while True:
        try:
            args, cpu_seconds = pickle.loads(requests.recv_bytes())
        except EOFError:
            return 0  # the parent closed the pipe or died
        _limit_cpu(cpu_seconds)
        try:
            reply = {"ok": handler(*args)}
        except MemoryError:
            reply = {"memory": True}
        except Exception as exc:  # noqa: BLE001 - reported to the caller as plain data
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        try:
            payload = json.dumps(reply, ensure_ascii=False).encode()
        except (TypeError, ValueError) as exc:
            payload = json.dumps({"error": f"the result is not plain data: {exc}"}).encode()
        except MemoryError:
            payload = b'{"memory": true}'
        replies.send_bytes(payload)
        if "memory" in reply:
            return 0  # a process that ran out of memory may be left half-broken: the next job gets a fresh one


if __name__ == "__main__":
    sys.exit(_worker_main(int(sys.argv[1]), int(sys.argv[2])))
