from django.shortcuts import render

from tsunagu.analytics.selectors import loop_counts
from tsunagu.companies.console import company_view
from tsunagu.messaging.models import Message, MessageStatus


@company_view()
def dashboard(request):
    company = request.company
    return render(request, "analytics/dashboard.html", {
        "counts": loop_counts(company),
        "recent_failures": Message.objects.filter(company=company, status=MessageStatus.FAILED)[:5],
        "upcoming": Message.objects.filter(company=company, status=MessageStatus.SCHEDULED).order_by("send_at")[:5],
    })
