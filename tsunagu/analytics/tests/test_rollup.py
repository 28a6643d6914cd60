"""The pre-aggregated counts agree with the source tables, day by day in the company's time zone."""

from datetime import date

import pytest
from django.utils import timezone

from tsunagu.analytics.actions import rollup
from tsunagu.analytics.periods import Period
from tsunagu.analytics.report import summary
from tsunagu.analytics.tests.test_dashboard import build_activity


def this_month() -> Period:
    today = timezone.localdate()
    return Period(today.replace(day=1), today, "month")


@pytest.mark.django_db
def test_the_rollup_counts_what_the_live_counts_count(make_company, client, events):
    company, other = build_activity(make_company, client)
    rollup.refresh(company)
    rollup.refresh(other)
    figures = summary(company, Period(date(2000, 1, 1), timezone.localdate(), "custom"))
    assert figures.notices_sent == 3
    assert figures.rejections == 3
    assert figures.notices_clicked == 2
    assert figures.notices_registered == 1
    assert figures.registrations == 1
    assert figures.notices_opened == 2
    theirs = summary(other, Period(date(2000, 1, 1), timezone.localdate(), "custom"))
    assert (theirs.notices_sent, theirs.notices_clicked, theirs.registrations) == (1, 1, 1)
