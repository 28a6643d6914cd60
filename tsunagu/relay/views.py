from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from tsunagu.companies.console import company_view, operator_view
from tsunagu.companies.models import Company
from tsunagu.relay import actions
from tsunagu.relay.consent import consent_texts
from tsunagu.relay.models import LedgerEntry, Registration
from tsunagu.relay.selectors import ledger_summary

# --- the candidate's pages (no login) --------------------------------------------------------------


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
    message = actions.message_for_referral(token)
    if message is None:
        raise Http404
    company = message.company
    candidate = message.application.candidate
    if request.method == "POST":
        form = actions.RegistrationForm(
            name=request.POST.get("name", ""),
            email=request.POST.get("email", ""),
            desired_job=request.POST.get("desired_job", ""),
            desired_region=request.POST.get("desired_region", ""),
            consent_purpose=request.POST.get("consent_purpose") == "on",
            consent_provision=request.POST.get("consent_provision") == "on",
        )
        try:
            actions.request_registration(message, form)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"general": exc.messages}
            return render(request, "relay/landing.html",
                          _page_context(company, form=form, errors=errors, token=token), status=400)
        return redirect("relay:sent", token=token)
    if request.method != "HEAD":
        actions.record_click(message, user_agent=request.headers.get("User-Agent", ""))
    already = Registration.objects.filter(company=company, candidate=candidate).exists()
    form = actions.RegistrationForm(name=candidate.name, email=candidate.email)
    return render(request, "relay/landing.html",
                  _page_context(company, form=form, errors={}, token=token, already_registered=already))


@never_cache
def sent(request, token: str):
    message = actions.message_for_referral(token)
    if message is None:
        raise Http404
    return render(request, "relay/sent.html", _page_context(message.company))


@never_cache
def verify(request, token: str):
    try:
        registration_request = actions.request_for_verification(token)
    except actions.ExpiredVerification:
        return render(request, "relay/verify_error.html", _page_context(None, expired=True), status=410)
    except actions.InvalidVerification:
        return render(request, "relay/verify_error.html", _page_context(None, expired=False), status=404)
    company = registration_request.company
    if request.method == "POST":
        result = actions.verify_registration(token)
        return render(request, "relay/done.html", _page_context(company, registration=result.registration))
    # GET only shows a button: mail scanners open links, and opening must not register anyone.
    return render(request, "relay/verify.html", _page_context(company, request_obj=registration_request,
                                                                 already=registration_request.verified_at is not None))


# --- console ---------------------------------------------------------------------------------------


@company_view()
def ledger(request):
    company = request.company
    entries = LedgerEntry.objects.filter(company=company).select_related("registration", "created_by")
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    registrations = Registration.objects.filter(company=company).select_related("candidate")[:20]
    return render(request, "relay/ledger.html", {
        "summary": ledger_summary(company), "page": page, "registrations": registrations,
    })


@operator_view
def operator(request):
    companies = [(company, ledger_summary(company)) for company in Company.objects.order_by("name")]
    registrations = Registration.objects.select_related("company").order_by("-created_at")
    page = Paginator(registrations, 50).get_page(request.GET.get("page"))
    return render(request, "relay/operator.html", {"companies": companies, "page": page})


@require_POST
@operator_view
def operator_redeem(request, slug: str):
    company = get_object_or_404(Company, slug=slug)
    try:
        actions.redeem_slot(company, user=request.user, note=request.POST.get("note", ""))
        messages.success(request, _("%(company)sの無料紹介枠を1つ利用済みにしました。") % {"company": company.name})
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("console:operator")
