"""A company's console pages of the relay: its ledger of credits and slots, and its referral requests (紹介依頼)
with the introductions it received. A registrant's profile appears only once they consented to this
introduction; before, the page says only that someone is waiting to be asked."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from tsunagu.companies.console import company_view
from tsunagu.companies.models import Role
from tsunagu.relay.actions import introductions as introduction_actions
from tsunagu.relay.actions import requests as request_actions
from tsunagu.relay.introduction_consent import provided_items
from tsunagu.relay.models import (
    EmploymentType,
    Introduction,
    IntroductionStatus,
    LedgerEntry,
    Outcome,
    ReferralRequest,
    RequestStatus,
)
from tsunagu.relay.selectors import SLOT_STATE_LABELS, ledger_summary, request_history, request_slot_state

REQUEST_FIELDS = ("title", "description", "location", "salary_min", "salary_max", "employment_type", "headcount",
                  "deadline")


def _request_form_context(request, summary, *, values=None, errors=None):
    return {
        "can_file": summary.slots_available > 0 and request.membership.can_edit,
        "employment_types": EmploymentType.choices,
        "values": values or {"employment_type": EmploymentType.FULL_TIME, "headcount": 1},
        "errors": errors or {},
    }


@company_view(see=Role.VIEWER)
def ledger(request):
    company = request.company
    # The candidate as the company knows them (its own application data), not what they told the operator.
    entries = LedgerEntry.objects.filter(company=company).select_related("registration__candidate")
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    summary = ledger_summary(company)
    open_requests = ReferralRequest.objects.filter(company=company, status=RequestStatus.OPEN)
    return render(request, "relay/ledger.html", {
        "summary": summary, "page": page, "open_requests": open_requests,
        **_request_form_context(request, summary),
    })


@company_view(see=Role.VIEWER, do=Role.RECRUITER)
def referral_requests(request):
    """The company's referral requests; POST files one (admins and recruiters; viewers get 403)."""
    company = request.company
    summary = ledger_summary(company)
    status = 200
    form_context = _request_form_context(request, summary)
    if request.method == "POST":
        values = {field: request.POST.get(field, "") for field in REQUEST_FIELDS}
        try:
            filed = request_actions.file_request(company, request_actions.RequestForm(**values), user=request.user)
        except request_actions.NoSlotAvailable as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("console:ledger")
        except ValidationError as exc:
            status = 400
            form_context = _request_form_context(request, summary, values=values, errors=exc.message_dict)
        else:
            messages.success(request, _("紹介依頼を受け付けました。無料紹介枠を1つ確保しました。"))
            return redirect("console:referral_request", pk=filed.pk)
    referrals = ReferralRequest.objects.filter(company=company).prefetch_related("introductions")
    page = Paginator(referrals, 30).get_page(request.GET.get("page"))
    return render(request, "relay/referral_requests.html", {
        "summary": summary, "page": page, **form_context,
    }, status=status)


def _company_request(request, pk: int) -> ReferralRequest:
    # Another company's request is simply not found.
    return get_object_or_404(ReferralRequest, company=request.company, pk=pk)


@company_view(see=Role.VIEWER)
def referral_request(request, pk: int):
    referral = _company_request(request, pk)
    rows = []
    for introduction in referral.introductions.select_related("registrant").order_by("created_at", "pk"):
        introduced = introduction.status == IntroductionStatus.INTRODUCED
        rows.append({"introduction": introduction, "introduced": introduced,
                     "profile": provided_items(introduction) if introduced else None})
    return render(request, "relay/referral_request.html", {
        "referral": referral, "rows": rows, "history": request_history(referral),
        "slot_state": SLOT_STATE_LABELS[request_slot_state(referral)],
        "waiting": sum(1 for row in rows if row["introduction"].status in (
            IntroductionStatus.PROPOSED, IntroductionStatus.CONSENT_REQUESTED)),
        "outcomes": [(value, label) for value, label in Outcome.choices if value],
        "can_edit": request.membership.can_edit,
        "is_open": referral.status == RequestStatus.OPEN,
        "can_answer": referral.status != RequestStatus.CLOSED and request.membership.can_edit,
    })


@company_view(do=Role.RECRUITER)
def referral_request_close(request, pk: int):
    referral = _company_request(request, pk)
    try:
        request_actions.close_request(referral, user=request.user, reason=request.POST.get("reason", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("紹介依頼を終了しました。"))
    return redirect("console:referral_request", pk=referral.pk)


@company_view(do=Role.RECRUITER)
def introduction_outcome(request, pk: int):
    introduction = get_object_or_404(Introduction.objects.select_related("request"),
                                     request__company=request.company, pk=pk)
    try:
        introduction_actions.record_outcome(introduction, request.POST.get("outcome", ""), user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("選考結果を記録しました。"))
    return redirect("console:referral_request", pk=introduction.request_id)
