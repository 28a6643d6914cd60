"""The operator's desk (relay-operator staff only): every company's ledger and registrations."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tsunagu.companies.console import operator_view
from tsunagu.companies.models import Company
from tsunagu.relay.actions import ledger as ledger_actions
from tsunagu.relay.models import Registration
from tsunagu.relay.selectors import ledger_summary


@operator_view
def operator(request):
    companies = [(company, ledger_summary(company)) for company in Company.objects.tenants().order_by("name")]
    registrations = Registration.objects.select_related("company").order_by("-created_at")
    page = Paginator(registrations, 50).get_page(request.GET.get("page"))
    return render(request, "relay/operator.html", {"companies": companies, "page": page})


@require_POST
@operator_view
def operator_redeem(request, slug: str):
    company = get_object_or_404(Company, slug=slug)
    try:
        ledger_actions.redeem_slot(company, user=request.user, note=request.POST.get("note", ""))
        messages.success(request, _("%(company)sの無料紹介枠を1つ利用済みにしました。") % {"company": company.name})
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("console:operator")
