"""The counts follow the source tables: what changes after a refresh is counted by the next one, once."""

from datetime import date

import pytest
from django.utils import timezone

from tsunagu.analytics.actions import rollup
from tsunagu.analytics.models import DailyCount, RollupState
from tsunagu.analytics.periods import Period
from tsunagu.analytics.report import summary
from tsunagu.analytics.tests import history
from tsunagu.messaging.models import EventKind, MessageEvent
from tsunagu.talent.models import Application, ApplicationStatus

NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30), "month")


@pytest.fixture
def acme(make_company):
    company, _key = make_company(delay_minutes=60, send_window="business")
    rows = history.build(company)
    rollup.refresh(company)
    return company, rows


@pytest.mark.django_db
def test_changes_after_a_refresh_are_counted_by_the_next(acme):
    company, rows = acme
    before = summary(company, NOVEMBER).counts
    # An old application rejected now (the ATS catching up), and a late click on an old notice.
    late = Application.objects.get(company=company, external_id="a4")
    late.status, late.rejected_at, late.rejection_reason = (ApplicationStatus.REJECTED, history.jst(2026, 11, 20, 15),
                                                            "経験不足")
    late.save()
    MessageEvent.objects.create(company=company, message=rows["n2"], kind=EventKind.CLICKED,
                                occurred_at=timezone.now(), user_agent=history.BROWSER)
    assert summary(company, NOVEMBER).counts == before  # not yet counted
    assert rollup.refresh(company) is True
    after = summary(company, NOVEMBER).counts
    assert after["rejections"] == before["rejections"] + 1
    assert after["notices_clicked"] == before["notices_clicked"] + 1  # on n2's sending day, in November
    # Counting again changes nothing: no double counts.
    rollup.refresh(company)
    rollup.refresh(company)
    assert summary(company, NOVEMBER).counts == after
    rollup.rebuild(company)
    assert summary(company, NOVEMBER).counts == after


@pytest.mark.django_db
def test_a_time_boxed_refresh_leaves_the_rest_pending_and_loses_nothing(acme):
    company, _rows = acme
    expected = summary(company, NOVEMBER).counts
    DailyCount.objects.filter(company=company).delete()
    RollupState.objects.filter(company=company).update(watermark=None)
    assert rollup.refresh(company, budget_seconds=0) is False
    state = RollupState.objects.get(company=company)
    assert state.pending_days  # the history is still to be counted
    assert rollup.refresh(company) is True
    assert RollupState.objects.get(company=company).pending_days == []
    assert summary(company, NOVEMBER).counts == expected


@pytest.mark.django_db
def test_a_change_of_time_zone_counts_everything_again(acme):
    company, _rows = acme
    company.time_zone = "UTC"
    company.save()
    rollup.refresh(company)
    # 2026-10-31 23:59 JST is 14:59 UTC on 31 October; 2026-11-01 00:10 JST is 15:10 UTC on 31 October.
    assert summary(company, Period(date(2026, 10, 31), date(2026, 10, 31))).counts["rejections"] == 2
    assert summary(company, NOVEMBER).counts["rejections"] == 1


@pytest.mark.django_db
def test_the_scheduler_job_refreshes_every_company(make_company):
    first, _key = make_company()
    second, _key = make_company(slug="second", name="株式会社セカンド")
    for company in (first, second):
        history.build(company)
    rollup.refresh_all(budget_seconds=60)
    for company in (first, second):
        state = RollupState.objects.get(company=company)
        assert state.refreshed_at and not state.pending_days
        assert summary(company, NOVEMBER).counts["notices_sent"] == 3
