"""Huey storage on PostgreSQL (TSUNAGU_QUEUE_URL=postgresql://...), and coalesced wake-ups of workers."""

import time

from huey import Huey
from huey.contrib.sql_huey import SqlStorage
from playhouse.db_url import connect


def PostgresHuey(name, url, **kwargs):  # noqa: N802 - used as a class by djhuey
    # peewee's "psycopg3" scheme uses the same driver as Django.
    database = connect("psycopg3://" + url.split("://", 1)[1])
    return Huey(name, storage_class=SqlStorage, database=database, **kwargs)


# --- coalesced wake-ups ------------------------------------------------------------------------------
# A burst of work (10,000 rejections, a flood of webhooks) should wake a worker once, not once per item:
# the work itself lives in our tables, and the woken task drains whatever is there. A marker in the
# queue's key-value store says "a task is already waiting"; the task takes it off when it starts, so
# anything committed after that asks for a new task. Checking the marker is a read, so a burst costs
# the queue no writes.

# If the queue lost the waiting task, its marker would block new ones: after this long it is ignored.
WAKE_STALE_SECONDS = 10.0


def request_once(key: str, enqueue) -> bool:
    """Call `enqueue()` (which queues the task) unless a fresh marker for `key` says one is waiting."""
    from huey.contrib.djhuey import HUEY

    now = time.time()
    if _fresh(HUEY.get(key, peek=True), now):
        return False
    if not HUEY.put_if_empty(key, str(now)):
        if _fresh(HUEY.get(key, peek=True), now):
            return False
        HUEY.put(key, str(now))
    enqueue()
    return True


def taken(key: str) -> None:
    """Called by the woken task first: from now on, new work asks for a new task."""
    from huey.contrib.djhuey import HUEY

    HUEY.get(key)


def _fresh(marker, now: float) -> bool:
    try:
        return marker is not None and now - float(marker) < WAKE_STALE_SECONDS
    except (TypeError, ValueError):
        return False
