"""The ledger under parallel registrations and reversals: exact credits and slots (the real test is on
PostgreSQL, where writers run at the same time)."""

import itertools
import queue
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.db.models import F
from django.utils import timezone

from tsunagu.intake.actions.events import record_application_event
from tsunagu.intake.events import IncomingApplicationEvent
from tsunagu.lib.tokens import verify_token
from tsunagu.messaging.models import Message, MessageKind, MessageStatus
from tsunagu.relay import fraud
from tsunagu.relay.actions import registration, review
from tsunagu.relay.consent import CONSENT_VERSION
from tsunagu.relay.models import (
    CreditStatus,
    LedgerEntry,
    LedgerKind,
    Registrant,
    Registration,
    RegistrationRequest,
)
from tsunagu.relay.selectors import ledger_summary
from tsunagu.talent.data import CandidateData, JobData
from tsunagu.talent.models import Candidate
from tsunagu.talent.normalize import email_key, name_key

pytestmark = pytest.mark.django_db(transaction=True)


def pending_requests(company, count, *, same_candidate=False):
    tokens = []
    for index in range(count):
        person = 0 if same_candidate else index
        result = record_application_event(company, IncomingApplicationEvent(
            external_id=f"A-{index}", status="rejected", occurred_at=timezone.now(),
            candidate=CandidateData(name=f"候補者 {person}", email=f"c{person}@gmail.com"),
            job=JobData(title="営業"), notify=True,
        ))
        message = result.application.messages.get(kind=MessageKind.REJECTION)
        # Delivered a while ago (the notice has to be, for its link to work at all).
        Message.objects.filter(pk=message.pk).update(sent_at=F("sent_at") - timedelta(minutes=5))
        message.refresh_from_db()
        request = registration.request_registration(message, registration.RegistrationForm(
            name=f"候補者 {person}", email=f"c{person}@gmail.com", consent_purpose=True, consent_provision=True))
        tokens.append(verify_token(request.pk))
    return tokens


def run_all_at_once(jobs, *, threads=None):
    """Run the callables in parallel threads (each with its own database connection), all started together."""
    work = queue.Queue()
    for job in jobs:
        work.put(job)
    count = threads or len(jobs)
    barrier = threading.Barrier(count)
    errors = []

    def worker():
        try:
            barrier.wait(timeout=60)
            while True:
                try:
                    job = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    job()
                except Exception as exc:  # noqa: BLE001 - collected and asserted below
                    errors.append(exc)
        finally:
            connections.close_all()

    pool = [threading.Thread(target=worker) for _ in range(count)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=300)
    return errors


def verify_all_at_once(tokens):
    return run_all_at_once([lambda token=token: registration.verify_registration(token) for token in tokens])


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


# --- at scale, on PostgreSQL --------------------------------------------------------------------------

_networks = itertools.count(1)


def a_network_of_its_own() -> str:
    number = next(_networks)
    return fraud.network_hash(f"10.{number // 250 % 250}.{number % 250}.1")


def forms(company, people):
    """Delivered notices and filled-in forms for `people` [(notified address, registered address)], made in
    bulk (the form's own checks are tested elsewhere); returns their verification tokens."""
    sent = timezone.now() - timedelta(hours=1)
    candidates = Candidate.objects.bulk_create([
        Candidate(company=company, name=f"候補者 {index}", email=notified, email_key=email_key(notified),
                  name_key=name_key(f"候補者 {index}")) for index, (notified, _registered) in enumerate(people)])
    messages = Message.objects.bulk_create([
        Message(company=company, kind=MessageKind.REJECTION, key=f"load:{candidate.pk}", to_email=candidate.email,
                to_name=candidate.name, send_at=sent, sent_at=sent, status=MessageStatus.SENT)
        for candidate in candidates])
    requests = RegistrationRequest.objects.bulk_create([
        RegistrationRequest(company=company, message=message, candidate=candidate, name=candidate.name,
                            email=registered, consent_version=CONSENT_VERSION, consented_at=timezone.now(),
                            network_hash=a_network_of_its_own())
        for candidate, message, (_notified, registered) in zip(candidates, messages, people, strict=True)])
    return [verify_token(request.pk) for request in requests]


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="writers run in parallel on PostgreSQL only")
def test_a_thousand_registrations_over_a_hundred_companies_at_once(make_company):
    ratio = 3
    companies = [make_company(slug=f"co{number}", name=f"株式会社{number}", referral_ratio=ratio)[0]
                 for number in range(100)]
    tokens = []
    for number, company in enumerate(companies):
        people = [(f"real{number}.{index}@gmail.com",) * 2 for index in range(6)]
        # Registered with another address than the one the notice went to: held.
        people += [(f"held{number}.{index}@gmail.com", f"other{number}.{index}@gmail.com") for index in range(2)]
        # Rejected by this company and the next: the same person registers through both links.
        people += [(f"shared{number}@gmail.com",) * 2, (f"shared{(number - 1) % 100}@gmail.com",) * 2]
        tokens += forms(company, people)
    assert len(tokens) == 1000
    errors = run_all_at_once([lambda token=token: registration.verify_registration(token) for token in tokens],
                             threads=16)
    assert errors == []

    registrations = Registration.objects.all()
    assert registrations.count() == 1000 and Registrant.objects.count() == 100 * 6 + 100 * 2 + 100
    assert registrations.filter(credit_status=CreditStatus.HELD).count() == 200
    assert registrations.filter(credit_status=CreditStatus.DUPLICATE).count() == 100
    for number in range(100):  # each shared person credited to exactly one of their two companies
        shared = registrations.filter(email=f"shared{number}@gmail.com")
        assert sorted(shared.values_list("credit_status", flat=True)) == [CreditStatus.CREDITED, CreditStatus.DUPLICATE]
    total_credits = 0
    for company in companies:
        summary = ledger_summary(company)
        credited = registrations.filter(company=company, credit_status=CreditStatus.CREDITED).count()
        assert summary.credits == credited and 6 <= credited <= 8
        assert (summary.slots_earned, summary.progress, summary.credits_held) == (credited // ratio, credited % ratio, 2)
        for kind, expected in ((LedgerKind.CREDIT, credited), (LedgerKind.SLOT_EARNED, credited // ratio)):
            numbers = sorted(LedgerEntry.objects.filter(company=company, kind=kind).values_list("number", flat=True))
            assert numbers == list(range(1, expected + 1))
        total_credits += credited
    assert total_credits == 700


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="writers run in parallel on PostgreSQL only")
def test_reversals_racing_with_new_credits_stay_exact(make_company):
    ratio = 4
    company, _key = make_company(referral_ratio=ratio)
    earlier = forms(company, [(f"early{index}@gmail.com",) * 2 for index in range(40)])
    assert verify_all_at_once(earlier) == []
    assert ledger_summary(company).credits == 40
    reversed_ones = list(Registration.objects.filter(company=company).order_by("?")[:25])
    later = forms(company, [(f"late{index}@gmail.com",) * 2 for index in range(30)])
    jobs = [lambda token=token: registration.verify_registration(token) for token in later]
    jobs += [lambda r=r: review.reverse(r, reason="不正な登録と判明") for r in reversed_ones]
    assert run_all_at_once(jobs, threads=16) == []

    summary = ledger_summary(company)
    assert summary.credits == 40 - 25 + 30
    assert (summary.slots_earned, summary.progress) == (summary.credits // ratio, summary.credits % ratio)
    entries = LedgerEntry.objects.filter(company=company)
    assert entries.filter(kind=LedgerKind.CREDIT_REVERSED).count() == 25
    earned = entries.filter(kind=LedgerKind.SLOT_EARNED).count() - entries.filter(kind=LedgerKind.SLOT_REVOKED).count()
    assert earned == summary.slots_earned
    for kind in LedgerKind.values:  # numbered 1, 2, 3... per kind, no gaps, no repeats
        numbers = sorted(entries.filter(kind=kind).values_list("number", flat=True))
        assert numbers == list(range(1, len(numbers) + 1))
    assert Registration.objects.filter(company=company, credit_status=CreditStatus.VOIDED).count() == 25
