"""The periods HR picks, and the ones they are compared with."""

from datetime import date

import pytest

from tsunagu.analytics.periods import Period, PeriodError, named_period, period_from

TODAY = date(2026, 2, 10)


@pytest.mark.parametrize("kind, first, last, previous_first, previous_last", [
    ("month", date(2026, 2, 1), date(2026, 2, 28), date(2026, 1, 1), date(2026, 1, 31)),
    ("last_month", date(2026, 1, 1), date(2026, 1, 31), date(2025, 12, 1), date(2025, 12, 31)),
    ("quarter", date(2026, 1, 1), date(2026, 3, 31), date(2025, 10, 1), date(2025, 12, 31)),
    ("fiscal_year", date(2025, 4, 1), date(2026, 3, 31), date(2024, 4, 1), date(2025, 3, 31)),
    ("year", date(2026, 1, 1), date(2026, 12, 31), date(2025, 1, 1), date(2025, 12, 31)),
])
def test_named_periods_and_their_previous(kind, first, last, previous_first, previous_last):
    period = named_period(kind, TODAY)
    assert (period.first, period.last) == (first, last)
    previous = period.previous()
    assert (previous.first, previous.last) == (previous_first, previous_last)


def test_march_compares_with_february_whatever_its_length():
    previous = named_period("month", date(2028, 3, 31)).previous()
    assert (previous.first, previous.last) == (date(2028, 2, 1), date(2028, 2, 29))


def test_a_custom_period_compares_with_as_many_days_before():
    period = period_from({"from": "2026-11-10", "to": "2026-11-19"}, TODAY)
    assert period.days == 10 and period.kind == "custom"
    assert (period.previous().first, period.previous().last) == (date(2026, 10, 31), date(2026, 11, 9))
    assert period.query == "from=2026-11-10&to=2026-11-19"
    assert period.bucket == "week"
    assert Period(date(2026, 1, 1), date(2026, 12, 31)).bucket == "month"


def test_nothing_asked_is_this_month():
    assert period_from({}, TODAY) == named_period("month", TODAY)
    assert period_from({"period": "quarter"}, TODAY).query == "period=quarter"


@pytest.mark.parametrize("params", [
    {"period": "forever"}, {"from": "2026-01-01"}, {"to": "2026-01-01"}, {"from": "2026-02-30", "to": "2026-03-01"},
    {"from": "2026-01-02", "to": "2026-01-01"}, {"from": "2000-01-01", "to": "2010-01-01"},
    {"from": "9999-01-01", "to": "9999-01-02"}, {"from": "２０２６-０１-０１", "to": "2026-01-02"},
])
def test_what_cannot_be_a_period(params):
    with pytest.raises(PeriodError):
        period_from(params, TODAY)
