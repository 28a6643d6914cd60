"""A company's console pages of the relay: its ledger of credits and slots."""

from django.core.paginator import Paginator
from django.shortcuts import render

from tsunagu.companies.console import company_view
from tsunagu.relay.models import LedgerEntry, Registration
from tsunagu.relay.selectors import ledger_summary


@company_view()
def ledger(request):
    company = request.company
    entries = LedgerEntry.objects.filter(company=company).select_related("registration", "created_by")
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    registrations = Registration.objects.filter(company=company).select_related("candidate")[:20]
    return render(request, "relay/ledger.html", {
        "summary": ledger_summary(company), "page": page, "registrations": registrations,
    })
