"""lib.process_pool with real worker processes: a job past its time is killed and its worker replaced, a job
over the memory limit fails alone, results come back as plain data, a forked child gets workers of its own,
and no worker outlives its pool."""

from __future__ import annotations

import os
import time

import pytest

from tsunagu.lib import process_pool
from tsunagu.lib.process_pool import PoolSpec, ProcessPool


def alive(pid: int) -> bool:
    """Whether a process is still running (a zombie waiting for its parent counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def pool():
    pools = []

    def make(handler: str, **options) -> ProcessPool:
        pools.append(ProcessPool(PoolSpec(handler=handler, **options)))
        return pools[-1]

    yield make
    for made in pools:
        made.shutdown()


def test_a_job_past_its_time_is_killed_and_the_next_job_gets_a_fresh_worker(pool):
    sleeper = pool("time:sleep", size=1)
    assert sleeper.call(0, timeout=30) is None
    [first] = sleeper.worker_pids()
    with pytest.raises(process_pool.JobTimeout):
        sleeper.call(3600, timeout=0.2)
    assert gone(first)
    assert sleeper.worker_pids() == []
    assert sleeper.call(0, timeout=30) is None
    assert sleeper.worker_pids() != [first]


def test_a_job_over_the_memory_limit_fails_alone(pool):
    repeat = pool("operator:mul", size=1, memory_bytes=64 * 2**20)
    with pytest.raises(process_pool.JobMemory):
        repeat.call("x", 2**31, timeout=30)  # 2 GiB: far over the 64 MiB the worker may add
    assert repeat.call("x", 3, timeout=30) == "xxx"  # a fresh worker


def test_an_error_in_the_job_is_reported_and_the_worker_carries_on(pool):
    parser = pool("json:loads", size=1)
    assert parser.call('{"a": [1, "二"]}', timeout=30) == {"a": [1, "二"]}
    [pid] = parser.worker_pids()
    with pytest.raises(process_pool.JobCrashed, match="JSONDecodeError"):
        parser.call("{", timeout=30)
    assert parser.worker_pids() == [pid]
    assert parser.call("[]", timeout=30) == []


def test_a_result_that_is_not_plain_data_is_refused(pool):
    with pytest.raises(process_pool.JobCrashed, match="not plain data"):
        pool("builtins:set", size=1).call([1, 2], timeout=30)


def test_threads_share_the_workers_up_to_the_pool_size(pool):
    import threading

    sleeper = pool("time:sleep", size=2)
    errors = []

    def sleep_a_little():
        try:
            sleeper.call(0.2, timeout=30)
        except process_pool.PoolError as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sleep_a_little) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(sleeper.worker_pids()) == 2


def test_a_caller_that_cannot_wait_for_a_busy_pool_is_told_so(pool):
    import threading

    sleeper = pool("time:sleep", size=1)
    sleeper.call(0, timeout=30)
    busy = threading.Thread(target=sleeper.call, args=(1.0,), kwargs={"timeout": 30})
    busy.start()
    try:
        time.sleep(0.2)
        with pytest.raises(process_pool.PoolBusy):
            sleeper.call(0, timeout=30, wait=0.01)
    finally:
        busy.join()


def test_shutdown_stops_every_worker(pool):
    sleeper = pool("time:sleep", size=1)
    sleeper.call(0, timeout=30)
    [pid] = sleeper.worker_pids()
    sleeper.shutdown()
    assert gone(pid)
    with pytest.raises(process_pool.PoolUnavailable):
        sleeper.call(0, timeout=30)


def test_a_forked_child_gets_its_own_workers_and_leaves_the_parents_alone():
    spec = PoolSpec(handler="os:getppid", size=1)
    shared = process_pool.shared_pool(spec)
    try:
        assert shared.call(timeout=30) == os.getpid()
        [parent_worker] = shared.worker_pids()
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the forked child, reported through its exit status
            try:
                mine = process_pool.shared_pool(spec)
                ok = mine is not shared and mine.call(timeout=30) == os.getpid()
                mine.shutdown()
            except BaseException:
                ok = False
            os._exit(0 if ok else 1)
        _pid, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert shared.worker_pids() == [parent_worker] and alive(parent_worker)
        assert shared.call(timeout=30) == os.getpid()
    finally:
        process_pool.shutdown_pools()
