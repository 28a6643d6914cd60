"""The operator's figures across client companies by month, as a page and as CSV (operator staff only)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tsunagu.analytics.operator_stats import (
    FIGURES,
    MAX_MONTHS,
    RangeError,
    Row,
    check_range,
    company_totals,
    month_totals,
    operator_monthly,
    operator_time_zone,
)
from tsunagu.analytics.periods import add_months
from tsunagu.companies.console import operator_view
from tsunagu.lib.spreadsheet import excel_csv_lines

DEFAULT_MONTHS = 6
MONTH = re.compile(r"\d{4}-\d{2}")
FIRST_YEAR, LAST_YEAR = 2000, 2100

# The column headings of each figure, on the page and in the CSV.
LABELS = {
    "registrations": gettext_lazy("登録"),
    "credited": gettext_lazy("クレジット付与"),
    "held": gettext_lazy("確認待ち"),
    "voided": gettext_lazy("無効"),
    "duplicate": gettext_lazy("登録済みの方"),
    "slots_earned": gettext_lazy("枠の獲得"),
    "slots_reserved": gettext_lazy("枠の確保"),
    "slots_redeemed": gettext_lazy("枠の利用"),
    "slots_revoked": gettext_lazy("枠の取り消し"),
    "requests": gettext_lazy("紹介依頼"),
    "introductions": gettext_lazy("推薦"),
    "hires": gettext_lazy("入社"),
}
SORTS = ("company", *FIGURES)


@dataclass
class Period:
    start: date | None
    end: date | None
    errors: list[str]

    @property
    def query(self) -> str:
        return f"from={self.start:%Y-%m}&to={self.end:%Y-%m}" if self.start and self.end else ""


def _month(value: str | None, errors: list[str], label: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    if MONTH.fullmatch(value):
        year, month = int(value[:4]), int(value[5:])
        if FIRST_YEAR <= year <= LAST_YEAR and 1 <= month <= 12:
            return date(year, month, 1)
    errors.append(_("%(label)sは 2026-12 の形(年-月)で入力してください。") % {"label": label})
    return None


def period_of(request) -> Period:
    """The months asked for (?from=YYYY-MM&to=YYYY-MM), by default the last six including this one."""
    errors: list[str] = []
    start = _month(request.GET.get("from"), errors, _("開始月"))
    end = _month(request.GET.get("to"), errors, _("終了月"))
    if errors:
        return Period(None, None, errors)
    end = end or timezone.localdate(timezone=operator_time_zone()).replace(day=1)
    start = start or add_months(end, 1 - DEFAULT_MONTHS)
    try:
        check_range(start, end)
    except RangeError:
        message = (_("終了月は開始月と同じか、それより後にしてください。") if end < start else
                   _("期間は%(months)dか月以内で指定してください。") % {"months": MAX_MONTHS})
        return Period(start, end, [message])
    return Period(start, end, [])


def _sorted(totals: list[Row], sort: str) -> list[Row]:
    name = sort.removeprefix("-")
    if name not in SORTS:
        return totals
    if name == "company":
        found = sorted(totals, key=lambda row: (row.company.name, row.company.pk))
    else:  # the largest first, then by name
        found = sorted(totals, key=lambda row: (-getattr(row, name), row.company.name, row.company.pk))
    return found[::-1] if sort.startswith("-") else found


@operator_view(see=True)
def operator_analytics(request):
    period = period_of(request)
    context = {"period": period, "labels": [(name, LABELS[name]) for name in FIGURES],
               "max_months": MAX_MONTHS}
    if period.errors:
        return render(request, "analytics/operator_analytics.html", context, status=400)
    rows = operator_monthly(period.start, period.end)
    sort = request.GET.get("sort", "company")
    totals = _sorted(company_totals(rows), sort)
    months_of = {}
    for row in rows[:-1]:
        months_of.setdefault(row.company.pk, []).append(row)
    sort = sort if sort.removeprefix("-") in SORTS else "company"
    context.update({
        "sort": sort, "headings": _headings(period, sort),
        "companies": [(company_total, months_of[company_total.company.pk]) for company_total in totals],
        "month_totals": month_totals(rows), "overall": rows[-1],
    })
    return render(request, "analytics/operator_analytics.html", context)


def _headings(period: Period, sort: str) -> list[tuple[str, str, str, str]]:
    """(name, label, link, aria-sort) of each sortable column: a second click on the sorted column reverses it."""
    found = []
    for name, label in (("company", _("企業")), *LABELS.items()):
        plain, reversed_ = ("ascending", "descending") if name == "company" else ("descending", "ascending")
        state = plain if sort == name else reversed_ if sort == f"-{name}" else ""
        target = f"-{name}" if sort == name else name
        found.append((name, str(label), f"?{period.query}&sort={target}", state))
    return found


def _csv_lines(rows: list[Row], period: Period):
    header = [_("企業"), _("スラッグ"), _("月"), *(LABELS[name] for name in FIGURES)]
    lines = [(row.company.name, row.company.slug, row.month, *(getattr(row, name) for name in FIGURES))
             for row in rows[:-1]]
    overall = rows[-1]
    lines.append((_("合計"), "", f"{period.start:%Y-%m}〜{period.end:%Y-%m}",
                  *(getattr(overall, name) for name in FIGURES)))
    return excel_csv_lines(header, lines)


@operator_view(see=True)
def operator_analytics_csv(request):
    period = period_of(request)
    if period.errors:
        return HttpResponse("\n".join(period.errors), status=400, content_type="text/plain; charset=utf-8")
    response = StreamingHttpResponse(_csv_lines(operator_monthly(period.start, period.end), period),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="operator-analytics-{period.start:%Y%m}-{period.end:%Y%m}.csv"')
    return response
