"""The operator's review of registrations: the queue of held ones (approve → credit, void → none, each with
a reason) and, for a credit granted earlier and found not to be real, its reversal. The decisions are
relay.actions.review's; this module only asks and shows."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from tsunagu.companies.console import operator_view
from tsunagu.companies.models import Company
from tsunagu.relay import fraud
from tsunagu.relay.actions import review
from tsunagu.relay.models import CreditStatus, Registration
from tsunagu.relay.selectors import registrations_by_credit_status

REGISTRATIONS_PER_PAGE = 50


def reason_labels(reasons) -> list[tuple[str, str]]:
    """A registration's reasons as (code, words): a fraud signal's label, or an unknown code and a reviewer's
    words as they are."""
    return [(str(reason), fraud.label(str(reason))) for reason in reasons or []]


@operator_view(see=True)
def review_queue(request):
    status = request.GET.get("status") or CreditStatus.HELD
    if status not in CreditStatus.values:
        status = CreditStatus.HELD
    companies = Company.objects.tenants().order_by("name")
    company = companies.filter(slug=request.GET.get("company", "")).first() if request.GET.get("company") else None
    found = registrations_by_credit_status(status, company=company)
    page = Paginator(found, REGISTRATIONS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [(registration, reason_labels(registration.reasons)) for registration in page.object_list]
    counts = Registration.objects.aggregate(**{value: Count("pk", filter=Q(credit_status=value))
                                               for value in CreditStatus.values})
    return render(request, "relay/desk/review.html", {
        "page": page, "rows": rows, "status": status, "company": company, "companies": companies,
        "tabs": [(value, label, counts[value]) for value, label in CreditStatus.choices],
    })


def _back(request):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return redirect(target)
    return redirect("console:operator_review")


def _decide(request, pk: int, decision, done: str):
    registration = get_object_or_404(Registration.objects.select_related("company", "registrant"), pk=pk)
    try:
        decided = decision(registration, user=request.user, reason=request.POST.get("reason", ""))
    except ValidationError as exc:
        messages.error(request, f"{registration.name}: {' '.join(exc.messages)}")
        return _back(request)
    words = {"name": registration.name, "company": registration.company.name}
    if decided.credit_status == CreditStatus.DUPLICATE:
        # Approved, but the person earned a credit through another registration meanwhile: one person, one credit.
        messages.warning(request, _("%(name)sさん(%(company)s)は既に別の登録でクレジットされているため、"
                                    "重複として記録しました(クレジットは付きません)。") % words)
    else:
        messages.success(request, done % words)
    return _back(request)


@operator_view(do=True)
def approve(request, pk: int):
    return _decide(request, pk, review.approve, _("%(name)sさん(%(company)s)の登録を承認しました。"))


@operator_view(do=True)
def void(request, pk: int):
    return _decide(request, pk, review.void, _("%(name)sさん(%(company)s)の登録を無効にしました。"))


@operator_view(do=True)
def reverse(request, pk: int):
    return _decide(request, pk, review.reverse,
                   _("%(name)sさん(%(company)s)のクレジットを取り消しました。"))
