"""The console's re-applications: the list (the notification, with its unread count), one re-application with
the person's history (earlier applications, evaluation, reasons, note, tags, the mail Tsunagu sent them), HR's
answer for a probable match (same person / different people), merging two records, and each member's choice
of alert mail."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from tsunagu.companies.access_log import log_console
from tsunagu.companies.console import company_view, has_role
from tsunagu.companies.models import AccessAction, Role
from tsunagu.messaging.actions import reapplication_alerts
from tsunagu.messaging.models import OPERATOR_KINDS, Message
from tsunagu.talent.actions import reapplications
from tsunagu.talent.models import Application, CandidateTag, MatchKind, Reapplication, ReviewStatus

FILTERS = ("open", "probable", "all")


@company_view(see=Role.VIEWER)
def reapplication_list(request):
    rows = (Reapplication.objects.filter(company=request.company)
            .select_related("candidate", "previous", "application__job"))
    shown = request.GET.get("show", "all")
    if shown == "open":
        rows = rows.filter(seen_at__isnull=True)
    elif shown == "probable":
        rows = rows.filter(match=MatchKind.PROBABLE, status=ReviewStatus.OPEN)
    else:
        shown = "all"
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    membership = request.membership
    return render(request, "messaging/reapplications.html", {
        "page": page, "show": shown,
        "mail_on": (membership.reapplication_mail if membership.reapplication_mail is not None
                    else membership.role == Role.ADMIN),
        "mail_default": membership.reapplication_mail is None,
    })


@company_view(see=Role.VIEWER)
def reapplication_detail(request, reapplication_id: int):
    reapplication = get_object_or_404(
        Reapplication.objects.select_related("candidate", "previous", "application__job", "reviewed_by"),
        company=request.company, pk=reapplication_id)
    reapplications.mark_seen(request.company, reapplication)
    log_console(request, AccessAction.VIEW, "reapplication", reapplication.pk)
    same_record = reapplication.candidate_id == reapplication.previous_id
    people = [reapplication.previous] if same_record else [reapplication.previous, reapplication.candidate]
    can_act = has_role(request.membership, Role.RECRUITER)
    return render(request, "messaging/reapplication_detail.html", {
        "r": reapplication, "same_record": same_record,
        "history": _history(request.company, reapplication, people),
        "can_review": can_act and not same_record and reapplication.match == MatchKind.PROBABLE
        and reapplication.status == ReviewStatus.OPEN,
        "can_merge": can_act and not same_record and reapplication.status != ReviewStatus.SEPARATE
        and reapplication.status != ReviewStatus.MERGED
        and (reapplication.match == MatchKind.EXACT or reapplication.status == ReviewStatus.CONFIRMED),
    })


def _history(company, reapplication: Reapplication, people) -> list[dict]:
    """Per record: its applications (newest first) with what Tsunagu sent for each, its tags and note."""
    ids = [person.pk for person in people]
    applications = list(Application.objects.filter(company=company, candidate_id__in=ids)
                        .select_related("job").order_by("-pk"))
    sent: dict[int, list[Message]] = {}
    for message in (Message.objects.filter(company=company, application__in=applications)
                    .exclude(kind__in=OPERATOR_KINDS).order_by("created_at", "pk")):
        sent.setdefault(message.application_id, []).append(message)
    tags: dict[int, list[CandidateTag]] = {}
    for tag in CandidateTag.objects.filter(company=company, candidate_id__in=ids):
        tags.setdefault(tag.candidate_id, []).append(tag)
    return [{
        "person": person,
        "tags": tags.get(person.pk, []),
        "applications": [{"application": a, "messages": sent.get(a.pk, []),
                          "is_new": a.pk == reapplication.application_id}
                         for a in applications if a.candidate_id == person.pk],
    } for person in people]


@company_view(do=Role.RECRUITER)
def reapplication_review(request, reapplication_id: int):
    get_object_or_404(Reapplication, company=request.company, pk=reapplication_id)
    try:
        reviewed = reapplications.review(request.company, reapplication_id,
                                         decision=request.POST.get("decision", ""), user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if reviewed.status == ReviewStatus.CONFIRMED:
            messages.success(request, _("同一人物として記録しました。2件の記録を統合できます。"))
        else:
            messages.success(request, _("別人として記録しました。この2人について再び確認を求めることはありません。"))
    return redirect("console:reapplication", reapplication_id)


@company_view(do=Role.RECRUITER)
def reapplication_merge(request, reapplication_id: int):
    get_object_or_404(Reapplication, company=request.company, pk=reapplication_id)
    try:
        keep = reapplications.merge_reapplication(request.company, reapplication_id, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("console:reapplication", reapplication_id)
    messages.success(request, _("%(name)sさんの記録を1つに統合しました。") % {"name": keep.name})
    return redirect("console:reapplication", reapplication_id)


@company_view(do=Role.VIEWER)
def reapplication_mail(request):
    """The member's own choice (any role): re-application alerts by mail or not."""
    wants = request.POST.get("mail")
    if wants not in ("on", "off"):
        messages.error(request, _("受け取るか受け取らないかを選んでください。"))
    else:
        reapplication_alerts.set_alert_mail(request.membership, wants == "on")
        messages.success(request, _("再応募のお知らせメールを受け取ります。") if wants == "on"
                         else _("再応募のお知らせメールを受け取りません。"))
    return redirect("console:reapplications")
