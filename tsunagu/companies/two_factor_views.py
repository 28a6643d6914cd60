"""The pages of the second factor: enrol an authenticator app (QR code and the secret to type in), confirm it with
a code, turn it off, and give a code after the password. Which pages a session may reach before it has given
its code is the middleware's rule (tsunagu/companies/two_factor.py)."""

from __future__ import annotations

import io
from base64 import b32encode

import django_otp
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp.qr import write_qrcode_image

from tsunagu.companies import actions
from tsunagu.companies.two_factor import confirmed_device, must_use_second_factor, pending_device, with_next


class CodeForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("確認コード(6桁)"), max_length=12, widget=forms.TextInput(attrs={
        "autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True, "size": 8}))

    def clean_code(self):
        code = "".join(self.cleaned_data["code"].split())
        if not code.isascii() or not code.isdigit():
            raise forms.ValidationError(_("確認コードは数字で入力してください。"))
        return code


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                                     require_https=request.is_secure()):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _signed_in_with(request, device) -> None:
    """The session now counts as verified by `device`; a new session key, as after any rise in privilege."""
    django_otp.login(request, device)
    request.session.cycle_key()


def _grouped_secret(device) -> str:
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def _wrong_code(form, device) -> None:
    allowed, _details = device.verify_is_allowed()
    if not allowed:
        form.add_error("code", _("確認コードの誤りが続いたため、少しのあいだ受け付けません。"
                                 "数十秒待ってから、新しいコードを入力してください。"))
    else:
        form.add_error("code", _("確認コードが正しくないか、すでに使われたコードです。"
                                 "アプリに表示されている最新のコードを入力してください。"))


@never_cache
@login_required
def two_factor(request, form=None):
    """The user's second factor: on or off; while enrolling, the QR code, the secret and the code to confirm."""
    user = request.user
    pending = pending_device(user)
    return render(request, "companies/two_factor.html", {
        "device": confirmed_device(user),
        "pending": pending,
        "secret": _grouped_secret(pending) if pending else "",
        "required": must_use_second_factor(user),
        "form": form or CodeForm(),
        "next": request.POST.get("next") or request.GET.get("next", ""),
    })


@login_required
@require_POST
def two_factor_start(request):
    actions.start_totp_enrolment(request.user)
    next_url = request.POST.get("next", "")
    return redirect(with_next("console:two_factor", next_url) if next_url else "console:two_factor")


@login_required
@require_POST
def two_factor_confirm(request):
    pending = pending_device(request.user)
    if pending is None:
        return redirect("console:two_factor")
    form = CodeForm(request.POST)
    if form.is_valid():
        if actions.confirm_totp_device(pending, form.cleaned_data["code"]):
            _signed_in_with(request, pending)
            messages.success(request, _("二段階認証を有効にしました。次回から、パスワードのあとに確認コードを入力します。"))
            return redirect(_next_url(request) if request.POST.get("next") else "console:two_factor")
        _wrong_code(form, pending)
    return two_factor(request, form=form)


@login_required
@require_POST
def two_factor_disable(request):
    """Turning it off takes a current code; staff cannot turn it off (the operator resets a lost device with
    `tsunagu security reset-2fa`)."""
    device = confirmed_device(request.user)
    if device is None:
        return redirect("console:two_factor")
    form = CodeForm(request.POST)
    if must_use_second_factor(request.user):
        form.is_valid()
        form.add_error(None, _("運営スタッフは二段階認証を無効にできません。"))
    elif form.is_valid():
        if actions.verify_second_factor(device, form.cleaned_data["code"]):
            actions.remove_second_factor(request.user)
            messages.success(request, _("二段階認証を無効にしました。"))
            return redirect("console:two_factor")
        _wrong_code(form, device)
    return two_factor(request, form=form)


@never_cache
@login_required
def two_factor_qr(request):
    """The QR code of the secret being enrolled, drawn here as SVG (never by a third party: it holds the secret)."""
    pending = pending_device(request.user)
    if pending is None:
        raise Http404
    image = io.BytesIO()
    write_qrcode_image(pending.config_url, image)
    return HttpResponse(image.getvalue(), content_type="image/svg+xml")


@never_cache
@login_required
def two_factor_verify(request):
    """The code after the password, for a user with a confirmed device."""
    device = confirmed_device(request.user)
    if device is None:
        return redirect(_next_url(request))
    if request.user.is_verified():
        return redirect(_next_url(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if actions.verify_second_factor(device, form.cleaned_data["code"]):
            _signed_in_with(request, device)
            return redirect(_next_url(request))
        _wrong_code(form, device)
    return render(request, "companies/two_factor_verify.html",
                  {"form": form, "next": request.POST.get("next") or request.GET.get("next", "")})
