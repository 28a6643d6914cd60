"""Work is queued by task name: every name the code uses is a registered task, and an unknown one is refused."""

import re
from pathlib import Path

import pytest
from huey.contrib.djhuey import HUEY
from huey.exceptions import HueyException

import tsunagu
from tsunagu.lib import queue

ROOT = Path(tsunagu.__file__).parent
TASK_NAME = re.compile(r"""["'](tsunagu\.[a-z_]+\.tasks\.[a-z_]+)["']""")


def task_names_in_the_code() -> set[str]:
    names = set()
    for path in ROOT.rglob("*.py"):
        if "tests" not in path.relative_to(ROOT).parts:
            names.update(TASK_NAME.findall(path.read_text()))
    return names


def test_every_task_name_in_the_code_is_a_registered_task():
    names = task_names_in_the_code()
    assert names, "the code queues its work by task name"
    registered = set(HUEY._registry._registry)
    assert names <= registered, f"not registered: {sorted(names - registered)}"


def test_an_unknown_task_name_is_refused_and_queues_nothing():
    with pytest.raises(HueyException):
        queue.enqueue("tsunagu.messaging.tasks.no_such_task")
    assert HUEY.pending_count() == 0


def test_request_once_queues_one_task_until_it_is_taken(monkeypatch):
    queued = []
    monkeypatch.setattr(queue, "enqueue", lambda name, *args: queued.append((name, args)))
    key = "tsunagu.test.wake"
    HUEY.get(key)
    assert queue.request_once(key, "tsunagu.intake.tasks.poll_connection_task", 7) is True
    assert queue.request_once(key, "tsunagu.intake.tasks.poll_connection_task", 7) is False
    assert queued == [("tsunagu.intake.tasks.poll_connection_task", (7,))]
    queue.taken(key)
    assert queue.request_once(key, "tsunagu.intake.tasks.poll_connection_task", 7) is True
    assert len(queued) == 2
