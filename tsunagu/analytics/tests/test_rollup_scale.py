"""What keeps the dashboard fast over a large history (bench/analytics.py measures it): the funnel read from
monthly rows for whole months and daily rows at the edges, and the pages' refresh writing only when
something was written since the last one."""

from datetime import date
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tsunagu.analytics.actions import rollup
from tsunagu.analytics.daily import CHANNEL, JOB, monthly
from tsunagu.analytics.models import DailyCount, RollupState
from tsunagu.analytics.report import by_value
from tsunagu.testing import ApiClient, application_body

# (external id, applied at in Japan, 応募経路): late January, two in February, early March.
APPLIED = [("M-1", "2026-01-31T23:30:00+09:00", "doda"), ("M-2", "2026-02-01T00:10:00+09:00", "doda"),
           ("M-3", "2026-02-20T12:00:00+09:00", "Wantedly"), ("M-4", "2026-03-02T09:00:00+09:00", "doda"),
           ("M-5", "2026-03-20T09:00:00+09:00", "Wantedly")]


def post_applications(key, applied=APPLIED, status="active"):
    api = ApiClient(key)
    for external_id, applied_at, channel in applied:
        response = api.post("/api/v1/applications", application_body(
            external_id, status=status, email_address=f"{external_id.lower()}@example.jp", applied_at=applied_at,
            channel=channel))
        assert response.status_code in (200, 201), response.content


def applications_by_channel(company, first, last) -> dict[str, int]:
    return {value: counts["applications"] for value, counts in by_value(company, first, last, CHANNEL,
                                                                         ["applications"]).items()}


@pytest.mark.django_db
def test_whole_months_come_from_monthly_rows_and_the_edges_from_daily_ones(make_company):
    company, key = make_company()
    other, other_key = make_company(slug="other", name="株式会社ほか")
    post_applications(key)
    post_applications(other_key)
    rollup.rebuild(company)
    rollup.rebuild(other)
    february = DailyCount.objects.filter(company=company, dimension=monthly(CHANNEL), day=date(2026, 2, 1),
                                         metric="applications")
    assert dict(february.values_list("value", "count")) == {"doda": 1, "Wantedly": 1}
    # January 31 (an edge day), the whole of February (its monthly rows), March 1-2 (edge days).
    assert applications_by_channel(company, date(2026, 1, 31), date(2026, 3, 2)) == {"doda": 3, "Wantedly": 1}
    # Inside one month, and a period of whole months only.
    assert applications_by_channel(company, date(2026, 2, 2), date(2026, 3, 19)) == {"doda": 1, "Wantedly": 1}
    assert applications_by_channel(company, date(2026, 2, 1), date(2026, 3, 31)) == {"doda": 2, "Wantedly": 2}
    by_job = by_value(company, date(2026, 1, 1), date(2026, 3, 31), JOB, ["applications"])
    assert sum(counts["applications"] for counts in by_job.values()) == 5


@pytest.mark.django_db
def test_a_month_is_summed_again_when_one_of_its_days_is_recounted(make_company):
    company, key = make_company()
    post_applications(key, APPLIED[:3])
    rollup.rebuild(company)
    post_applications(key, [("M-9", "2026-02-14T10:00:00+09:00", "doda")])
    rollup.refresh(company)
    assert applications_by_channel(company, date(2026, 2, 1), date(2026, 2, 28)) == {"doda": 2, "Wantedly": 1}


@pytest.mark.django_db
def test_the_pages_refresh_writes_nothing_when_nothing_was_written(make_company):
    company, key = make_company()
    post_applications(key, APPLIED[:2])
    rollup.rebuild(company)
    state = RollupState.objects.get(company=company)
    rows = sorted(DailyCount.objects.filter(company=company).values_list("pk", flat=True))
    assert rollup.refresh(company, budget_seconds=1.5, catch_up=False)
    assert RollupState.objects.get(company=company).watermark == state.watermark
    assert sorted(DailyCount.objects.filter(company=company).values_list("pk", flat=True)) == rows
    # What HR (or its ATS) just did is counted by the next page view.
    today = timezone.localtime(timezone=ZoneInfo(company.time_zone))
    post_applications(key, [("M-10", today.isoformat(), "Green")])
    assert rollup.refresh(company, budget_seconds=1.5, catch_up=False)
    assert RollupState.objects.get(company=company).watermark > state.watermark
    counted = applications_by_channel(company, today.date(), today.date())
    assert counted.get("Green") == 1
