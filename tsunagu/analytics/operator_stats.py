"""The relay operator's figures across client companies, by company and calendar month (issue 14, part 7).

Each figure falls in the month of its own timestamp, in the operator's time (settings.TIME_ZONE, Asia/Tokyo):
a registration by its creation, with its current credit status; a slot by its ledger entry; a referral request
when it was filed; an introduction when it was proposed; a hire when the company answered 入社 (the latest
"outcome" event of an introduction whose outcome is hired: a hire is final). Every figure is counted by the
database (one grouped query per source); Python only merges the grouped rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, TruncMonth

from tsunagu.analytics.periods import add_months
from tsunagu.companies.models import Company
from tsunagu.relay.models import (
    CreditStatus,
    Introduction,
    LedgerEntry,
    LedgerKind,
    Outcome,
    ReferralRequest,
    Registration,
    RequestEvent,
)

MAX_MONTHS = 24


class RangeError(ValueError):
    """The months asked for are the wrong way round or more than MAX_MONTHS."""


@dataclass(frozen=True)
class Row:
    """One company's figures for one month 'YYYY-MM'; the totals rows have company None and/or month ""."""

    company: Company | None
    month: str
    registrations: int = 0
    credited: int = 0
    held: int = 0
    voided: int = 0
    duplicate: int = 0
    slots_earned: int = 0
    slots_reserved: int = 0
    slots_redeemed: int = 0
    slots_revoked: int = 0
    requests: int = 0
    introductions: int = 0
    hires: int = 0

    @property
    def is_total(self) -> bool:
        return self.company is None

    @property
    def figures(self) -> list[tuple[str, int]]:
        return [(name, getattr(self, name)) for name in FIGURES]


# The figures of a row, in the order the page and the CSV show them.
FIGURES: tuple[str, ...] = tuple(field.name for field in fields(Row) if field.name not in ("company", "month"))


def operator_time_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def month_start(day: date) -> date:
    return day.replace(day=1)


def months_between(start: date, end: date) -> int:
    """How many calendar months from start's month to end's month, both included."""
    return (end.year - start.year) * 12 + end.month - start.month + 1


def check_range(start: date, end: date) -> None:
    if end < month_start(start):
        raise RangeError("the end month is before the start month")
    if months_between(start, end) > MAX_MONTHS:
        raise RangeError(f"at most {MAX_MONTHS} months")


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    zone = operator_time_zone()
    first, after = month_start(start), add_months(end, 1)
    return (datetime(first.year, first.month, 1, tzinfo=zone), datetime(after.year, after.month, 1, tzinfo=zone))


def _grouped(queryset, timestamp: str, company: str, counts: dict) -> Iterable[dict]:
    """queryset's rows counted per company (at the path `company`) and month of `timestamp`, in the operator's
    time: one grouped query."""
    return (queryset.annotate(month=TruncMonth(timestamp, tzinfo=operator_time_zone()))
            .values("month", company_key=F(company))
            .annotate(**counts).order_by())


def _slot(kind: str) -> Count:
    return Count("pk", filter=Q(kind=kind))


def _sources(since: datetime, until: datetime):
    """(queryset, timestamp field, company path, counts) for each source of figures."""
    hired_at = Coalesce(Subquery(RequestEvent.objects.filter(introduction=OuterRef("pk"), kind="outcome")
                                 .order_by("-created_at", "-pk").values("created_at")[:1]), "updated_at")
    return [
        (Registration.objects.filter(**_within("created_at", since, until)), "created_at", "company_id", {
            "registrations": Count("pk"),
            **{name: Count("pk", filter=Q(credit_status=status)) for name, status in (
                ("credited", CreditStatus.CREDITED), ("held", CreditStatus.HELD),
                ("voided", CreditStatus.VOIDED), ("duplicate", CreditStatus.DUPLICATE))},
        }),
        (LedgerEntry.objects.filter(**_within("created_at", since, until), kind__in=[
            LedgerKind.SLOT_EARNED, LedgerKind.SLOT_RESERVED, LedgerKind.SLOT_REDEEMED, LedgerKind.SLOT_REVOKED]),
         "created_at", "company_id", {
            "slots_earned": _slot(LedgerKind.SLOT_EARNED), "slots_reserved": _slot(LedgerKind.SLOT_RESERVED),
            "slots_redeemed": _slot(LedgerKind.SLOT_REDEEMED), "slots_revoked": _slot(LedgerKind.SLOT_REVOKED)}),
        (ReferralRequest.objects.filter(**_within("created_at", since, until)), "created_at", "company_id",
         {"requests": Count("pk")}),
        (Introduction.objects.filter(**_within("created_at", since, until)), "created_at", "request__company_id",
         {"introductions": Count("pk")}),
        (Introduction.objects.filter(outcome=Outcome.HIRED).annotate(hired_at=hired_at)
         .filter(**_within("hired_at", since, until)), "hired_at", "request__company_id", {"hires": Count("pk")}),
    ]


def _within(field: str, since: datetime, until: datetime) -> dict:
    return {f"{field}__gte": since, f"{field}__lt": until}


def operator_monthly(start: date, end: date) -> list[Row]:
    """Every company's figures for each month from start's month to end's month (both included) in which it
    has any, ordered by company name and month, then one row of totals (company None, month ""). RangeError
    when end is before start or the range is more than MAX_MONTHS months."""
    check_range(start, end)
    since, until = _bounds(start, end)
    zone = operator_time_zone()
    merged: dict[tuple[int, str], dict[str, int]] = {}
    for queryset, timestamp, company, counts in _sources(since, until):
        for found in _grouped(queryset, timestamp, company, counts):
            key = (found["company_key"], found["month"].astimezone(zone).strftime("%Y-%m"))
            figures = merged.setdefault(key, {})
            for name in counts:
                figures[name] = figures.get(name, 0) + found[name]
    companies = Company.objects.in_bulk({company_id for company_id, _month in merged})
    rows = [Row(company=companies[company_id], month=month, **figures)
            for (company_id, month), figures in merged.items()]
    rows.sort(key=lambda row: (row.company.name, row.company.pk, row.month))
    return [*rows, total(rows)]


def total(rows: Iterable[Row], *, company: Company | None = None, month: str = "") -> Row:
    """The sum of rows (already counted by the database) as one row."""
    sums = dict.fromkeys(FIGURES, 0)
    for row in rows:
        for name in FIGURES:
            sums[name] += getattr(row, name)
    return Row(company=company, month=month, **sums)


def company_totals(rows: Iterable[Row]) -> list[Row]:
    """One row per company (month ""), summing its months, in the order the companies first appear."""
    by_company: dict[int, list[Row]] = {}
    for row in rows:
        if not row.is_total:
            by_company.setdefault(row.company.pk, []).append(row)
    return [total(months, company=months[0].company) for months in by_company.values()]


def month_totals(rows: Iterable[Row]) -> list[Row]:
    """One row per month over every company (company None), months ascending."""
    by_month: dict[str, list[Row]] = {}
    for row in rows:
        if not row.is_total:
            by_month.setdefault(row.month, []).append(row)
    return [total(by_month[month], month=month) for month in sorted(by_month)]
