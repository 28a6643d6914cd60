"""The SQLite write-priority helpers: requests take turns; a worker waits for a quiet moment, boundedly."""

import os
import threading

import pytest
from django.db import connection

from tsunagu.lib import db

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="only SQLite has one writer at a time")


def test_a_worker_waits_while_requests_are_writing_and_not_when_they_are_quiet():
    with db.serialized_writes():
        pass  # a request just wrote
    assert db.yield_to_requests(quiet=0.3, max_seconds=2) >= 0.2
    os.utime(db._stamp(), (0, 0))  # nothing written for a long time
    assert db.yield_to_requests(quiet=0.3, max_seconds=2) == pytest.approx(0, abs=0.05)


def test_a_flood_of_requests_cannot_stall_the_worker_beyond_its_limit():
    stop, writing = threading.Event(), threading.Event()

    def flood():
        while not stop.is_set():
            with db.serialized_writes():
                pass
            writing.set()

    writer = threading.Thread(target=flood)
    writer.start()
    assert writing.wait(5)
    try:
        waited = db.yield_to_requests(quiet=0.05, max_seconds=0.3)
    finally:
        stop.set()
        writer.join()
    assert 0.25 <= waited < 1.0


def test_request_writes_take_turns():
    inside, overlaps = [], []

    def write():
        for _ in range(200):
            with db.serialized_writes():
                inside.append(1)
                if len(inside) > 1:
                    overlaps.append(len(inside))
                inside.pop()

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not overlaps
