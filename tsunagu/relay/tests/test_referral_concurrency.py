"""Referral requests under concurrency (meaningful on PostgreSQL, run on both): filings racing for the last
slots get exactly as many requests as slots; a hire racing with a close ends one way or the other, never both."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connections

from tsunagu.relay.actions import introductions, requests
from tsunagu.relay.models import (
    Introduction,
    IntroductionStatus,
    LedgerEntry,
    LedgerKind,
    ReferralRequest,
    RequestStatus,
)
from tsunagu.relay.selectors import ledger_summary
from tsunagu.relay.tests.referrals import REQUEST, earn_slots, registrant

pytestmark = pytest.mark.django_db(transaction=True)


def all_at_once(calls):
    barrier = threading.Barrier(len(calls))
    results, errors = [], []

    def run(call):
        try:
            barrier.wait(timeout=30)
            results.append(call())
        except ValidationError as exc:
            results.append(exc)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


def test_filings_racing_for_two_slots_get_exactly_two(make_company):
    company, _key = make_company(referral_ratio=1)
    earn_slots(company, 2)
    calls = [lambda i=i: requests.file_request(company, requests.RequestForm(**{**REQUEST, "title": f"職種{i}"}))
             for i in range(8)]
    results, errors = all_at_once(calls)
    assert errors == []
    filed = [r for r in results if isinstance(r, ReferralRequest)]
    refused = [r for r in results if isinstance(r, requests.NoSlotAvailable)]
    assert (len(filed), len(refused)) == (2, 6)
    assert ReferralRequest.objects.count() == 2
    summary = ledger_summary(company)
    assert (summary.slots_reserved, summary.slots_available) == (2, 0)
    numbers = sorted(LedgerEntry.objects.filter(kind=LedgerKind.SLOT_RESERVED).values_list("number", flat=True))
    assert numbers == [1, 2]


def test_a_hire_racing_with_a_close_ends_one_way(make_company):
    company, _key = make_company(referral_ratio=1)
    earn_slots(company, 1)
    referral = requests.file_request(company, requests.RequestForm(**REQUEST))
    introduction = Introduction.objects.create(request=referral, registrant=registrant(),
                                               status=IntroductionStatus.INTRODUCED)
    results, errors = all_at_once([
        lambda: introductions.record_outcome(introduction, "hired", actor_label="api"),
        lambda: requests.close_request(referral, actor_label="api"),
    ])
    assert errors == []
    assert sum(isinstance(result, ValidationError) for result in results) == 1
    referral.refresh_from_db()
    kinds = list(LedgerEntry.objects.filter(request=referral).values_list("kind", flat=True))
    summary = ledger_summary(company)
    if referral.status == RequestStatus.FILLED:  # the hire came first: the slot is used, the close refused
        assert sorted(kinds) == [LedgerKind.SLOT_REDEEMED, LedgerKind.SLOT_RESERVED]
        assert (summary.slots_redeemed, summary.slots_available) == (1, 0)
    else:  # the close came first: the slot is back, the hire refused
        assert referral.status == RequestStatus.CLOSED
        assert sorted(kinds) == [LedgerKind.SLOT_RELEASED, LedgerKind.SLOT_RESERVED]
        assert (summary.slots_redeemed, summary.slots_available) == (0, 1)
    assert summary.slots_reserved == 0
