"""The console's template pages: the template sets (slots and variants), the editor with its live preview,
and the coverage grid. Thin: reads come from template_sets, every write goes through actions/templates.py.
(The A/B numbers are analytics' page; the follow-up sequence is follow_ups.py.)"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tsunagu.companies.console import company_view
from tsunagu.companies.models import Role
from tsunagu.messaging import rendering, sandbox
from tsunagu.messaging.actions import templates as templates_actions
from tsunagu.messaging.compose import preview
from tsunagu.messaging.models import FollowUpStep, MessageKind, MessageTemplate
from tsunagu.messaging.template_sets import (
    SLOTTED_KINDS,
    STEP_KINDS,
    TEMPLATED_KINDS,
    Slot,
    coverage,
    observed_categories,
    observed_reasons,
    slot_url,
    template_set,
    variant_label,
)
from tsunagu.talent.models import Application, ApplicationStatus
from tsunagu.talent.stages import Stage


class TemplateForm(forms.Form):
    subject = forms.CharField(label=gettext_lazy("件名"), max_length=300)
    body_text = forms.CharField(label=gettext_lazy("本文"), widget=forms.Textarea(attrs={"rows": 22}))


def _kind_or_404(kind: str) -> str:
    if kind not in TEMPLATED_KINDS:
        raise Http404
    return kind


def int_or(value, default: int = 0) -> int:
    """A number from a form or query string, or `default`."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _slot_from(kind: str, data) -> Slot:
    """The slot a page is about, from its query string (category, stage, reason, step); 404 if invalid."""
    slot = Slot(job_category=data.get("category", "").strip(), stage=int_or(data.get("stage")),
                rejection_reason=data.get("reason", "").strip(), step=int_or(data.get("step")))
    try:
        return templates_actions.clean_slot(kind, slot)
    except ValidationError as exc:
        raise Http404 from exc


# --- the list of template sets ---------------------------------------------------------------------

def _slot_order(slot: Slot):
    return (not slot.is_default, slot.step, slot.stage, slot.job_category, slot.rejection_reason)


@company_view(see=Role.VIEWER)
def templates(request):
    company = request.company
    groups = []
    for kind, label in MessageKind.choices:
        if kind not in TEMPLATED_KINDS:
            continue
        found = template_set(company, kind)
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
        "step_kinds": STEP_KINDS, **slot_choices(company),
    })


def slot_choices(company) -> dict:
    """What the forms offer for a slot: the company's job categories, stages, reasons and follow-up steps."""
    return {
        "categories": [c for c in observed_categories(company) if c],
        "stages": [(value, label) for value, label in Stage.choices if value],
        "reasons": [name for name, _n in observed_reasons(company)],
        "step_numbers": list(FollowUpStep.objects.filter(company=company).values_list("step", flat=True)),
    }


@company_view(see=Role.VIEWER)
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

@company_view(see=Role.VIEWER, do=Role.RECRUITER)
def template_edit(request, kind: str):
    company = request.company
    kind = _kind_or_404(kind)
    slot = _slot_from(kind, request.GET)
    try:
        variant = templates_actions.clean_variant(request.GET.get("variant", ""))
    except ValidationError as exc:
        raise Http404 from exc
    found = template_set(company, kind)
    live = found.slots.get(slot, {})
    own = live.get(variant)
    used_slot = found.resolve(slot)
    shown = own or (found.pick(slot, variant=variant) if used_slot else None)
    form = TemplateForm(request.POST or None,
                        initial={"subject": shown.subject, "body_text": shown.body_text} if shown else {})
    if request.method == "POST" and form.is_valid():
        try:
            saved = templates_actions.save_template(company, kind, user=request.user, slot=slot,
                                                    variant=variant, **form.cleaned_data)
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
        "limits": {"steps": f"{sandbox.MAX_STEPS:,}", "chars": f"{sandbox.MAX_CHARS:,}"},
    })


@company_view(do=Role.RECRUITER)  # previews run templates: for those who edit them
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
        rendered = preview(company, kind, subject=subject, body_text=body_text.replace("\r\n", "\n"),
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


@company_view(do=Role.RECRUITER)
def template_variant_add(request, kind: str):
    kind = _kind_or_404(kind)
    slot = _slot_from(kind, request.GET)
    try:
        added = templates_actions.add_variant(request.company, kind, slot=slot, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(slot_url("console:template_edit", kind, slot))
    messages.success(request, _("パターン%(name)sを追加しました。文面を変えて保存してください。") % {"name": added.variant})
    return redirect(slot_url("console:template_edit", kind, slot, added.variant))


@company_view(do=Role.RECRUITER)
def template_retire(request, kind: str):
    """Delete (retire) one variant, or with variant "*" the whole slot."""
    kind = _kind_or_404(kind)
    slot = _slot_from(kind, request.GET)
    variant = request.POST.get("variant", "*")
    try:
        templates_actions.retire_template(request.company, kind, slot=slot,
                                          variant=None if variant == "*" else variant, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(slot_url("console:template_edit", kind, slot))
    if variant == "*":
        messages.success(request, _("「%(slot)s」の文面を削除しました。この組み合わせは、より広い文面を使います。")
                         % {"slot": slot.label()})
        return redirect("console:templates")
    messages.success(request, _("パターン%(name)sを削除しました。") % {"name": variant_label(variant)})
    return redirect(slot_url("console:template_edit", kind, slot))


# --- coverage ------------------------------------------------------------------------------------------

@company_view(see=Role.VIEWER)
def template_coverage(request):
    company = request.company
    kind = request.GET.get("kind", MessageKind.REJECTION)
    if kind not in SLOTTED_KINDS:
        raise Http404
    steps = list(FollowUpStep.objects.filter(company=company, kind=kind).values_list("step", flat=True))
    step = int_or(request.GET.get("step"), steps[0] if steps else 0) if kind in STEP_KINDS else 0
    reason = request.GET.get("reason", "").strip()
    grid = coverage(company, kind, step=step, reason=reason)
    for row in grid.rows:
        for cell in row.cells:
            cell.edit_url = slot_url("console:template_edit", kind, cell.facts)
            cell.used_url = slot_url("console:template_edit", kind, cell.used) if cell.used else ""
    return render(request, "messaging/template_coverage.html", {
        "grid": grid, "kind": kind, "kind_label": MessageKind(kind).label, "step": step, "steps": steps,
        "reason": reason, "slotted_kinds": [(k, MessageKind(k).label) for k in SLOTTED_KINDS],
        "step_kinds": STEP_KINDS, "stage_labels": [Stage(stage).label for stage in grid.stages],
    })
