from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tsunagu.companies.console import company_view
from tsunagu.messaging import actions, rendering
from tsunagu.messaging.models import CapturedMail, Message, MessageKind, MessageStatus
from tsunagu.talent.models import Application, ApplicationStatus


@company_view()
def outbox(request):
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    rows = Message.objects.filter(company=request.company).select_related("application")
    if status in MessageStatus.values:
        rows = rows.filter(status=status)
    if kind in MessageKind.values:
        rows = rows.filter(kind=kind)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "messaging/outbox.html", {
        "page": page, "status": status, "kind": kind,
        "statuses": MessageStatus.choices, "kinds": MessageKind.choices,
    })


@company_view()
def message_detail(request, message_id: int):
    message = get_object_or_404(
        Message.objects.select_related("application__candidate", "application__job", "template"),
        company=request.company, pk=message_id,
    )
    content, render_error = None, None
    if message.body_text:
        content = rendering.Rendered(message.subject, message.body_text, "")
    else:
        try:
            email = actions.build_email(message)
            content = rendering.Rendered(email.subject, email.body, email.html)
        except actions.PermanentFailure as exc:
            render_error = str(exc)
    captured = CapturedMail.objects.filter(message_id=message.message_id).first() if message.message_id else None
    return render(request, "messaging/message_detail.html", {
        "message": message, "content": content, "render_error": render_error, "captured": captured,
    })


@require_POST
@company_view(edit=True)
def message_cancel(request, message_id: int):
    try:
        actions.cancel_message(request.company, message_id, reason=_("%(user)sが取り消し") % {"user": request.user.email})
        messages.success(request, _("送信を取り消しました。"))
    except Message.DoesNotExist as exc:
        raise Http404 from exc
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("console:message", message_id=message_id)


@require_POST
@company_view(edit=True)
def message_send_now(request, message_id: int):
    try:
        actions.send_message_now(request.company, message_id)
        messages.success(request, _("送信を開始しました。"))
    except Message.DoesNotExist as exc:
        raise Http404 from exc
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("console:message", message_id=message_id)


class TemplateForm(forms.Form):
    subject = forms.CharField(label=gettext_lazy("件名"), max_length=300)
    body_text = forms.CharField(label=gettext_lazy("本文"), widget=forms.Textarea(attrs={"rows": 22}))


@company_view()
def templates(request):
    rows = [(kind, label, actions.current_template(request.company, kind)) for kind, label in MessageKind.choices]
    return render(request, "messaging/templates.html", {"rows": rows})


@company_view(edit=True)
def template_edit(request, kind: str):
    if kind not in MessageKind.values:
        raise Http404
    company = request.company
    current = actions.current_template(company, kind)
    form = TemplateForm(request.POST or None, initial={"subject": current.subject, "body_text": current.body_text})
    if request.method == "POST" and form.is_valid():
        try:
            saved = actions.save_template(company, kind, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("テンプレートを保存しました(バージョン%(v)d)。") % {"v": saved.version})
            return redirect("console:template_edit", kind=kind)
    return render(request, "messaging/template_edit.html", {
        "form": form, "kind": kind, "kind_label": MessageKind(kind).label, "current": current,
        "variables": rendering.VARIABLES[kind], "preview": _preview(company, kind, current.subject, current.body_text),
        "history": company.templates.filter(kind=kind)[:10],
    })


@require_POST
@company_view()
def template_preview(request, kind: str):
    if kind not in MessageKind.values:
        raise Http404
    preview = _preview(request.company, kind, request.POST.get("subject", ""), request.POST.get("body_text", ""))
    return render(request, "messaging/_preview.html", {"preview": preview})


def _preview(company, kind, subject, body_text) -> dict:
    application = (
        Application.objects.filter(company=company, status=ApplicationStatus.REJECTED)
        .select_related("candidate", "job").order_by("-updated_at").first()
    )
    try:
        rendered = actions.preview(company, kind, subject=subject, body_text=body_text.replace("\r\n", "\n"),
                                   application=application)
    except ValidationError as exc:
        return {"errors": exc.messages}
    except rendering.RenderError as exc:
        return {"errors": [str(exc)]}
    return {"rendered": rendered, "application": application if kind == MessageKind.REJECTION else None}


def _add_errors(form, exc: ValidationError):
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)
