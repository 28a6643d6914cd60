"""The funnel of a period by 応募経路, job category, job, stage or rejection reason (read only).

Applications are those that came in during the period, with the furthest stage each reached; the pass rate
of a stage (面接通過率 and the like) is the share of those that reached the stage who went beyond it.
Rejections are those of the period; notices and the registrations they led to are the notices sent in the
period (the registration rate is registrations through those notices over the notices sent).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tsunagu.analytics.daily import CATEGORY, CHANNEL, JOB, REASON, STAGE, STAGES, reached_metric
from tsunagu.analytics.periods import Period
from tsunagu.analytics.report import by_value, ratio, totals
from tsunagu.companies.models import Company
from tsunagu.talent.models import Job
from tsunagu.talent.stages import Stage

BY = {CHANNEL: gettext_lazy("応募経路"), CATEGORY: gettext_lazy("職種カテゴリ"), JOB: gettext_lazy("求人"),
      STAGE: gettext_lazy("選考ステップ"), REASON: gettext_lazy("不採用理由")}
# The stages whose pass rate the tables show (the last, 内定, has nothing beyond it in our data).
PASS_STAGES = [stage for stage in STAGES if stage < Stage.OFFER]
COLUMN_METRICS = ["applications", "rejections", "notices_sent", "notices_registered",
                  *[reached_metric(stage) for stage in STAGES]]
SORTABLE = ["label", "applications", "rejections", "notices_sent", "notices_registered", "registration_rate",
            *[f"pass_{stage}" for stage in PASS_STAGES]]


@dataclass
class FunnelRow:
    key: str
    label: str
    applications: int = 0
    rejections: int = 0
    notices_sent: int = 0
    notices_registered: int = 0
    reached: dict[int, int] = field(default_factory=dict)  # stage -> applications that reached at least it

    @property
    def registration_rate(self) -> float | None:
        return ratio(self.notices_registered, self.notices_sent)

    def pass_rate(self, stage: int) -> float | None:
        later = [s for s in STAGES if s > stage]
        return ratio(self.reached.get(later[0], 0), self.reached.get(stage, 0)) if later else None

    @property
    def pass_rates(self) -> list[float | None]:
        return [self.pass_rate(stage) for stage in PASS_STAGES]

    def sort_value(self, column: str):
        if column.startswith("pass_"):
            return self.pass_rate(int(column[5:]))
        return getattr(self, column)


def stage_columns() -> list[tuple[str, str]]:
    """(sort key, heading) of the pass-rate columns."""
    return [(f"pass_{stage}", _("%(stage)s通過率") % {"stage": Stage(stage).label}) for stage in PASS_STAGES]


def _row(key: str, label: str, counts: dict) -> FunnelRow:
    exact = {stage: counts.get(reached_metric(stage), 0) for stage in STAGES}
    reached = {stage: sum(n for s, n in exact.items() if s >= stage) for stage in STAGES}
    return FunnelRow(key, label, counts.get("applications", 0), counts.get("rejections", 0),
                     counts.get("notices_sent", 0), counts.get("notices_registered", 0), reached)


def _labels(company: Company, by: str, keys) -> dict[str, str]:
    if by == JOB:
        ids = [int(key) for key in keys if key.isdigit()]
        titles = dict(Job.objects.filter(company=company, pk__in=ids).values_list("pk", "title"))
        return {key: titles.get(int(key), _("(削除された求人)")) if key.isdigit() else _("(求人なし)")
                for key in keys}
    empty = {CHANNEL: _("(不明)"), CATEGORY: _("(未設定)"), REASON: _("(理由の記入なし)")}.get(by, "")
    return {key: key or empty for key in keys}


def funnel(company: Company, period: Period, by: str, *, sort: str = "applications",
           descending: bool = True) -> tuple[list[FunnelRow], FunnelRow]:
    """The rows of the table (sorted as asked) and the total row."""
    if by not in BY:
        raise ValueError(by)
    total = _row("", _("合計"), totals(company, period.first, period.last, COLUMN_METRICS))
    if by == STAGE:
        rejected_at = by_value(company, period.first, period.last, STAGE, ["rejections"])
        rows = []
        for stage in STAGES:
            row = FunnelRow(str(stage), str(Stage(stage).label), applications=total.reached[stage],
                            rejections=rejected_at.get(str(stage), {}).get("rejections", 0),
                            reached={stage: total.reached[stage]})
            later = [s for s in STAGES if s > stage]
            if later:
                row.reached[later[0]] = total.reached[later[0]]
            rows.append(row)
        return rows, total  # in the order of the process, not sorted
    metrics = ["rejections"] if by == REASON else COLUMN_METRICS
    table = by_value(company, period.first, period.last, by, metrics)
    labels = _labels(company, by, table)
    rows = [_row(key, labels[key], counts) for key, counts in table.items()]
    if sort not in SORTABLE:
        sort = "applications" if by != REASON else "rejections"
    # Rows without a value for the column (a rate with no denominator) go last either way.
    present = [row for row in rows if row.sort_value(sort) is not None]
    missing = [row for row in rows if row.sort_value(sort) is None]
    present.sort(key=lambda row: (row.sort_value(sort), row.label), reverse=descending)
    return present + sorted(missing, key=lambda row: row.label), total
