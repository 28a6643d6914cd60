"""Several workers draining the outbox at once: every message is sent exactly once."""

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from tsunagu.intake.actions.events import record_application_event
from tsunagu.intake.events import IncomingApplicationEvent
from tsunagu.messaging.actions import delivery, notices
from tsunagu.messaging.models import Message, MessageStatus
from tsunagu.talent.data import CandidateData, JobData

pytestmark = pytest.mark.django_db(transaction=True)


def test_parallel_workers_send_each_message_once(make_company, smtp_settings, monkeypatch):
    company, _key = make_company(delay_minutes=60)
    for index in range(120):
        record_application_event(company, IncomingApplicationEvent(
            external_id=f"A-{index}", status="rejected", occurred_at=timezone.now(),
            candidate=CandidateData(name=f"候補者 {index}", email=f"c{index}@example.jp"), job=JobData(title="営業")))
    Message.objects.update(send_at=timezone.now() - timedelta(seconds=1))
    # Workers here are threads calling the action directly; waking further workers is not needed.
    monkeypatch.setattr(notices, "request_delivery", lambda: None)
    barrier = threading.Barrier(4)
    errors = []

    def worker():
        try:
            barrier.wait(timeout=30)
            while delivery.deliver_due_messages(batch_size=10).sent:
                pass
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    received = smtp_settings.wait_for(120)
    recipients = [m["rcpt"][0] for m in received]
    assert len(recipients) == 120 and len(set(recipients)) == 120
    assert Message.objects.filter(status=MessageStatus.SENT).count() == 120
