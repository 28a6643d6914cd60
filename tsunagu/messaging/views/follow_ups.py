"""The console's follow-up sequence: its steps (delay, conditions, kind), what each has planned and sent, and
adding, changing and deleting steps. Every write goes through actions/followups.py."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from tsunagu.companies.console import company_view
from tsunagu.companies.models import Role
from tsunagu.messaging.actions import followups
from tsunagu.messaging.defaults import months_to_days
from tsunagu.messaging.models import FollowUpStep, Message, MessageKind, MessageStatus
from tsunagu.messaging.template_sets import STEP_KINDS, Slot, observed_tags, slot_url
from tsunagu.messaging.views.templates import int_or, slot_choices
from tsunagu.talent.normalize import split_tags
from tsunagu.talent.stages import Stage


@company_view(see=Role.VIEWER)
def follow_ups(request):
    company = request.company
    counts: dict[int, dict[str, int]] = {}
    for row in (Message.objects.filter(company=company, step__gt=0).values("step", "status")
                .annotate(n=Count("pk")).order_by()):
        counts.setdefault(row["step"], {})[row["status"]] = row["n"]
    steps = []
    for step in FollowUpStep.objects.filter(company=company).order_by("delay_days", "step"):
        months = step.delay_days * 12 / 365
        steps.append({
            "step": step, "months": round(months) if abs(months - round(months)) < 0.05 else None,
            "reasons_text": "\n".join(step.rejection_reasons), "tags_text": "、".join(step.tags),
            "counts": counts.get(step.step, {}),
            "template_url": slot_url("console:template_edit", step.kind, Slot(step=step.step)),
        })
    return render(request, "messaging/follow_ups.html", {
        "steps": steps, "kinds": [(k, MessageKind(k).label) for k in STEP_KINDS],
        "stages": Stage.choices, "catch_up_days": followups.CATCH_UP_DAYS, **slot_choices(company),
        "tags": observed_tags(company), "statuses": MessageStatus,
    })


def _step_fields(data) -> dict:
    amount = int_or(data.get("delay"), -1)
    delay_days = months_to_days(amount) if data.get("unit") == "months" and amount > 0 else amount
    return {
        "kind": data.get("kind", MessageKind.FOLLOW_UP), "delay_days": delay_days,
        "min_stage": int_or(data.get("min_stage")), "tags": split_tags(data.get("tags", "")),
        "rejection_reasons": [line for line in data.get("rejection_reasons", "").splitlines() if line.strip()],
        "active": data.get("active") == "on",
    }


@company_view(do=Role.RECRUITER)
def follow_up_add(request):
    try:
        step = followups.add_follow_up_step(request.company, **_step_fields(request.POST))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("第%(step)d回を追加しました。") % {"step": step.step})
    return redirect("console:follow_ups")


@company_view(do=Role.RECRUITER)
def follow_up_update(request, step_id: int):
    try:
        step = followups.update_follow_up_step(request.company, step_id, **_step_fields(request.POST))
    except FollowUpStep.DoesNotExist as exc:
        raise Http404 from exc
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("第%(step)d回を保存しました。") % {"step": step.step})
    return redirect("console:follow_ups")


@company_view(do=Role.RECRUITER)
def follow_up_delete(request, step_id: int):
    try:
        followups.delete_follow_up_step(request.company, step_id)
    except FollowUpStep.DoesNotExist as exc:
        raise Http404 from exc
    messages.success(request, _("フォローアップの回を削除しました。"))
    return redirect("console:follow_ups")
