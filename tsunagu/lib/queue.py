"""The queue as the apps see it: work is asked for by task name, and a burst of work wakes a worker once.

Actions never import a `tasks` module (tasks call actions, so that would be a cycle): they name the task,
e.g. `enqueue("tsunagu.messaging.tasks.deliver_due_messages_task")`, the name Huey registers it under
(module path and function name). Every app's tasks module is registered at start-up in every process
(core.apps.CoreConfig.ready).

Also here: Huey storage on PostgreSQL (TSUNAGU_QUEUE_URL=postgresql://...).
"""

from __future__ import annotations

import time

from django.db import transaction
from huey import Huey
from huey.contrib.sql_huey import SqlStorage
from huey.utils import normalize_time
from playhouse.db_url import connect


def PostgresHuey(name, url, **kwargs):  # noqa: N802 - used as a class by djhuey
    # peewee's "psycopg3" scheme uses the same driver as Django.
    database = connect("psycopg3://" + url.split("://", 1)[1])
    return Huey(name, storage_class=SqlStorage, database=database, **kwargs)


def _huey() -> Huey:
    from huey.contrib.djhuey import HUEY

    return HUEY


def _task_class(name: str):
    return _huey()._registry.string_to_task(name)


def enqueue(name: str, *args, delay: float | None = None) -> None:
    """Queue the task registered as `name` with these arguments (after `delay` seconds if given)."""
    huey = _huey()
    eta = normalize_time(delay=delay, utc=huey.utc) if delay is not None else None
    huey.enqueue(_task_class(name)(args, {}, eta=eta))


def enqueue_on_commit(name: str, *args) -> None:
    """Queue the task once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(lambda: enqueue(name, *args))


# --- coalesced wake-ups ------------------------------------------------------------------------------
# A burst of work (10,000 rejections, a flood of webhooks) should wake a worker once, not once per item:
# the work itself lives in our tables, and the woken task drains whatever is there. A marker in the
# queue's key-value store says "a task is already waiting"; the task takes it off when it starts, so
# anything committed after that asks for a new task. Checking the marker is a read, so a burst costs
# the queue no writes.

# If the queue lost the waiting task, its marker would block new ones: after this long it is ignored.
WAKE_STALE_SECONDS = 10.0


def request_once(key: str, name: str, *args) -> bool:
    """Queue the task `name` unless a fresh marker for `key` says one is already waiting."""
    huey = _huey()
    now = time.time()
    if _fresh(huey.get(key, peek=True), now):
        return False
    if not huey.put_if_empty(key, str(now)):
        if _fresh(huey.get(key, peek=True), now):
            return False
        huey.put(key, str(now))
    enqueue(name, *args)
    return True


def taken(key: str) -> None:
    """Called by the woken task first: from now on, new work asks for a new task."""
    _huey().get(key)


def _fresh(marker, now: float) -> bool:
    try:
        return marker is not None and now - float(marker) < WAKE_STALE_SECONDS
    except (TypeError, ValueError):
        return False
