"""The operator's desk (relay-operator staff only): its home, and the contract with each client company.

The other parts of the desk are modules of their own: `operator_registrants` (the registrants, their notes
and the CSV export), `operator_review` (held registrations and reversals), `operator_identity` (who the
operator is, its API keys)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from tsunagu.companies.console import operator_view
from tsunagu.companies.models import Company
from tsunagu.relay.actions import contracts as contract_actions
from tsunagu.relay.actions import ledger as ledger_actions
from tsunagu.relay.models import (
    Contract,
    CreditStatus,
    LedgerEntry,
    ReferralRequest,
    Registrant,
    Registration,
    RequestStatus,
)
from tsunagu.relay.selectors import ledger_summary
from tsunagu.relay.views.operator_forms import ContractForm

COMPANIES_PER_PAGE = 50


def _tenant(slug: str) -> Company:
    # The operator's own party has no contract and no ledger: only client companies are found here.
    return get_object_or_404(Company.objects.tenants(), slug=slug)


@operator_view(see=True)
def operator(request):
    """The desk's home: what needs doing (held registrations), the registrants, and every client company's
    contract and ledger."""
    q = request.GET.get("q", "").strip()[:100]
    companies = Company.objects.tenants().order_by("name", "pk")
    if q:
        companies = companies.filter(Q(name__icontains=q) | Q(slug__icontains=q))
    page = Paginator(companies, COMPANIES_PER_PAGE).get_page(request.GET.get("page"))
    contracts = {c.company_id: c for c in Contract.objects.filter(company__in=list(page.object_list))}
    rows = [(company, contracts.get(company.pk), ledger_summary(company)) for company in page.object_list]
    month_start = timezone.localdate().replace(day=1)
    return render(request, "relay/operator.html", {
        "rows": rows, "page": page, "q": q,
        "held": Registration.objects.filter(credit_status=CreditStatus.HELD).count(),
        "registrants": Registrant.objects.count(),
        "registrants_this_month": Registrant.objects.filter(created_at__date__gte=month_start).count(),
        "open_requests": ReferralRequest.objects.filter(status=RequestStatus.OPEN).count(),
    })


@operator_view(see=True)
def operator_company(request, slug: str):
    """One client company: its contract (editable), its credits and slots, and its latest ledger entries."""
    company = _tenant(slug)
    form = ContractForm(instance=Contract.objects.filter(company=company).first() or Contract(company=company))
    return _company_page(request, company, form)


def _company_page(request, company: Company, form: ContractForm, status: int = 200):
    entries = (LedgerEntry.objects.filter(company=company)
               .select_related("registration", "created_by").order_by("-created_at", "-pk")[:30])
    return render(request, "relay/operator_company.html", {
        "company": company, "form": form, "summary": ledger_summary(company), "entries": entries,
    }, status=status)


@operator_view(do=True)
def operator_contract(request, slug: str):
    company = _tenant(slug)
    form = ContractForm(request.POST, instance=Contract(company=company))
    if not form.is_valid():
        return _company_page(request, company, form, status=400)
    try:
        contract_actions.set_contract(company, ratio=form.cleaned_data["ratio"], fee_yen=form.cleaned_data["fee_yen"],
                                      starts_on=form.cleaned_data["starts_on"])
    except ValidationError as exc:
        form.add_error(None, exc)
        return _company_page(request, company, form, status=400)
    messages.success(request, _("%(company)sとの契約を保存しました。") % {"company": company.name})
    return redirect("console:operator_company", slug=company.slug)


@operator_view(do=True)
def operator_redeem(request, slug: str):
    """A free slot used outside a referral request (e.g. a referral agreed by telephone), with a note."""
    company = _tenant(slug)
    try:
        ledger_actions.redeem_slot(company, user=request.user, note=request.POST.get("note", ""))
        messages.success(request, _("%(company)sの無料紹介枠を1つ利用済みにしました。") % {"company": company.name})
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("console:operator_company", slug=company.slug)
