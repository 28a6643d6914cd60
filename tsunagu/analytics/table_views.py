"""The analysis tables of a period (funnel by 応募経路, job category, job, stage, rejection reason; the
trend), as pages and as CSV files Excel opens (UTF-8 with BOM)."""

from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tsunagu.analytics.daily import REASON, STAGE
from tsunagu.analytics.funnel import BY, SORTABLE, funnel, stage_columns
from tsunagu.analytics.periods import KINDS
from tsunagu.analytics.report import SUMMARY_METRICS, trend
from tsunagu.analytics.variants import variant_rows
from tsunagu.analytics.views import period_error, period_view
from tsunagu.companies.console import company_view
from tsunagu.companies.models import Role
from tsunagu.lib.spreadsheet import excel_csv_lines


def _rate(value) -> str:
    return "" if value is None else f"{value * 100:.1f}"


def _table(request):
    """(period, by, sort, descending, rows, total) or an error response."""
    period = request.period
    by = request.GET.get("by", "channel")
    if by not in BY:
        return None, period_error(request, _("集計の切り口(by)は %(choices)s のいずれかです。") % {
            "choices": ", ".join(BY)})
    sort = request.GET.get("sort", "")
    sort = sort if sort in SORTABLE else ("rejections" if by == REASON else "applications")
    descending = request.GET.get("dir", "desc") != "asc"
    rows, total = funnel(request.company, period, by, sort=sort, descending=descending)
    return (period, by, sort, descending, rows, total), None


# A company with thousands of jobs gets the first rows on the page and all of them in the CSV.
PAGE_ROWS = 300


@company_view(see=Role.VIEWER)
@period_view
def funnel_page(request):
    table, error = _table(request)
    if error:
        return error
    period, by, sort, descending, rows, total = table
    return render(request, "analytics/funnel.html", {
        "period": period, "by": by, "by_label": BY[by], "funnel_by": BY, "sort": sort, "descending": descending,
        "rows": rows[:PAGE_ROWS], "more_rows": max(0, len(rows) - PAGE_ROWS), "total": total,
        "stage_columns": stage_columns(), "kinds": KINDS,
    })


def funnel_header(by: str) -> list[str]:
    if by == STAGE:
        return [_("選考ステップ"), _("到達した応募"), _("次へ進んだ割合(%)"), _("このステップでの不採用")]
    if by == REASON:
        return [_("不採用理由"), _("不採用"), _("割合(%)")]
    return [str(BY[by]), _("応募"), *[f"{label}(%)" for _column, label in stage_columns()], _("不採用"),
            _("通知を送った人"), _("登録した人"), _("登録率(%)")]


def funnel_cells(by: str, row, total) -> list:
    if by == STAGE:
        return [row.label, row.applications, _rate(row.pass_rate(int(row.key))), row.rejections]
    if by == REASON:
        share = row.rejections / total.rejections if total.rejections else None
        return [row.label, row.rejections, _rate(share)]
    return [row.label, row.applications, *[_rate(rate) for rate in row.pass_rates], row.rejections,
            row.notices_sent, row.notices_registered, _rate(row.registration_rate)]


def csv_response(filename: str, header, rows) -> StreamingHttpResponse:
    response = StreamingHttpResponse(excel_csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@company_view(see=Role.VIEWER)
@period_view
def funnel_csv(request):
    table, error = _table(request)
    if error:
        return error
    period, by, _sort, _descending, rows, total = table
    lines = [funnel_cells(by, row, total) for row in rows]
    if by not in {STAGE, REASON}:
        lines.append(funnel_cells(by, total, total))
    return csv_response(f"funnel-{by}-{period.first}-{period.last}.csv", funnel_header(by), lines)


TREND_COLUMNS = {
    "rejections": gettext_lazy("不採用"),
    "notices_sent": gettext_lazy("通知を送った人"),
    "notices_clicked": gettext_lazy("リンクを開いた人"),
    "notices_registered": gettext_lazy("登録した人"),
    "registrations": gettext_lazy("登録(登録日ベース)"),
    "credits": gettext_lazy("クレジット"),
    "credits_reversed": gettext_lazy("クレジットの取り消し"),
    "slots_earned": gettext_lazy("獲得した無料紹介枠"),
    "slots_used": gettext_lazy("利用した無料紹介枠"),
    "followups_sent": gettext_lazy("フォローアップ送信"),
    "failed": gettext_lazy("送信失敗"),
    "bounced": gettext_lazy("不達"),
    "unsubscribed": gettext_lazy("配信停止"),
    "applications": gettext_lazy("応募"),
}


@company_view(see=Role.VIEWER)
@period_view
def trend_csv(request):
    period = request.period
    metrics = [metric for metric in TREND_COLUMNS if metric in SUMMARY_METRICS]
    figures = trend(request.company, period, metrics)
    header = [_("週の初日") if period.bucket == "week" else _("月"), *[TREND_COLUMNS[m] for m in metrics]]
    rows = [[start.isoformat(), *["" if figures.series[m][n] is None else figures.series[m][n] for m in metrics]]
            for n, start in enumerate(figures.starts)]
    return csv_response(f"trend-{period.first}-{period.last}.csv", header, rows)


@company_view(see=Role.VIEWER)
@period_view
def variants_csv(request):
    period = request.period
    rows = variant_rows(request.company, period)
    header = [_("テンプレート"), _("パターン"), _("送信"), _("リンクを開いた人"), _("クリック率(%)"), _("登録"),
              _("登録率(%)")]
    return csv_response(f"variants-{period.first}-{period.last}.csv", header, (
        [row.key[0], row.key[1], row.sent, row.clicked, _rate(row.click_rate), row.registered,
         _rate(row.registration_rate)] for row in rows))
