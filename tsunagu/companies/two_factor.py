"""The second factor (TOTP, django-otp): who must use it, and the middleware that holds every console and admin
page until the signed-in user has given a code in this session.

One rule at the door rather than a decorator per view, so a new operator page cannot forget it:
- a user with a confirmed device must verify a code after the password, whoever they are;
- operator staff (an operator profile, a superuser, anyone who may enter /admin/) must have a device: until
  they have enrolled one, the enrolment page is the only page open to them.
"""

from __future__ import annotations

from functools import cache
from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tsunagu.companies.console import is_operator

# Pages behind a login. Everything else (the referral and unsubscribe pages, webhooks, the API with its keys)
# never reads the session's user.
GUARDED_PREFIXES = ("/console/", "/admin/")
# Open while a code is owed: how to give it, or to leave.
VERIFY_PAGES = ("console:two_factor_verify", "console:logout", "console:login")
# Open to staff who have no device yet: how to enrol one, or to leave.
ENROL_PAGES = ("console:two_factor", "console:two_factor_start", "console:two_factor_confirm",
               "console:two_factor_qr", "console:logout", "console:login")
ADMIN_LOGOUT = "admin:logout"


def must_use_second_factor(user) -> bool:
    return user.is_authenticated and (is_operator(user) or user.is_staff)


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def pending_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()


def is_verified(request) -> bool:
    verified = getattr(request.user, "is_verified", None)  # installed by django-otp's OTPMiddleware
    return bool(verified and verified())


def owed_step(request) -> str | None:
    """"verify" when this session still owes a code, "enrol" when the user must first enrol a device, else None."""
    user = request.user
    if not user.is_authenticated or is_verified(request):
        return None
    if confirmed_device(user) is not None:
        return "verify"
    if must_use_second_factor(user):
        return "enrol"
    return None


def with_next(url_name: str, next_url: str) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': next_url})}"


@cache
def open_paths(step: str) -> frozenset[str]:
    """The paths a session that owes `step` may still open (the URL map does not change while running)."""
    names = VERIFY_PAGES if step == "verify" else ENROL_PAGES
    return frozenset(reverse(name) for name in (*names, ADMIN_LOGOUT))


class SecondFactorMiddleware:
    """After django-otp's OTPMiddleware: sends a session that owes a code to the code page, and staff without a
    device to enrolment, from any console or admin page but those that settle it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(GUARDED_PREFIXES):
            step = owed_step(request)
            if step is not None:
                if request.path not in open_paths(step):
                    target = "console:two_factor_verify" if step == "verify" else "console:two_factor"
                    return redirect(with_next(target, request.get_full_path()))
        return self.get_response(request)
