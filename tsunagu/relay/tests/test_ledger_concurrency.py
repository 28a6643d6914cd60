"""The ledger under parallel registrations: exact credits and slots (the real test is on PostgreSQL)."""

import threading

import pytest
from django.db import connections

from tsunagu.intake.actions.events import record_application_event
from tsunagu.intake.events import IncomingApplicationEvent
from tsunagu.lib.tokens import verify_token
from tsunagu.messaging.models import MessageKind
from tsunagu.relay.actions import registration
from tsunagu.relay.models import LedgerEntry, Registration
from tsunagu.relay.selectors import ledger_summary
from tsunagu.talent.data import CandidateData, JobData

pytestmark = pytest.mark.django_db(transaction=True)


def pending_requests(company, count, *, same_candidate=False):
    from django.utils import timezone

    tokens = []
    for index in range(count):
        person = 0 if same_candidate else index
        result = record_application_event(company, IncomingApplicationEvent(
            external_id=f"A-{index}", status="rejected", occurred_at=timezone.now(),
            candidate=CandidateData(name=f"候補者 {person}", email=f"c{person}@example.jp"),
            job=JobData(title="営業"), notify=True,
        ))
        message = result.application.messages.get(kind=MessageKind.REJECTION)
        request = registration.request_registration(message, registration.RegistrationForm(
            name=f"候補者 {person}", email=f"c{person}@example.jp", consent_purpose=True, consent_provision=True))
        tokens.append(verify_token(request.pk))
    return tokens


def verify_all_at_once(tokens):
    barrier = threading.Barrier(len(tokens))
    errors = []

    def worker(token):
        try:
            barrier.wait(timeout=30)
            registration.verify_registration(token)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_parallel_verifications_give_exact_credits_and_slots(make_company):
    company, _key = make_company(referral_ratio=10)
    tokens = pending_requests(company, 30)
    errors = verify_all_at_once(tokens)
    assert errors == []
    summary = ledger_summary(company)
    assert (summary.credits, summary.slots_earned, summary.slots_available) == (30, 3, 3)
    credit_numbers = sorted(LedgerEntry.objects.filter(company=company, kind="credit").values_list("number", flat=True))
    assert credit_numbers == list(range(1, 31))
    slot_numbers = sorted(LedgerEntry.objects.filter(company=company, kind="slot_earned").values_list("number", flat=True))
    assert slot_numbers == [1, 2, 3]


def test_one_candidate_verifying_many_times_at_once_earns_one_credit(make_company):
    company, _key = make_company()
    tokens = pending_requests(company, 8, same_candidate=True)
    errors = verify_all_at_once(tokens)
    assert errors == []
    assert Registration.objects.filter(company=company).count() == 1
    assert ledger_summary(company).credits == 1

