"""Property: whatever events arrive, in whatever order and however often, each application gets at most
one notice, and none is sent while its application is active, hired or withdrawn at the moment of sending."""

from collections import Counter
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tsunagu.intake.actions.events import record_application_event
from tsunagu.intake.events import IncomingApplicationEvent
from tsunagu.messaging.actions import delivery, notices
from tsunagu.talent.data import CandidateData, JobData
from tsunagu.talent.models import Application

pytestmark = pytest.mark.django_db

events = st.tuples(
    st.just("event"),
    st.integers(min_value=0, max_value=1),  # which application
    st.sampled_from(["active", "rejected", "hired", "withdrawn"]),
    # occurred_at offset in minutes: mostly in the past (due at once), arriving out of order
    st.sampled_from([-40, -30, -20, -10, 0, 30]),
    st.integers(min_value=0, max_value=2),  # event id: small range, so redeliveries happen
)
steps = st.lists(st.one_of(events, st.just(("deliver",))), min_size=1, max_size=20)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=steps)
def test_random_event_sequences_never_double_send_or_send_to_active(sequence, make_company, monkeypatch):
    monkeypatch.setattr(notices, "request_delivery", lambda: None)  # the test delivers explicitly
    with transaction.atomic():
        company, _key = make_company(slug="prop")
        base = timezone.now()
        mail.outbox.clear()
        for step in sequence + [("deliver",)]:
            if step[0] == "event":
                _kind, index, status, offset, event_number = step
                record_application_event(company, IncomingApplicationEvent(
                    external_id=f"A-{index}", status=status, occurred_at=base + timedelta(minutes=offset),
                    candidate=CandidateData(name="髙橋 𠮷子", email=f"c{index}@example.jp"),
                    job=JobData(title="営業"), source="prop", event_id=f"{index}-{status}-{offset}-{event_number}",
                ))
            else:
                before = len(mail.outbox)
                delivery.deliver_due_messages()
                for sent in mail.outbox[before:]:
                    application = Application.objects.get(company=company, candidate__email_key=sent.to[0])
                    assert application.status == "rejected", "a notice went out to a non-rejected application"
        per_recipient = Counter(sent.to[0] for sent in mail.outbox if "選考結果" in sent.subject)
        assert all(count == 1 for count in per_recipient.values()), per_recipient
        transaction.set_rollback(True)
