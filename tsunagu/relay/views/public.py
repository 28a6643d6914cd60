"""The candidate's pages (no login): the personal referral link /r/<token>, the registration form with its
consents, and the double opt-in confirmation. The pages speak for the relay operator (its party's name,
licence and contact), not for the company whose notice carried the link.

A link that does not work (its notice not delivered, or past the company's retention period) answers 410
Gone with a polite page and records nothing: 410 rather than 200 because the link has nothing to offer and
never will again (a cancelled notice is not re-sent with the same link; an expired link stays expired), and
link checkers and mail scanners treat 410 as final. Too many forms from one network or through one link
answer 429 with a page saying when to try again, and store nothing.
"""

from dataclasses import replace
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.html import format_html_join
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from tsunagu.companies.actions import operator_party
from tsunagu.lib.client_ip import client_ip as forwarded_client_ip
from tsunagu.relay import fraud
from tsunagu.relay.actions import registration
from tsunagu.relay.consent import consent_texts, operator_facts, texts_digest
from tsunagu.relay.models import Registration


@lru_cache(maxsize=256)
def _region_options(language: str, selected: str) -> str:
    # The 48 options rendered once per language (and choice): a template loop over them was a third of the
    # landing page's rendering, the relay's busiest page (`python -m bench registrations`).
    return format_html_join("", '<option value="{}"{}>{}</option>',
                            ((region, " selected" if region == selected else "", region)
                             for region in map(str, registration.REGIONS)))


def region_options(selected: str = "") -> str:
    regions = [str(region) for region in registration.REGIONS]
    return _region_options(get_language() or "", selected if selected in regions else "")


def _page_context(company, **extra):
    operator = operator_party()
    form = extra.get("form")
    consent = consent_texts(company, operator) if company else {}
    return {
        "company": company, "relay": operator_facts(operator),
        "region_options": region_options(form.desired_region if form else ""),
        "limits": {"name": registration.NAME_MAX, "desired_job": registration.DESIRED_JOB_MAX},
        # The page posts back the digest of the texts it shows (registration.ConsentTextChanged).
        "consent": consent, "consent_digest": texts_digest(consent) if consent else "", **extra,
    }


def client_ip(request) -> str:
    # The direct peer, or behind TSUNAGU_TRUSTED_PROXIES load balancers the address they forward: otherwise
    # every form would share the balancer's address and the per-network limit would see one network.
    return forwarded_client_ip(request)


def _inactive(request, message, state: str):
    return render(request, "relay/link_inactive.html",
                  _page_context(message.company, expired=state == registration.LinkState.EXPIRED), status=410)


def _too_many(request, message, retry_after: int):
    wait = (_("%(n)d分") % {"n": max(1, retry_after // 60)} if retry_after < 3600
            else _("%(n)d時間") % {"n": retry_after // 3600})
    response = render(request, "relay/too_many.html", _page_context(message.company, wait=wait), status=429)
    response["Retry-After"] = str(retry_after)
    return response


def _referral(token: str):
    """The message a personal link names and the link's state (Http404 for a link this server did not sign)."""
    message = registration.message_for_referral(token)
    if message is None:
        raise Http404
    return message, registration.link_state(message)


@never_cache
def landing(request, token: str):
    message, state = _referral(token)
    if state != registration.LinkState.ACTIVE:
        return _inactive(request, message, state)
    company = message.company
    if request.method == "POST":
        form = registration.RegistrationForm(
            name=request.POST.get("name", ""),
            email=request.POST.get("email", ""),
            desired_job=request.POST.get("desired_job", ""),
            desired_region=request.POST.get("desired_region", ""),
            phone=request.POST.get("phone", ""),
            consent_purpose=request.POST.get("consent_purpose") == "on",
            consent_provision=request.POST.get("consent_provision") == "on",
            consent_digest=request.POST.get("consent_digest", ""),
        )
        address = client_ip(request)
        try:
            registration.request_registration(
                message, form, network_hash=fraud.network_hash(address), ip_hash=fraud.ip_hash(address),
                browser_hash=fraud.browser_hash(request.headers.get("User-Agent", "")))
        except registration.ConsentTextChanged:
            # Agreed to a wording that is no longer current: the current one, to be agreed to again.
            form = replace(form, consent_purpose=False, consent_provision=False)
            errors = {"general": [_("同意の文面が更新されました。内容をご確認のうえ、あらためて同意してください。")]}
            return render(request, "relay/landing.html",
                          _page_context(company, form=form, errors=errors, token=token), status=409)
        except registration.InactiveLink as exc:
            return _inactive(request, message, exc.state)
        except registration.RateLimited as exc:
            return _too_many(request, message, exc.retry_after)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"general": exc.messages}
            return render(request, "relay/landing.html",
                          _page_context(company, form=form, errors=errors, token=token), status=400)
        return redirect("relay:sent", token=token)
    if request.method != "HEAD":
        registration.record_click(message, user_agent=request.headers.get("User-Agent", ""), state=state)
    already = Registration.objects.filter(company=company, candidate_id=message.application.candidate_id).exists()
    # Nothing of the candidate is filled in: whoever opens a forwarded link sees neither name nor address.
    form = registration.RegistrationForm(name="", email="")
    return render(request, "relay/landing.html",
                  _page_context(company, form=form, errors={}, token=token, already_registered=already))


@never_cache
def sent(request, token: str):
    message, state = _referral(token)
    if state != registration.LinkState.ACTIVE:
        return _inactive(request, message, state)
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
        # The same page whether the registration was credited, held for review or a repeat: the person is
        # registered either way, and a fraudster learns nothing from it.
        return render(request, "relay/done.html", _page_context(company, registration=result.registration))
    # GET only shows a button: mail scanners open links, and opening must not register anyone.
    return render(request, "relay/verify.html", _page_context(company, request_obj=registration_request,
                                                                 already=registration_request.verified_at is not None))
