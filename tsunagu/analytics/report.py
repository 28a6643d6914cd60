"""The dashboard's figures for a period, summed from the pre-aggregated DailyCount rows (read only).

Rates carry their denominators: a rate is None when its denominator is zero, never a made-up 0%. Clicks
and registrations are counted on the day their notice was sent (the notices of the period and what became
of them); registrations, credits and slots in the trends and the money on their own day.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q, Sum
from django.utils import timezone

from tsunagu.analytics.daily import DELAY, MONTHLY_DIMENSIONS, TOTAL, monthly
from tsunagu.analytics.models import DailyCount
from tsunagu.analytics.periods import Period, add_months
from tsunagu.companies.models import Company

SUMMARY_METRICS = (
    "applications", "rejections", "notices_sent", "notices_clicked", "notices_registered", "notices_opened",
    "notices_timed", "notices_on_time", "followups_sent", "followups_due", "followups_covered", "failed",
    "bounced", "complained", "unsubscribed", "registrations", "credits", "credits_reversed", "slots_earned",
    "slots_revoked", "slots_reserved", "slots_released", "slots_used", "machine_clicks",
)
TREND_METRICS = ("rejections", "notices_sent", "notices_clicked", "registrations", "credits", "slots_earned")


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def totals(company: Company, first: date, last: date, metrics=SUMMARY_METRICS, dimension: str = TOTAL) -> dict:
    rows = (DailyCount.objects.filter(company=company, dimension=dimension, metric__in=list(metrics),
                                      day__gte=first, day__lte=last)
            .values_list("metric").annotate(n=Sum("count")))
    found = dict(rows)
    return {metric: found.get(metric, 0) for metric in metrics}


def _days_and_months(dimension: str, first: date, last: date) -> Q:
    """The rows of one dimension over [first, last]: the monthly rows of the whole months inside it (when the
    dimension has them), the daily rows of the days before and after them."""
    if dimension not in MONTHLY_DIMENSIONS:
        return Q(dimension=dimension, day__gte=first, day__lte=last)
    months_from = first if first.day == 1 else add_months(first, 1)
    months_until = (last + timedelta(days=1)).replace(day=1)  # the first month not wholly inside
    if months_from >= months_until:
        return Q(dimension=dimension, day__gte=first, day__lte=last)
    return (Q(dimension=monthly(dimension), day__gte=months_from, day__lt=months_until)
            | Q(dimension=dimension, day__gte=first, day__lt=months_from)
            | Q(dimension=dimension, day__gte=months_until, day__lte=last))


def by_value(company: Company, first: date, last: date, dimension: str, metrics) -> dict[str, dict[str, int]]:
    """{value: {metric: count}} of one dimension over the period."""
    rows = (DailyCount.objects.filter(_days_and_months(dimension, first, last), company=company,
                                      metric__in=list(metrics))
            .values_list("value", "metric").annotate(n=Sum("count")).order_by())
    table: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(metrics, 0))
    for value, metric, n in rows:
        table[value][metric] = n
    return dict(table)


def percentile(histogram: dict[int, int], share: float) -> int | None:
    """The bucket (minutes) at which `share` of the counted values is reached."""
    total = sum(histogram.values())
    if not total:
        return None
    needed, seen = share * total, 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= needed:
            return bucket
    return None  # pragma: no cover - the loop always reaches the total


@dataclass
class Summary:
    period: Period
    counts: dict
    delay_p50: int | None = None  # minutes from the ATS decision to the notice
    delay_p90: int | None = None

    def __getattr__(self, name):
        counts = self.__dict__.get("counts", {})
        if name in counts:
            return counts[name]
        raise AttributeError(name)

    @property
    def credits_net(self) -> int:
        return self.counts["credits"] - self.counts["credits_reversed"]

    @property
    def slots_earned_net(self) -> int:
        return self.counts["slots_earned"] - self.counts["slots_revoked"]

    @property
    def mails_sent(self) -> int:
        return self.counts["notices_sent"] + self.counts["followups_sent"]

    @property
    def rates(self) -> dict[str, float | None]:
        c = self.counts
        return {
            "click_rate": ratio(c["notices_clicked"], c["notices_sent"]),
            "registration_rate": ratio(c["notices_registered"], c["notices_sent"]),
            "open_rate": ratio(c["notices_opened"], c["notices_sent"]),
            "on_time_rate": ratio(c["notices_on_time"], c["notices_timed"]),
            "follow_up_coverage": ratio(c["followups_covered"], c["followups_due"]),
            "bounce_rate": ratio(c["bounced"], self.mails_sent),
            "unsubscribe_rate": ratio(c["unsubscribed"], self.mails_sent),
        }


def summary(company: Company, period: Period) -> Summary:
    histogram = {int(value): n for value, n in (
        DailyCount.objects.filter(company=company, dimension=DELAY, metric="notice_delay",
                                  day__gte=period.first, day__lte=period.last)
        .values_list("value").annotate(n=Sum("count")))}
    return Summary(period, totals(company, period.first, period.last), percentile(histogram, 0.5),
                   percentile(histogram, 0.9))


@dataclass
class Trend:
    labels: list[str]
    starts: list[date]
    series: dict[str, list[int | None]] = field(default_factory=dict)  # None: a bucket still to come


def bucket_start(day: date, bucket: str) -> date:
    return day - timedelta(days=day.weekday()) if bucket == "week" else day.replace(day=1)


def bucket_starts(period: Period) -> list[date]:
    """The first day of each week (Monday) or month the period's trends are drawn by."""
    starts: list[date] = []
    day = bucket_start(period.first, period.bucket)
    while day <= period.last:
        starts.append(day)
        day = day + timedelta(days=7) if period.bucket == "week" else add_months(day, 1)
    return starts


def bucket_label(start: date, bucket: str) -> str:
    return start.strftime("%m/%d" if bucket == "week" else "%Y-%m")


def trend(company: Company, period: Period, metrics=TREND_METRICS) -> Trend:
    """Each metric per week (Monday first) or per month of the period."""
    starts = bucket_starts(period)
    index = {start: n for n, start in enumerate(starts)}
    series = {metric: [0] * len(starts) for metric in metrics}
    rows = (DailyCount.objects.filter(company=company, dimension=TOTAL, metric__in=list(metrics),
                                      day__gte=period.first, day__lte=period.last)
            .values_list("day", "metric", "count"))
    for day, metric, n in rows:
        series[metric][index[bucket_start(day, period.bucket)]] += n
    # Weeks or months still to come have no figure yet (a gap in the chart, not a zero).
    today = timezone.localdate(timezone=ZoneInfo(company.time_zone))
    for values in series.values():
        for n, start in enumerate(starts):
            if start > today:
                values[n] = None
    return Trend([bucket_label(start, period.bucket) for start in starts], starts, series)
