"""The operator's side of referral requests (relay-operator staff only): the companies' requests, and on each
one the registrants proposed for it, the search for more, and proposing one with a recommendation."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from tsunagu.companies.console import operator_view
from tsunagu.relay.actions import introductions as introduction_actions
from tsunagu.relay.models import Introduction, IntroductionStatus, ReferralRequest, Registrant, RequestStatus
from tsunagu.relay.selectors import (
    EVENT_LABELS,
    SLOT_STATE_LABELS,
    proposal_refusals,
    request_slot_state,
    search_registrants,
)

SEARCH_RESULTS = 20


def _requests():
    # Requests of client companies only (the operator's own party files none).
    return ReferralRequest.objects.filter(company__is_operator=False).select_related("company")


@operator_view(see=True)
def desk_requests(request):
    status = request.GET.get("status", RequestStatus.OPEN)
    referrals = _requests().annotate(
        proposed=Count("introductions"),
        introduced=Count("introductions", filter=Q(introductions__status=IntroductionStatus.INTRODUCED)),
        waiting=Count("introductions", filter=Q(introductions__status=IntroductionStatus.CONSENT_REQUESTED)),
    )
    if status in RequestStatus.values:
        referrals = referrals.filter(status=status)
    else:
        status = ""
    # The oldest open request first: it has waited longest for a proposal.
    referrals = (referrals.order_by("created_at", "pk") if status == RequestStatus.OPEN
                 else referrals.order_by("-created_at", "-pk"))
    page = Paginator(referrals, 50).get_page(request.GET.get("page"))
    return render(request, "relay/requests_desk.html", {
        "page": page, "status": status, "statuses": RequestStatus.choices,
    })


@operator_view(see=True)
def desk_request(request, pk: int):
    referral = get_object_or_404(_requests(), pk=pk)
    introductions = referral.introductions.select_related("registrant", "proposed_by").order_by("created_at", "pk")
    q = request.GET.get("q", "").strip()[:100]
    results = []
    if q and referral.status == RequestStatus.OPEN:
        found = list(search_registrants(q)[:SEARCH_RESULTS])
        refusals = proposal_refusals(referral, found)
        results = [(registrant, refusals.get(registrant.pk)) for registrant in found]
    events = [(event, EVENT_LABELS.get(event.kind, event.kind))
              for event in referral.events.select_related("actor", "introduction__registrant")]
    return render(request, "relay/requests_desk_detail.html", {
        "referral": referral, "introductions": introductions, "q": q, "results": results, "events": events,
        "slot_state": SLOT_STATE_LABELS[request_slot_state(referral)],
        "is_open": referral.status == RequestStatus.OPEN,
        "withdrawable": {IntroductionStatus.PROPOSED, IntroductionStatus.CONSENT_REQUESTED},
    })


@operator_view(do=True)
def desk_propose(request, pk: int):
    referral = get_object_or_404(_requests(), pk=pk)
    raw = request.POST.get("registrant", "")
    registrant = Registrant.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
    if registrant is None:
        messages.error(request, _("推薦する登録者を選んでください。"))
        return redirect("console:desk_request", pk=referral.pk)
    try:
        introduction_actions.propose(referral, registrant, recommendation=request.POST.get("recommendation", ""),
                                     user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%(name)s様に、推薦への同意をお願いするメールを送りました。") % {"name": registrant.name})
    return redirect("console:desk_request", pk=referral.pk)


@operator_view(do=True)
def desk_withdraw(request, pk: int):
    introduction = get_object_or_404(Introduction.objects.filter(request__company__is_operator=False), pk=pk)
    try:
        introduction_actions.withdraw(introduction, user=request.user, reason=request.POST.get("reason", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("推薦を取り下げました。"))
    return redirect("console:desk_request", pk=introduction.request_id)
