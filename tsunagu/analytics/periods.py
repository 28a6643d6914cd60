"""The period a dashboard, table or API answer is about: whole company-local days, first and last included,
and the period it is compared with (the one just before, of the same kind)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

MAX_DAYS = 3 * 366 + 1
EARLIEST = date(2000, 1, 1)
KINDS = {
    "month": gettext_lazy("今月"),
    "last_month": gettext_lazy("先月"),
    "quarter": gettext_lazy("今四半期"),
    "fiscal_year": gettext_lazy("今年度(4月〜)"),
    "year": gettext_lazy("今年"),
    "custom": gettext_lazy("期間を指定"),
}


# One named calendar month (`month=2026-10`, the link in the monthly summary mail), compared with the month
# before: the same figures whenever the link is opened. Not a tab of the period selector.
CALENDAR_MONTH = "calendar_month"


class PeriodError(ValueError):
    """A period the request asked for that cannot be answered; the message says why, for the person."""


@dataclass(frozen=True)
class Period:
    first: date
    last: date
    kind: str = "custom"

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def bucket(self) -> str:
        """How trends are drawn: by week for up to a quarter, by month beyond."""
        return "week" if self.days <= 93 else "month"

    def previous(self) -> Period:
        if self.kind in {"month", "last_month", CALENDAR_MONTH}:
            last = self.first - timedelta(days=1)
            return Period(last.replace(day=1), last, self.kind)
        if self.kind == "quarter":
            return Period(add_months(self.first, -3), self.first - timedelta(days=1), self.kind)
        if self.kind in {"fiscal_year", "year"}:
            return Period(add_months(self.first, -12), self.first - timedelta(days=1), self.kind)
        return Period(self.first - timedelta(days=self.days), self.first - timedelta(days=1), "custom")

    def months(self) -> list[date]:
        """The first day of every month the period touches."""
        months, month = [], self.first.replace(day=1)
        while month <= self.last:
            months.append(month)
            month = add_months(month, 1)
        return months

    @property
    def query(self) -> str:
        """The query string that asks for this period again (links to tables, CSV, the report)."""
        if self.kind == CALENDAR_MONTH:
            return f"month={self.first:%Y-%m}"
        if self.kind == "custom":
            return f"from={self.first.isoformat()}&to={self.last.isoformat()}"
        return f"period={self.kind}"

    @property
    def whole_months(self) -> bool:
        return self.first.day == 1 and (self.last + timedelta(days=1)).day == 1


def add_months(day: date, n: int) -> date:
    """The first day of the month n months from day's month."""
    index = day.year * 12 + day.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def named_period(kind: str, today: date) -> Period:
    month = today.replace(day=1)
    if kind == "month":
        return Period(month, add_months(month, 1) - timedelta(days=1), kind)
    if kind == "last_month":
        first = add_months(month, -1)
        return Period(first, month - timedelta(days=1), kind)
    if kind == "quarter":
        first = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
        return Period(first, add_months(first, 3) - timedelta(days=1), kind)
    if kind == "fiscal_year":
        first = date(today.year if today.month >= 4 else today.year - 1, 4, 1)
        return Period(first, add_months(first, 12) - timedelta(days=1), kind)
    if kind == "year":
        return Period(date(today.year, 1, 1), date(today.year, 12, 31), kind)
    raise PeriodError(_("期間の種類が不明です。"))


def parse_day(text: str, name: str) -> date:
    try:
        day = date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise PeriodError(_("%(name)s は YYYY-MM-DD の形式の日付で指定してください。") % {"name": name}) from None
    if not EARLIEST <= day <= date(2100, 12, 31):
        raise PeriodError(_("%(name)s は2000年から2100年までの日付で指定してください。") % {"name": name})
    return day


def custom_period(first_text: str, last_text: str) -> Period:
    first, last = parse_day(first_text, "from"), parse_day(last_text, "to")
    if last < first:
        raise PeriodError(_("終了日(to)は開始日(from)以降の日付にしてください。"))
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError(_("期間は3年以内で指定してください。"))
    return Period(first, last, "custom")


def calendar_month(text: str) -> Period:
    """`2026-10`: that month, compared with the month before."""
    try:
        year, month = (int(part) for part in re.fullmatch(r"(\d{4})-(\d{2})", text.strip()).groups())
        first = date(year, month, 1)
    except (ValueError, AttributeError):
        raise PeriodError(_("month は YYYY-MM の形式で指定してください。")) from None
    if not EARLIEST <= first <= date(2100, 12, 1):
        raise PeriodError(_("month は2000年から2100年までの月で指定してください。"))
    return Period(first, add_months(first, 1) - timedelta(days=1), CALENDAR_MONTH)


def period_from(params, today: date) -> Period:
    """The period a query string asks for: `period=<kind>`, `month=YYYY-MM` (one calendar month), or
    `from=YYYY-MM-DD&to=YYYY-MM-DD` (both days included); this month when it says nothing."""
    if params.get("month"):
        return calendar_month(params["month"])
    first, last = params.get("from"), params.get("to")
    kind = params.get("period") or ("custom" if first or last else "month")
    if kind == "custom":
        if not first or not last:
            raise PeriodError(_("期間を指定するときは from と to の両方を YYYY-MM-DD で指定してください。"))
        return custom_period(first, last)
    if kind not in KINDS:
        raise PeriodError(_("期間の種類が不明です。"))
    return named_period(kind, today)
