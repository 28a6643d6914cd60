"""Rejection notices by template and variant over a period: sent, clicked by a person, registered, and the
registration rate week by week or month by month (read only; extends the A/B page, which counts all time)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Sum

from tsunagu.analytics.daily import VARIANT
from tsunagu.analytics.models import DailyCount
from tsunagu.analytics.periods import Period
from tsunagu.analytics.report import bucket_label, bucket_start, bucket_starts, ratio
from tsunagu.companies.models import Company
from tsunagu.lib.charts import Series, line_chart
from tsunagu.messaging.models import MessageTemplate
from tsunagu.messaging.template_sets import Slot, variant_label

METRICS = ("notices_sent", "notices_clicked", "notices_registered")
CHART_ROWS = 8


@dataclass
class VariantRow:
    key: tuple[str, str]  # (slot label, variant)
    label: str
    counts: dict = field(default_factory=lambda: dict.fromkeys(METRICS, 0))
    per_bucket: dict = field(default_factory=lambda: defaultdict(lambda: dict.fromkeys(METRICS, 0)))

    @property
    def sent(self) -> int:
        return self.counts["notices_sent"]

    @property
    def clicked(self) -> int:
        return self.counts["notices_clicked"]

    @property
    def registered(self) -> int:
        return self.counts["notices_registered"]

    @property
    def click_rate(self):
        return ratio(self.clicked, self.sent)

    @property
    def registration_rate(self):
        return ratio(self.registered, self.sent)


def _labels(company: Company, template_ids) -> dict[str, tuple[str, str]]:
    templates = MessageTemplate.objects.filter(company=company, pk__in=[int(t) for t in template_ids if t.isdigit()])
    return {str(t.pk): (Slot.of(t).label(), variant_label(t.variant)) for t in templates}


def variant_rows(company: Company, period: Period) -> list[VariantRow]:
    rows = (DailyCount.objects.filter(company=company, dimension=VARIANT, metric__in=METRICS,
                                      day__gte=period.first, day__lte=period.last)
            .values_list("day", "value", "metric").annotate(n=Sum("count")))
    found = list(rows)
    labels = _labels(company, {value.split(":", 1)[0] for _day, value, _metric, _n in found})
    by_key: dict[tuple[str, str], VariantRow] = {}
    for day, value, metric, n in found:
        template_id, _sep, variant = value.partition(":")
        slot, shown = labels.get(template_id, ("", variant_label(variant)))
        key = (slot, shown)
        row = by_key.setdefault(key, VariantRow(key, f"{slot} {shown}".strip()))
        row.counts[metric] += n
        row.per_bucket[bucket_start(day, period.bucket)][metric] += n
    return sorted(by_key.values(), key=lambda row: (row.key[0], row.key[1]))


def registration_chart(company: Company, period: Period, rows: list[VariantRow], title: str):
    """The registration rate of the most-sent variants, per week or month."""
    starts = bucket_starts(period)
    shown = sorted(rows, key=lambda row: -row.sent)[:CHART_ROWS]
    series = [Series(row.label, [ratio(row.per_bucket[start]["notices_registered"],
                                       row.per_bucket[start]["notices_sent"]) for start in starts])
              for row in shown]
    return line_chart([bucket_label(start, period.bucket) for start in starts], series, title=title, percent=True)
