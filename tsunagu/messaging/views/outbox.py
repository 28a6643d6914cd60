"""The console's outbox: every message of the company, one message's page (content, headers, HTML and
timeline), and HR's cancel, bulk cancel and "send now"."""

from email.header import decode_header, make_header

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from tsunagu.companies.access_log import log_console
from tsunagu.companies.console import company_view
from tsunagu.companies.models import AccessAction, Role
from tsunagu.messaging import rendering
from tsunagu.messaging.actions import notices
from tsunagu.messaging.compose import build_email, email_for_display
from tsunagu.messaging.failures import PermanentFailure
from tsunagu.messaging.models import OPERATOR_KINDS, CapturedMail, Message, MessageKind, MessageStatus
from tsunagu.messaging.redaction import readable_mime, redact
from tsunagu.messaging.selectors import company_messages, message_timeline, outbox_messages


@company_view(see=Role.VIEWER)
def outbox(request):
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    query = request.GET.get("q", "").strip()[:200]
    rows = outbox_messages(request.company, status=status, kind=kind, query=query)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "messaging/outbox.html", {
        "page": page, "status": status, "kind": kind, "q": query,
        "statuses": MessageStatus.choices,
        "kinds": [(value, label) for value, label in MessageKind.choices if value not in OPERATOR_KINDS],
    })


@company_view(see=Role.VIEWER)
def message_detail(request, message_id: int):
    message = get_object_or_404(
        company_messages(request.company).select_related("application__candidate", "application__job", "template"),
        pk=message_id,
    )
    log_console(request, AccessAction.VIEW, "message", message.pk)
    # Everything below is shown with the candidate's personal links redacted (messaging/redaction.py).
    content, render_error = None, None
    if message.body_text:
        content = rendering.Rendered(redact(message.subject, message.pk), redact(message.body_text, message.pk), "")
    else:
        try:
            email = build_email(message)
            content = rendering.Rendered(redact(email.subject, message.pk), redact(email.body, message.pk), "")
        except PermanentFailure as exc:
            render_error = str(exc)
    captured = CapturedMail.objects.filter(message_id=message.message_id).first() if message.message_id else None
    captured_text = readable_mime(captured.raw, message.pk) if captured else ""
    headers = html = None
    if content is not None:
        try:
            email = email_for_display(message)
        except (PermanentFailure, ValueError, TypeError):
            pass
        else:
            headers, html = _readable_headers(email), email.html
    return render(request, "messaging/message_detail.html", {
        "message": message, "content": content, "render_error": render_error, "captured": captured_text,
        "headers": headers, "html": html, "timeline": message_timeline(message),
    })


def _readable_headers(email) -> list[tuple[str, str]]:
    """The mail's headers as a person reads them (encoded words decoded), for the message page."""
    parsed = email.message().parsed
    return [(name, redact(str(make_header(decode_header(value))).replace("\n", "").replace("\r", "")))
            for name, value in parsed.items() if name.lower() not in ("content-type", "mime-version")]


@company_view(do=Role.RECRUITER)
def messages_cancel(request):
    """The outbox's bulk cancel: the ticked messages that are still scheduled."""
    ids = [int(value) for value in request.POST.getlist("message") if value.isdigit()]
    count = notices.cancel_messages(request.company, ids,
                                    reason=_("%(user)sが一括で取り消し") % {"user": request.user.email})
    if count:
        messages.success(request, _("%(count)d件の送信を取り消しました。") % {"count": count})
    else:
        messages.error(request, _("取り消せるメール(送信予定のもの)が選ばれていません。"))
    return redirect(request.POST.get("next") if _is_outbox_url(request.POST.get("next", "")) else "console:outbox")


def _is_outbox_url(url: str) -> bool:
    return url.startswith(reverse("console:outbox")) and "//" not in url


@company_view(do=Role.RECRUITER)
def message_cancel(request, message_id: int):
    try:
        notices.cancel_message(request.company, message_id, reason=_("%(user)sが取り消し") % {"user": request.user.email})
        messages.success(request, _("送信を取り消しました。"))
    except Message.DoesNotExist as exc:
        raise Http404 from exc
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("console:message", message_id=message_id)


@company_view(do=Role.RECRUITER)
def message_send_now(request, message_id: int):
    try:
        notices.send_message_now(request.company, message_id)
        messages.success(request, _("送信を開始しました。"))
    except Message.DoesNotExist as exc:
        raise Http404 from exc
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("console:message", message_id=message_id)
