from django.shortcuts import render

from tsunagu.analytics.ab_testing import MIN_EXPECTED, MIN_SENT, SIGNIFICANCE, variant_stats
from tsunagu.analytics.selectors import loop_counts
from tsunagu.companies.console import company_view
from tsunagu.companies.models import Role
from tsunagu.messaging.models import Message, MessageStatus
from tsunagu.messaging.template_sets import slot_url


@company_view(see=Role.VIEWER)
def dashboard(request):
    company = request.company
    return render(request, "analytics/dashboard.html", {
        "counts": loop_counts(company),
        "recent_failures": Message.objects.filter(company=company, status=MessageStatus.FAILED)[:5],
        "upcoming": Message.objects.filter(company=company, status=MessageStatus.SCHEDULED).order_by("send_at")[:5],
    })


@company_view(see=Role.VIEWER)
def template_variants(request):
    """The A/B numbers of the company's template variants (shown among the template pages)."""
    stats = variant_stats(request.company)
    for group in stats:
        group.edit_url = slot_url("console:template_edit", group.kind, group.slot)
    return render(request, "analytics/template_variants.html", {
        "stats": stats, "min_sent": MIN_SENT, "min_expected": MIN_EXPECTED,
        "significance": f"{SIGNIFICANCE:.0%}",
    })
