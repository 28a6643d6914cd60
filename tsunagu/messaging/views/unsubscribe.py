"""The candidate's unsubscribe pages (no login, no cookies): /u/<token> confirms and takes RFC 8058's
one-click POST, /u/<token>/preferences stops or resumes the company's mail."""

from django.http import HttpResponseNotAllowed, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from tsunagu.messaging.actions import suppression as suppressing
from tsunagu.messaging.models import Message, SuppressionReason
from tsunagu.messaging.selectors import suppression_for
from tsunagu.messaging.unsubscribe import message_for_token

# The token in the URL is the secret (signed, per message): it is what a forged request would lack, so
# these views need no CSRF cookie, which a mail provider's one-click POST would not carry anyway.


def _unsubscribe_context(message: Message, token: str, **extra) -> dict:
    return {"company": message.company, "email": message.to_email, "token": token, **extra}


def _invalid_link(request):
    return render(request, "messaging/unsubscribe_invalid.html", {}, status=404)


@csrf_exempt
@never_cache
def unsubscribe(request, token: str):
    message = message_for_token(token)
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
        suppressing.unsubscribe(message, via=suppressing.VIA_ONE_CLICK if one_click else suppressing.VIA_PAGE,
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
    message = message_for_token(token)
    if message is None:
        return _invalid_link(request)
    done = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "stop":
            suppressing.unsubscribe(message, via=suppressing.VIA_PREFERENCES,
                                    user_agent=request.headers.get("User-Agent", ""))
            done = "stopped"
        elif action == "resume" and suppressing.resubscribe(message):
            done = "resumed"
    elif request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD", "POST"])
    suppression = suppression_for(message.company, message.to_email)
    return render(request, "messaging/unsubscribe_preferences.html", _unsubscribe_context(
        message, token, suppression=suppression, done=done,
        can_resume=suppression is not None and suppression.reason == SuppressionReason.UNSUBSCRIBED))
