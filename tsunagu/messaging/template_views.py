"""Console pages for templates and follow-ups: the template sets (slots and variants), the editor with its
live preview, the coverage grid, the A/B numbers and the follow-up sequence. Thin: reads come from
template_sets, every write goes through actions / followups."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tsunagu.companies.console import company_view
from tsunagu.messaging import actions, followups, rendering, template_sets
from tsunagu.messaging.defaults import months_to_days
from tsunagu.messaging.models import FollowUpStep, Message, MessageKind, MessageStatus, MessageTemplate
from tsunagu.messaging.template_sets import SLOTTED_KINDS, STEP_KINDS, Slot, variant_label
from tsunagu.talent.models import Application, ApplicationStatus
from tsunagu.talent.normalize import split_tags
from tsunagu.talent.stages import Stage


class TemplateForm(forms.Form):
    subject = forms.CharField(label=gettext_lazy("件名"), max_length=300)
    body_text = forms.CharField(label=gettext_lazy("本文"), widget=forms.Textarea(attrs={"rows": 22}))


def _kind_or_404(kind: str) -> str:
    if kind not in MessageKind.values:
        raise Http404
    return kind


def _int(value, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _slot_from(kind: str, data) -> Slot:
    """The slot a page is about, from its query string (category, stage, reason, step); 404 if invalid."""
    slot = Slot(job_category=data.get("category", "").strip(), stage=_int(data.get("stage")),
                rejection_reason=data.get("reason", "").strip(), step=_int(data.get("step")))
    try:
        return actions.clean_slot(kind, slot)
    except ValidationError as exc:
        raise Http404 from exc


def slot_url(name: str, kind: str, slot: Slot, variant: str | None = None) -> str:
    params = slot.params()
    if variant:
        params["variant"] = variant
    url = reverse(name, args=[kind])
    return f"{url}?{urlencode(params)}" if params else url


# --- the list of template sets ---------------------------------------------------------------------

def _slot_order(slot: Slot):
    return (not slot.is_default, slot.step, slot.stage, slot.job_category, slot.rejection_reason)


@company_view()
def templates(request):
    company = request.company
    groups = []
    for kind, label in MessageKind.choices:
        found = actions.template_set(company, kind)
        rows = []
        for slot in sorted(found.slots, key=_slot_order):
            variants = [{"name": name, "label": variant_label(name), "template": template,
                         "url": slot_url("console:template_edit", kind, slot, name)}
                        for name, template in found.slots[slot].items()]
            rows.append({"slot": slot, "variants": variants, "first": variants[0]["template"],
                         "url": slot_url("console:template_edit", kind, slot)})
        groups.append({"kind": kind, "label": label, "rows": rows})
    return render(request, "messaging/templates.html", {
        "groups": groups, "slotted_kinds": [(k, MessageKind(k).label) for k in SLOTTED_KINDS],
        "step_kinds": STEP_KINDS, **_slot_choices(company),
    })


def _slot_choices(company) -> dict:
    return {
        "categories": [c for c in template_sets.observed_categories(company) if c],
        "stages": [(value, label) for value, label in Stage.choices if value],
        "reasons": [name for name, _n in template_sets.observed_reasons(company)],
        "step_numbers": list(FollowUpStep.objects.filter(company=company).values_list("step", flat=True)),
    }


@company_view()
def template_new(request):
    """The list page's "add a combination" form: open the editor on that slot."""
    kind = request.GET.get("kind", MessageKind.REJECTION)
    if kind not in SLOTTED_KINDS:
        raise Http404
    data = request.GET.copy()
    if kind not in STEP_KINDS:
        data["step"] = ""  # the form offers a step for every kind; only follow-up kinds have one
    return redirect(slot_url("console:template_edit", kind, _slot_from(kind, data)))


# --- the editor ------------------------------------------------------------------------------------

@company_view(edit=True)
def template_edit(request, kind: str):
    company = request.company
    kind = _kind_or_404(kind)
    slot = _slot_from(kind, request.GET)
    try:
        variant = actions.clean_variant(request.GET.get("variant", ""))
    except ValidationError as exc:
        raise Http404 from exc
    found = actions.template_set(company, kind)
    live = found.slots.get(slot, {})
    own = live.get(variant)
    used_slot = found.resolve(slot)
    shown = own or (found.pick(slot, variant=variant) if used_slot else None)
    form = TemplateForm(request.POST or None,
                        initial={"subject": shown.subject, "body_text": shown.body_text} if shown else {})
    if request.method == "POST" and form.is_valid():
        try:
            saved = actions.save_template(company, kind, user=request.user, slot=slot, variant=variant,
                                          **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("テンプレートを保存しました(バージョン%(v)d)。") % {"v": saved.version})
            return redirect(slot_url("console:template_edit", kind, slot, variant))
    subject = form.data.get("subject", "") if form.is_bound else (shown.subject if shown else "")
    body_text = form.data.get("body_text", "") if form.is_bound else (shown.body_text if shown else "")
    return render(request, "messaging/template_edit.html", {
        "form": form, "kind": kind, "kind_label": MessageKind(kind).label, "slot": slot, "slot_label": slot.label(),
        "variant": variant, "variant_label": variant_label(variant), "current": own,
        "fallback": None if own else used_slot, "fallback_label": used_slot.label() if used_slot and not own else "",
        "variants": [{"name": name, "label": variant_label(name), "url": slot_url("console:template_edit", kind, slot, name),
                      "active": name == variant} for name in live],
        "can_vary": kind in SLOTTED_KINDS,
        "can_retire_variant": own is not None and len(live) > 1,
        "can_retire_slot": bool(live) and not slot.is_default,
        "add_variant_url": slot_url("console:template_variant_add", kind, slot),
        "retire_url": slot_url("console:template_retire", kind, slot),
        "preview_url": slot_url("console:template_preview", kind, slot),
        "self_url": slot_url("console:template_edit", kind, slot, variant),
        "variables": rendering.VARIABLES[kind], "preview": _preview(company, kind, slot, subject, body_text),
        "history": MessageTemplate.objects.filter(company=company, kind=kind, variant=variant,
                                                  job_category=slot.job_category, stage=slot.stage,
                                                  rejection_reason=slot.rejection_reason, step=slot.step)
        .select_related("created_by").order_by("-version")[:10],
        "limits": {"steps": f"{rendering.MAX_STEPS:,}", "chars": f"{rendering.MAX_CHARS:,}"},
    })


@require_POST
@company_view()
def template_preview(request, kind: str):
    kind = _kind_or_404(kind)
    slot = _slot_from(kind, request.GET)
    preview = _preview(request.company, kind, slot, request.POST.get("subject", ""), request.POST.get("body_text", ""))
    return render(request, "messaging/_preview.html", {"preview": preview})


def _preview_application(company, kind: str, slot: Slot) -> Application | None:
    """A real rejected application of the company for the preview: one that fits the slot if there is one."""
    if kind == MessageKind.VERIFICATION:
        return None
    rejected = (Application.objects.filter(company=company, status=ApplicationStatus.REJECTED)
                .select_related("candidate", "job", "company").order_by("-updated_at"))
    fitting = rejected
    if slot.job_category:
        fitting = fitting.filter(job__category=slot.job_category)
    if slot.stage:
        fitting = fitting.filter(stage=slot.stage)
    if slot.rejection_reason:
        fitting = fitting.filter(rejection_reason=slot.rejection_reason)
    return (fitting.first() if fitting is not rejected else None) or rejected.first()


def _preview(company, kind: str, slot: Slot, subject: str, body_text: str) -> dict:
    application = _preview_application(company, kind, slot)
    try:
        rendered = actions.preview(company, kind, subject=subject, body_text=body_text.replace("\r\n", "\n"),
                                   application=application, step=slot.step)
    except ValidationError as exc:
        return {"errors": exc.messages}
    except rendering.RenderError as exc:
        return {"errors": [str(exc)]}
    return {"rendered": rendered, "application": application}


def _add_errors(form, exc: ValidationError):
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@require_POST
@company_view(edit=True)
def template_variant_add(request, kind: str):
    kind = _kind_or_404(kind)
    slot = _slot_from(kind, request.GET)
    try:
        added = actions.add_variant(request.company, kind, slot=slot, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(slot_url("console:template_edit", kind, slot))
    messages.success(request, _("パターン%(name)sを追加しました。文面を変えて保存してください。") % {"name": added.variant})
    return redirect(slot_url("console:template_edit", kind, slot, added.variant))


@require_POST
@company_view(edit=True)
def template_retire(request, kind: str):
    """Delete (retire) one variant, or with variant "*" the whole slot."""
    kind = _kind_or_404(kind)
    slot = _slot_from(kind, request.GET)
    variant = request.POST.get("variant", "*")
    try:
        actions.retire_template(request.company, kind, slot=slot, variant=None if variant == "*" else variant,
                                user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(slot_url("console:template_edit", kind, slot))
    if variant == "*":
        messages.success(request, _("「%(slot)s」の文面を削除しました。この組み合わせは、より広い文面を使います。")
                         % {"slot": slot.label()})
        return redirect("console:templates")
    messages.success(request, _("パターン%(name)sを削除しました。") % {"name": variant_label(variant)})
    return redirect(slot_url("console:template_edit", kind, slot))


# --- coverage and A/B numbers ----------------------------------------------------------------------

@company_view()
def template_coverage(request):
    company = request.company
    kind = request.GET.get("kind", MessageKind.REJECTION)
    if kind not in SLOTTED_KINDS:
        raise Http404
    steps = list(FollowUpStep.objects.filter(company=company, kind=kind).values_list("step", flat=True))
    step = _int(request.GET.get("step"), steps[0] if steps else 0) if kind in STEP_KINDS else 0
    reason = request.GET.get("reason", "").strip()
    grid = template_sets.coverage(company, kind, step=step, reason=reason)
    for row in grid.rows:
        for cell in row.cells:
            cell.edit_url = slot_url("console:template_edit", kind, cell.facts)
            cell.used_url = slot_url("console:template_edit", kind, cell.used) if cell.used else ""
    return render(request, "messaging/template_coverage.html", {
        "grid": grid, "kind": kind, "kind_label": MessageKind(kind).label, "step": step, "steps": steps,
        "reason": reason, "slotted_kinds": [(k, MessageKind(k).label) for k in SLOTTED_KINDS],
        "step_kinds": STEP_KINDS, "stage_labels": [Stage(stage).label for stage in grid.stages],
    })


@company_view()
def template_variants(request):
    stats = template_sets.variant_stats(request.company)
    for group in stats:
        group.edit_url = slot_url("console:template_edit", group.kind, group.slot)
    return render(request, "messaging/template_variants.html", {
        "stats": stats, "min_sent": template_sets.MIN_SENT, "min_expected": template_sets.MIN_EXPECTED,
        "significance": f"{template_sets.SIGNIFICANCE:.0%}",
    })


# --- the follow-up sequence ------------------------------------------------------------------------

@company_view()
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
        "stages": Stage.choices, "catch_up_days": followups.CATCH_UP_DAYS, **_slot_choices(company),
        "tags": template_sets.observed_tags(company), "statuses": MessageStatus,
    })


def _step_fields(data) -> dict:
    amount = _int(data.get("delay"), -1)
    delay_days = months_to_days(amount) if data.get("unit") == "months" and amount > 0 else amount
    return {
        "kind": data.get("kind", MessageKind.FOLLOW_UP), "delay_days": delay_days,
        "min_stage": _int(data.get("min_stage")), "tags": split_tags(data.get("tags", "")),
        "rejection_reasons": [line for line in data.get("rejection_reasons", "").splitlines() if line.strip()],
        "active": data.get("active") == "on",
    }


@require_POST
@company_view(edit=True)
def follow_up_add(request):
    try:
        step = followups.add_follow_up_step(request.company, **_step_fields(request.POST))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("第%(step)d回を追加しました。") % {"step": step.step})
    return redirect("console:follow_ups")


@require_POST
@company_view(edit=True)
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


@require_POST
@company_view(edit=True)
def follow_up_delete(request, step_id: int):
    try:
        followups.delete_follow_up_step(request.company, step_id)
    except FollowUpStep.DoesNotExist as exc:
        raise Http404 from exc
    messages.success(request, _("フォローアップの回を削除しました。"))
    return redirect("console:follow_ups")
