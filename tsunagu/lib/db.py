"""SQLite admits one writer at a time. On the hot path of webhook requests, two helpers keep that from
turning into latency (both do nothing on PostgreSQL, which takes concurrent writers):

- `serialized_writes()`: request threads of one process take turns on a Python lock. A thread that
  finds the database locked would otherwise sleep in SQLite's busy handler, in steps of up to tens of
  milliseconds, even when the lock frees sooner. Each write also stamps a file in the data folder.
- `yield_to_requests()`: a queue worker about to start a long write transaction first waits for a
  quiet moment, when no request is writing or waiting to (a shared `flock` each holds meanwhile) and
  none has written for QUIET_SECONDS (the stamp's age), across processes. Requests answer ATSs that time out and retry; the worker's processing can wait. It
  waits MAX_YIELD_SECONDS at most, so a flood of requests cannot stall it.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from contextlib import contextmanager, nullcontext
from functools import cache
from pathlib import Path

from django.conf import settings
from django.db import connection

_SQLITE_WRITER = threading.Lock()
QUIET_SECONDS = 0.02
MAX_YIELD_SECONDS = 0.5


def _on_sqlite() -> bool:
    return connection.vendor == "sqlite"


@cache
def _stamp() -> Path:
    path = settings.DATA_DIR / "request-writes.stamp"
    path.touch(exist_ok=True)
    return path


def serialized_writes():
    return _request_write() if _on_sqlite() else nullcontext()


@contextmanager
def _request_write():
    # Held from before waiting for the lock until written: a worker sees a request waiting, not only
    # one that has written (a request stuck behind the worker's transaction would otherwise look quiet).
    descriptor = _writing_file()
    fcntl.flock(descriptor, fcntl.LOCK_SH)
    try:
        with _SQLITE_WRITER:
            yield
    finally:
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        os.utime(_stamp())


def _requests_writing() -> bool:
    descriptor = _writing_file()
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(descriptor, fcntl.LOCK_UN)
    return False


_thread_files = threading.local()


def _writing_file() -> int:
    # One open file per thread: a flock belongs to the open file, so threads sharing one would share it.
    descriptor = getattr(_thread_files, "descriptor", None)
    if descriptor is None:
        path = settings.DATA_DIR / "request-writes.lock"
        descriptor = _thread_files.descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    return descriptor


def yield_to_requests(*, quiet: float = QUIET_SECONDS, max_seconds: float = MAX_YIELD_SECONDS) -> float:
    """Wait until requests have not written for `quiet` seconds (at most max_seconds); returns the wait."""
    if not _on_sqlite():
        return 0.0
    started = time.time()
    while True:
        now = time.time()
        idle = 0.0 if _requests_writing() else now - _stamp().stat().st_mtime
        if idle >= quiet or now - started >= max_seconds:
            return now - started
        time.sleep(min(quiet - idle, max_seconds - (now - started)) + 0.001)
