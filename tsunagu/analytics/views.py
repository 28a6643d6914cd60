from functools import wraps

from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from tsunagu.analytics.ab_testing import MIN_EXPECTED, MIN_SENT, SIGNIFICANCE, variant_stats
from tsunagu.analytics.actions import rollup
from tsunagu.analytics.daily import CHANNEL, REASON
from tsunagu.analytics.dashboard import dashboard as dashboard_figures
from tsunagu.analytics.funnel import BY, funnel
from tsunagu.analytics.periods import KINDS, PeriodError, period_from
from tsunagu.analytics.variants import registration_chart, variant_rows
from tsunagu.companies.console import company_view
from tsunagu.companies.models import Role
from tsunagu.messaging.models import Message, MessageStatus
from tsunagu.messaging.template_sets import slot_url
from tsunagu.relay.selectors import ledger_summary

REPORT_ROWS = 20


def current_period(request):
    """The period the query string asks for, or the error to show (a 400 page)."""
    try:
        return period_from(request.GET, timezone.localdate()), None
    except PeriodError as error:
        return None, str(error)


def period_error(request, message):
    return render(request, "analytics/period_error.html", {"message": message}, status=400)


def period_view(view):
    """A page or file about a period (under company_view): a malformed period is a 400 page saying why;
    otherwise the counts are brought up to date and the view gets request.period and request.counts."""
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        period, error = current_period(request)
        if error:
            return period_error(request, error)
        request.period = period
        request.counts = rollup.refresh_for_reading(request.company)
        return view(request, *args, **kwargs)

    return wrapped


@company_view(see=Role.VIEWER)
@period_view
def dashboard(request):
    company, period = request.company, request.period
    return render(request, "analytics/dashboard.html", {
        "figures": dashboard_figures(company, period), "period": period, "kinds": KINDS, "state": request.counts,
        "funnel_by": BY, "ledger": ledger_summary(company),
        "scheduled": Message.objects.filter(company=company, status=MessageStatus.SCHEDULED).count(),
        # Newest first by id: the (company, status) index gives them in that order, where the model's ordering
        # by created_at made the database sort every failed mail of the company (~100,000 in a large one).
        "recent_failures": Message.objects.filter(company=company, status=MessageStatus.FAILED).order_by("-pk")[:5],
        "upcoming": Message.objects.filter(company=company, status=MessageStatus.SCHEDULED).order_by("send_at")[:5],
    })


@company_view(see=Role.VIEWER)
@period_view
def template_variants(request):
    """The A/B numbers of the company's template variants (shown among the template pages)."""
    period, state = request.period, request.counts
    stats = variant_stats(request.company)
    for group in stats:
        group.edit_url = slot_url("console:template_edit", group.kind, group.slot)
    rows = variant_rows(request.company, period)
    return render(request, "analytics/template_variants.html", {
        "stats": stats, "min_sent": MIN_SENT, "min_expected": MIN_EXPECTED,
        "significance": f"{SIGNIFICANCE:.0%}", "period": period, "kinds": KINDS, "state": state,
        "period_rows": rows,
        "period_chart": registration_chart(request.company, period, rows, _("パターン別の登録率の推移")),
    })


@company_view(see=Role.VIEWER)
@period_view
def report(request):
    """The dashboard of a period as one printable page HR can forward (print to PDF from the browser)."""
    company, period, state = request.company, request.period, request.counts
    channels, _total = funnel(company, period, CHANNEL)
    reasons, _total = funnel(company, period, REASON, sort="rejections")
    return render(request, "analytics/report.html", {
        "figures": dashboard_figures(company, period), "period": period, "state": state,
        "channels": channels[:REPORT_ROWS], "reasons": reasons[:REPORT_ROWS], "generated_at": timezone.now(),
    })
