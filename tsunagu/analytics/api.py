"""The dashboard's numbers over the API: the same figures the console shows for a period."""

from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo

from django.utils import timezone, translation
from ninja import Query, Router, Schema
from ninja.errors import ValidationError
from pydantic import Field

from tsunagu.analytics.actions import rollup
from tsunagu.analytics.daily import JOB, STAGE
from tsunagu.analytics.dashboard import dashboard
from tsunagu.analytics.funnel import PASS_STAGES, funnel
from tsunagu.analytics.periods import PeriodError, custom_period, named_period
from tsunagu.lib.api_schemas import error_responses, refuse_unknown_query

router = Router()


class PeriodQuery(Schema):
    from_: date | None = Field(None, alias="from", description="First day (YYYY-MM-DD, the company's time zone); "
                                                               "this month when `from` and `to` are both absent")
    to: date | None = Field(None, description="Last day, included")


class FunnelQuery(PeriodQuery):
    by: Literal["channel", "stage", "job", "category", "reason"] = Field(
        "channel", description="channel (応募経路), stage, job, category (job category) or reason (rejection reason)")


class Rates(Schema):
    click_rate: float | None = Field(description="Notices whose link a person opened / notices sent")
    registration_rate: float | None = Field(description="Notices that led to a registration / notices sent")
    open_rate: float | None = Field(description="Indicative only: image loads are not people reading")
    on_time_rate: float | None = Field(description="Notices sent by the promised time / notices timed")
    follow_up_coverage: float | None = Field(description="Follow-ups due that were sent or stopped by a rule / due")
    bounce_rate: float | None
    unsubscribe_rate: float | None


class Money(Schema):
    fee_yen: int
    slots_earned: int
    slots_reserved: int
    slots_used: int
    saved_yen: int = Field(description="slots_used × fee_yen")
    projected_yen: int = Field(description="slots_earned × fee_yen")
    hiring_cost_yen: int | None = Field(description="As entered by HR for the months of the period")
    hires: int | None
    cost_per_hire: float | None = Field(description="Null unless costs are entered for every month of the period")
    cost_per_hire_without_relay: float | None


class SummaryOut(Schema):
    first: date
    last: date
    previous_first: date
    previous_last: date
    counts: dict[str, int]
    previous_counts: dict[str, int]
    rates: Rates
    delay_minutes_p50: int | None
    delay_minutes_p90: int | None
    money: Money
    complete: bool = Field(description="False while some days are still being counted (retry in a few minutes)")


class FunnelRowOut(Schema):
    key: str
    label: str
    applications: int
    rejections: int
    notices_sent: int
    notices_registered: int
    registration_rate: float | None
    pass_rates: dict[str, float | None] = Field(description="Stage number -> share of those reaching it who went on")


class FunnelOut(Schema):
    first: date
    last: date
    by: str
    rows: list[FunnelRowOut]
    total: FunnelRowOut


def _invalid(name: str, message: str) -> ValidationError:
    """The API's usual 422 (tsunagu/api.py): the problem and where it is."""
    return ValidationError([{"loc": ["query", name], "msg": message, "type": "value_error"}])


def _period(company, query: PeriodQuery):
    if query.from_ is None and query.to is None:
        return named_period("month", timezone.localdate(timezone=ZoneInfo(company.time_zone)))
    if query.from_ is None or query.to is None:
        raise _invalid("to" if query.to is None else "from", "give both `from` and `to`, or neither")
    try:
        with translation.override("en"):  # the API speaks English, as its other messages do
            return custom_period(query.from_.isoformat(), query.to.isoformat())
    except PeriodError as error:
        raise _invalid("to", str(error)) from None


@router.get("/summary", response={200: SummaryOut, **error_responses(401, 422)}, summary="The dashboard's figures")
def summary(request, query: Query[PeriodQuery]):
    """Counts, rates (null when the denominator is 0), delay percentiles and money for the period (days in the
    company's time zone, both ends included), with the previous period of the same length. `from` and `to`
    come together (or neither: this month), `to` not before `from`, at most three years, within 2000–2100;
    otherwise 422 naming them."""
    refuse_unknown_query(request, PeriodQuery)
    company = request.auth
    period = _period(company, query)
    complete = not rollup.refresh_for_reading(company).pending_days
    figures = dashboard(company, period)
    money = figures.money
    return {
        "first": period.first, "last": period.last, "previous_first": figures.previous.period.first,
        "previous_last": figures.previous.period.last, "counts": figures.current.counts,
        "previous_counts": figures.previous.counts, "rates": figures.current.rates,
        "delay_minutes_p50": figures.current.delay_p50, "delay_minutes_p90": figures.current.delay_p90,
        "money": {"fee_yen": money.fee_yen, "slots_earned": money.slots_earned, "slots_reserved": money.slots_reserved,
                  "slots_used": money.slots_used, "saved_yen": money.saved_yen, "projected_yen": money.projected_yen,
                  "hiring_cost_yen": money.cost_yen, "hires": money.hires, "cost_per_hire": money.cost_per_hire,
                  "cost_per_hire_without_relay": money.cost_per_hire_without_relay},
        "complete": complete,
    }


def _row(row, by: str) -> dict:
    stages = [int(row.key)] if by == STAGE else PASS_STAGES
    return {"key": row.key, "label": row.label, "applications": row.applications, "rejections": row.rejections,
            "notices_sent": row.notices_sent, "notices_registered": row.notices_registered,
            "registration_rate": row.registration_rate,
            "pass_rates": {str(stage): row.pass_rate(stage) for stage in stages if stage in PASS_STAGES}}


@router.get("/funnel", response={200: FunnelOut, **error_responses(401, 422)}, summary="The funnel by a dimension")
def funnel_table(request, query: Query[FunnelQuery]):
    """One row per 応募経路 (`by=channel`), job (`by=job`, keyed by the job's id, labelled by its title), job
    category, rejection reason or stage (`by=stage`, in the order of the process), and the total. The period
    as for the summary (422 naming `from`/`to` when it cannot be one)."""
    refuse_unknown_query(request, FunnelQuery)
    company = request.auth
    period = _period(company, query)
    rollup.refresh_for_reading(company)
    rows, total = funnel(company, period, query.by)
    return {"first": period.first, "last": period.last, "by": query.by,
            "rows": [_row(row, query.by) for row in rows], "total": _row(total, JOB)}
