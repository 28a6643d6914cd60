"""The period figures against the hand-counted history of tests/history.py."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from tsunagu.analytics.actions import rollup
from tsunagu.analytics.actions.costs import set_hiring_cost
from tsunagu.analytics.daily import CHANNEL, JOB, REASON, STAGE
from tsunagu.analytics.dashboard import dashboard
from tsunagu.analytics.funnel import funnel
from tsunagu.analytics.periods import Period
from tsunagu.analytics.report import summary, trend
from tsunagu.analytics.tests import history
from tsunagu.messaging.models import EventKind, Message, MessageEvent, MessageKind, MessageStatus

NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30), "month")
OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31), "month")
DECEMBER = Period(date(2026, 12, 1), date(2026, 12, 31), "month")


@pytest.fixture
def histories(make_company):
    acme, _key = make_company(delay_minutes=60, send_window="business")
    other, _key = make_company(slug="other", name="株式会社ほか", delay_minutes=60, send_window="business")
    rows = history.build(acme)
    history.build(other)
    rollup.refresh(acme)
    rollup.refresh(other)
    return acme, other, rows


@pytest.mark.django_db
def test_november_counted_by_hand(histories):
    acme, _other, _rows = histories
    figures = summary(acme, NOVEMBER)
    counts = figures.counts
    assert counts["applications"] == 4  # a3-a6; a2 came in at 23:59 JST on 31 October
    assert counts["rejections"] == 2  # a2 (00:10 JST on 1 November) and a3; a6 was taken back
    assert (counts["notices_sent"], counts["notices_clicked"], counts["notices_registered"]) == (3, 2, 1)
    assert counts["notices_opened"] == 1
    assert counts["machine_clicks"] == 1
    assert counts["registrations"] == 0  # completed 00:30 JST on 1 December
    assert (counts["notices_timed"], counts["notices_on_time"]) == (3, 2)  # n1 an hour late
    assert (counts["followups_sent"], counts["followups_due"], counts["followups_covered"]) == (1, 3, 2)
    assert (counts["failed"], counts["bounced"], counts["unsubscribed"]) == (1, 1, 0)
    assert (counts["credits"], counts["slots_earned"], counts["slots_used"]) == (2, 1, 1)
    # Delays: n3 60 min, n2 32 h 55 min (bucket 32 h), n1 34 h 30 min (bucket 34 h).
    assert (figures.delay_p50, figures.delay_p90) == (32 * 60, 34 * 60)
    rates = figures.rates
    assert rates["click_rate"] == pytest.approx(2 / 3)
    assert rates["registration_rate"] == pytest.approx(1 / 3)
    assert rates["on_time_rate"] == pytest.approx(2 / 3)
    assert rates["follow_up_coverage"] == pytest.approx(2 / 3)
    assert rates["bounce_rate"] == pytest.approx(1 / 4)  # 3 notices and 1 follow-up sent
    assert rates["unsubscribe_rate"] == 0


@pytest.mark.django_db
def test_month_boundaries_in_tokyo(histories):
    acme, _other, _rows = histories
    october, december = summary(acme, OCTOBER).counts, summary(acme, DECEMBER).counts
    assert (october["applications"], october["rejections"], october["notices_sent"]) == (2, 1, 0)
    assert december["registrations"] == 1
    assert december["credits"] + december["credits_reversed"] >= 0
    # The day before and the day after the boundary, as single-day periods.
    assert summary(acme, Period(date(2026, 10, 31), date(2026, 10, 31))).counts["rejections"] == 1
    assert summary(acme, Period(date(2026, 11, 1), date(2026, 11, 1))).counts["rejections"] == 1


@pytest.mark.django_db
def test_another_company_is_never_counted(histories, make_company):
    acme, other, _rows = histories
    theirs = summary(other, NOVEMBER).counts
    assert theirs == summary(acme, NOVEMBER).counts  # the same shape, counted apart
    empty, _key = make_company(slug="empty", name="株式会社から")
    rollup.refresh(empty)
    assert not any(summary(empty, NOVEMBER).counts.values())


@pytest.mark.django_db
def test_funnel_by_channel_job_stage_and_reason(histories):
    acme, _other, rows = histories
    table, total = funnel(acme, NOVEMBER, CHANNEL)
    by_key = {row.key: row for row in table}
    assert set(by_key) == {"doda", "リクナビ", ""}
    assert by_key[""].label == "(不明)"
    assert (by_key["doda"].applications, by_key["doda"].rejections, by_key["doda"].notices_sent) == (1, 1, 2)
    assert by_key["doda"].registration_rate == 0
    assert (by_key["リクナビ"].applications, by_key["リクナビ"].notices_registered) == (2, 1)
    assert by_key["リクナビ"].registration_rate == 1
    assert table[0].key == "リクナビ"  # most applications first
    # Pass rates of November's applications (reached 40, 30, 50, 20).
    assert total.pass_rate(20) == pytest.approx(3 / 4)
    assert total.pass_rate(30) == pytest.approx(2 / 3)
    assert total.pass_rate(40) == pytest.approx(1 / 2)
    assert total.pass_rate(10) == 1

    jobs, _total = funnel(acme, NOVEMBER, JOB)
    assert {row.label: row.applications for row in jobs} == {"法人営業": 2, "バックエンド開発": 2}

    stages, _total = funnel(acme, NOVEMBER, STAGE)
    first_interview = next(row for row in stages if row.key == "20")
    assert first_interview.applications == 4 and first_interview.pass_rate(20) == pytest.approx(3 / 4)
    assert {row.key: row.rejections for row in stages if row.rejections} == {"10": 1, "40": 1}

    reasons, _total = funnel(acme, NOVEMBER, REASON, sort="rejections")
    assert {row.label: row.rejections for row in reasons} == {"スキル不一致": 1, "経験不足": 1}


@pytest.mark.django_db
def test_sorting_puts_rates_without_a_denominator_last(histories):
    acme, _other, _rows = histories
    ascending, _total = funnel(acme, NOVEMBER, CHANNEL, sort="registration_rate", descending=False)
    assert [row.key for row in ascending] == ["doda", "リクナビ", ""]  # "" sent nothing: no rate
    descending, _total = funnel(acme, NOVEMBER, CHANNEL, sort="registration_rate")
    assert [row.key for row in descending] == ["リクナビ", "doda", ""]


@pytest.mark.django_db
def test_money_with_its_assumptions(histories):
    acme, _other, _rows = histories
    figures = dashboard(acme, NOVEMBER)
    money = figures.money
    assert (money.fee_yen, money.slots_earned, money.slots_used) == (500_000, 1, 1)
    assert (money.saved_yen, money.projected_yen) == (500_000, 500_000)
    assert money.cost_per_hire is None  # no costs entered
    set_hiring_cost(acme, month="2026-11", cost_yen="3,000,000", hires=2)
    money = dashboard(acme, NOVEMBER).money
    assert money.cost_per_hire == 1_500_000
    assert money.cost_per_hire_without_relay == 1_750_000
    # A quarter with one month entered has no 採用単価.
    quarter = dashboard(acme, Period(date(2026, 10, 1), date(2026, 12, 31), "quarter")).money
    assert (quarter.months, quarter.months_entered, quarter.cost_per_hire) == (3, 1, None)


@pytest.mark.django_db
def test_trend_by_week_and_month(histories):
    acme, _other, _rows = histories
    weekly = trend(acme, NOVEMBER)
    assert weekly.starts[0] == date(2026, 10, 26)  # the Monday of the week of 1 November
    assert sum(weekly.series["notices_sent"]) == 3
    assert weekly.series["notices_sent"][weekly.starts.index(date(2026, 11, 2))] == 2
    monthly = trend(acme, Period(date(2026, 4, 1), date(2027, 3, 31), "fiscal_year"))
    assert monthly.labels[0] == "2026-04" and len(monthly.labels) == 12
    assert monthly.series["rejections"][monthly.labels.index("2026-10")] == 1
    assert monthly.series["rejections"][monthly.labels.index("2026-11")] == 2


@pytest.mark.django_db
def test_weeks_still_to_come_are_gaps_not_zeros(histories):
    acme, _other, _rows = histories
    today = timezone.localdate()
    figures = trend(acme, Period(today - timedelta(days=today.weekday()), today + timedelta(days=20)))
    assert figures.series["rejections"][0] == 0  # this week: counted (nothing yet)
    assert figures.series["rejections"][-1] is None  # three weeks on: no figure yet


@pytest.mark.django_db
def test_bounces_of_other_mail_are_not_in_the_notices_rates(make_company):
    acme, _key = make_company(delay_minutes=60, send_window="business")
    rows = history.build(acme)
    invitation = Message.objects.create(
        company=acme, kind=MessageKind.INVITATION, key="campaign:1:a1", application=rows["a1"],
        to_email=rows["a1"].candidate.email, to_name="候補者", status=MessageStatus.SENT,
        send_at=history.jst(2026, 11, 20, 10), sent_at=history.jst(2026, 11, 20, 10))
    MessageEvent.objects.create(company=acme, message=invitation, kind=EventKind.BOUNCED,
                                occurred_at=history.jst(2026, 11, 20, 11))
    rollup.refresh(acme)
    assert summary(acme, NOVEMBER).counts["bounced"] == 1  # n2's only
