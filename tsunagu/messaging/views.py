from email.header import decode_header, make_header

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseNotAllowed, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tsunagu.companies.console import company_view
from tsunagu.messaging import actions, rendering
from tsunagu.messaging import unsubscribe as unsubscribing
from tsunagu.messaging.models import (
    CapturedMail,
    Message,
    MessageKind,
    MessageStatus,
    Suppression,
    SuppressionReason,
)
from tsunagu.messaging.selectors import message_timeline, outbox_messages
from tsunagu.messaging.suppression import suppression_for
from tsunagu.talent.normalize import email_key


@company_view()
def outbox(request):
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    query = request.GET.get("q", "").strip()[:200]
    rows = outbox_messages(request.company, status=status, kind=kind, query=query)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "messaging/outbox.html", {
        "page": page, "status": status, "kind": kind, "q": query,
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
    headers = html = None
    if content is not None:
        try:
            email = actions.email_for_display(message)
        except (actions.PermanentFailure, ValueError, TypeError):
            pass
        else:
            headers, html = _readable_headers(email), email.html
    return render(request, "messaging/message_detail.html", {
        "message": message, "content": content, "render_error": render_error, "captured": captured,
        "headers": headers, "html": html, "timeline": message_timeline(message),
    })


def _readable_headers(email) -> list[tuple[str, str]]:
    """The mail's headers as a person reads them (encoded words decoded), for the message page."""
    parsed = email.message().parsed
    return [(name, str(make_header(decode_header(value))).replace("\n", "").replace("\r", ""))
            for name, value in parsed.items() if name.lower() not in ("content-type", "mime-version")]


@require_POST
@company_view(edit=True)
def messages_cancel(request):
    """The outbox's bulk cancel: the ticked messages that are still scheduled."""
    ids = [int(value) for value in request.POST.getlist("message") if value.isdigit()]
    count = actions.cancel_messages(request.company, ids,
                                    reason=_("%(user)sが一括で取り消し") % {"user": request.user.email})
    if count:
        messages.success(request, _("%(count)d件の送信を取り消しました。") % {"count": count})
    else:
        messages.error(request, _("取り消せるメール(送信予定のもの)が選ばれていません。"))
    return redirect(request.POST.get("next") if _is_outbox_url(request.POST.get("next", "")) else "console:outbox")


def _is_outbox_url(url: str) -> bool:
    from django.urls import reverse

    return url.startswith(reverse("console:outbox")) and "//" not in url


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


# Templates and follow-ups: see template_views.py.


# --- the suppression list (console) ---------------------------------------------------------------

@company_view()
def suppressions(request):
    rows = Suppression.objects.filter(company=request.company).select_related("message")
    query = request.GET.get("q", "").strip()
    reason = request.GET.get("reason", "")
    if query:
        rows = rows.filter(email_key__contains=email_key(query))
    if reason in SuppressionReason.values:
        rows = rows.filter(reason=reason)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "messaging/suppressions.html", {
        "page": page, "q": query, "reason": reason, "reasons": SuppressionReason.choices,
    })


@require_POST
@company_view(admin=True)
def suppression_add(request):
    try:
        added = unsubscribing.add_suppression(request.company, request.POST.get("email", ""),
                                              detail=request.POST.get("detail", "")[:300])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%(email)sを配信停止リストに追加しました。") % {"email": added.email})
    return redirect("console:suppressions")


@require_POST
@company_view(admin=True)
def suppression_lift(request, suppression_id: int):
    try:
        lifted = unsubscribing.lift_suppression(request.company, suppression_id)
    except Suppression.DoesNotExist as exc:
        raise Http404 from exc
    messages.success(request, _("%(email)sを配信停止リストから外しました。") % {"email": lifted.email})
    return redirect("console:suppressions")


# --- the candidate's unsubscribe pages (no login, no cookies) --------------------------------------
# The token in the URL is the secret (signed, per message): it is what a forged request would lack, so
# these views need no CSRF cookie, which a mail provider's one-click POST would not carry anyway.


def _unsubscribe_context(message: Message, token: str, **extra) -> dict:
    return {"company": message.company, "email": message.to_email, "token": token, **extra}


def _invalid_link(request):
    return render(request, "messaging/unsubscribe_invalid.html", {}, status=404)


@csrf_exempt
@never_cache
def unsubscribe(request, token: str):
    message = unsubscribing.message_for_token(token)
    if message is None:
        return _invalid_link(request)
    if request.method == "POST":
        # RFC 8058: the mail provider POSTs "List-Unsubscribe=One-Click" (urlencoded or multipart) with no
        # cookies; the confirmation page's button posts here as well. Either stops the mail at once, and the
        # answer is a 200 page, never a redirect.
        try:
            one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        except (MultiPartParserError, UnreadablePostError):
            one_click = False
        unsubscribing.unsubscribe(message, via=unsubscribing.VIA_ONE_CLICK if one_click else unsubscribing.VIA_PAGE,
                                  user_agent=request.headers.get("User-Agent", ""))
        return render(request, "messaging/unsubscribed.html", _unsubscribe_context(message, token))
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD", "POST"])
    # GET only shows a button: mail scanners open links, and opening must not unsubscribe anyone.
    return render(request, "messaging/unsubscribe_confirm.html", _unsubscribe_context(
        message, token, suppression=suppression_for(message.company, message.to_email)))


@csrf_exempt
@never_cache
def unsubscribe_preferences(request, token: str):
    message = unsubscribing.message_for_token(token)
    if message is None:
        return _invalid_link(request)
    done = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "stop":
            unsubscribing.unsubscribe(message, via=unsubscribing.VIA_PREFERENCES,
                                      user_agent=request.headers.get("User-Agent", ""))
            done = "stopped"
        elif action == "resume" and unsubscribing.resubscribe(message):
            done = "resumed"
    elif request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD", "POST"])
    suppression = suppression_for(message.company, message.to_email)
    return render(request, "messaging/unsubscribe_preferences.html", _unsubscribe_context(
        message, token, suppression=suppression, done=done,
        can_resume=suppression is not None and suppression.reason == SuppressionReason.UNSUBSCRIBED))
