"""Several planners working on the same campaign at once (two schedulers, a retry racing the first run):
each person is still planned exactly once, by the unique key."""

import threading

import pytest
from django.db import connections

from tsunagu.messaging.actions import campaigns as campaign_actions
from tsunagu.messaging.actions import notices
from tsunagu.messaging.models import Message
from tsunagu.messaging.tests.campaign_people import campaign_for, past

pytestmark = pytest.mark.django_db(transaction=True)


def test_planners_racing_plan_each_person_once(make_company, monkeypatch):
    company, _key = make_company()
    people = [past(company, n).candidate for n in range(60)]
    campaign = campaign_for(company, people, per_hour=1000)
    monkeypatch.setattr(notices, "request_delivery", lambda: None)
    monkeypatch.setattr(campaign_actions, "PLAN_BATCH", 7)  # many batches: many chances to interleave
    barrier = threading.Barrier(4)
    errors = []

    def planner():
        try:
            barrier.wait(timeout=30)
            campaign_actions.plan_due_campaigns(batches=100)
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=planner) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    keys = list(Message.objects.filter(campaign=campaign).values_list("key", flat=True))
    assert len(keys) == 60 and len(set(keys)) == 60
    assert set(Message.objects.filter(campaign=campaign).values_list("to_email", flat=True)) == {
        f"p{n}@example.jp" for n in range(60)}
