"""The candidate's pages (no login): the personal referral link /r/<token>, the registration form with its
consents, and the double opt-in confirmation."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.cache import never_cache

from tsunagu.relay.actions import registration
from tsunagu.relay.consent import consent_texts
from tsunagu.relay.models import Registration

PREFECTURES = (
    "北海道 青森県 岩手県 宮城県 秋田県 山形県 福島県 茨城県 栃木県 群馬県 埼玉県 千葉県 東京都 神奈川県 新潟県 富山県 "
    "石川県 福井県 山梨県 長野県 岐阜県 静岡県 愛知県 三重県 滋賀県 京都府 大阪府 兵庫県 奈良県 和歌山県 鳥取県 島根県 "
    "岡山県 広島県 山口県 徳島県 香川県 愛媛県 高知県 福岡県 佐賀県 長崎県 熊本県 大分県 宮崎県 鹿児島県 沖縄県"
).split() + [_lazy("リモート")]


def _page_context(company, **extra):
    return {
        "company": company, "relay": settings.TSUNAGU_RELAY, "prefectures": PREFECTURES,
        "consent": consent_texts(company) if company else {}, **extra,
    }


@never_cache
def landing(request, token: str):
    message = registration.message_for_referral(token)
    if message is None:
        raise Http404
    company = message.company
    candidate = message.application.candidate
    if request.method == "POST":
        form = registration.RegistrationForm(
            name=request.POST.get("name", ""),
            email=request.POST.get("email", ""),
            desired_job=request.POST.get("desired_job", ""),
            desired_region=request.POST.get("desired_region", ""),
            consent_purpose=request.POST.get("consent_purpose") == "on",
            consent_provision=request.POST.get("consent_provision") == "on",
        )
        try:
            registration.request_registration(message, form)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"general": exc.messages}
            return render(request, "relay/landing.html",
                          _page_context(company, form=form, errors=errors, token=token), status=400)
        return redirect("relay:sent", token=token)
    if request.method != "HEAD":
        registration.record_click(message, user_agent=request.headers.get("User-Agent", ""))
    already = Registration.objects.filter(company=company, candidate=candidate).exists()
    form = registration.RegistrationForm(name=candidate.name, email=candidate.email)
    return render(request, "relay/landing.html",
                  _page_context(company, form=form, errors={}, token=token, already_registered=already))


@never_cache
def sent(request, token: str):
    message = registration.message_for_referral(token)
    if message is None:
        raise Http404
    return render(request, "relay/sent.html", _page_context(message.company))


@never_cache
def verify(request, token: str):
    try:
        registration_request = registration.request_for_verification(token)
    except registration.ExpiredVerification:
        return render(request, "relay/verify_error.html", _page_context(None, expired=True), status=410)
    except registration.InvalidVerification:
        return render(request, "relay/verify_error.html", _page_context(None, expired=False), status=404)
    company = registration_request.company
    if request.method == "POST":
        result = registration.verify_registration(token)
        return render(request, "relay/done.html", _page_context(company, registration=result.registration))
    # GET only shows a button: mail scanners open links, and opening must not register anyone.
    return render(request, "relay/verify.html", _page_context(company, request_obj=registration_request,
                                                                 already=registration_request.verified_at is not None))
