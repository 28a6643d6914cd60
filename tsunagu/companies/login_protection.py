"""Login throttling with django-axes: who is asking (the account, the client's address) and what a locked-out
client is told. The settings that switch it on are in tsunagu/settings.py (AXES_*)."""

from __future__ import annotations

import math

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.shortcuts import render
from django.utils.translation import gettext as _

from tsunagu.companies.forms import LoginForm
from tsunagu.lib.client_ip import client_ip


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' check, first in AUTHENTICATION_BACKENDS so a locked-out account or address is refused before
    ModelBackend hashes the password (a locked form costs no PBKDF2).

    Every login over HTTP (the console's form, the admin's) passes the request. A call without one comes from
    code in this process (the test client's `login()`, a shell), which no client can reach: axes documents
    overriding `authenticate` for such callers, and here they are let through to the next backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_address(request) -> str | None:
    """The client's address for counting failures per address: REMOTE_ADDR, or behind TSUNAGU_TRUSTED_PROXIES
    the address the proxies tell (tsunagu.lib.client_ip, which never believes what the client wrote)."""
    return client_ip(request) or None


def client_username(request, credentials) -> str | None:
    """The account, spelt as the console's form spells it (trimmed, lower case), so `Alice@X` and `alice@x`
    share one counter whichever form (console or admin) was used."""
    value = (credentials or {}).get("username")
    if value is None:
        value = request.POST.get("username", "")
    return str(value).strip().lower()[:255] or None


def cool_off_minutes(request=None) -> int:
    cool_off = get_cool_off(request)
    return max(1, math.ceil(cool_off.total_seconds() / 60)) if cool_off else 0


def lockout_message(request=None) -> str:
    return _("ログインの失敗が続いたため、このアカウント、またはこの接続元からのログインを一時的に止めています。"
             "%(minutes)d分ほど待ってから、もう一度お試しください。"
             "お急ぎの場合は、運営者にロックの解除を依頼してください。") % {"minutes": cool_off_minutes(request)}


def lockout_response(request, original_response=None, credentials=None):
    """The login page again (the console's and the admin's alike), with the reason and HTTP 429; the password,
    right or wrong, was not checked."""
    return render(request, "companies/login.html", {"form": LoginForm(request), "next": request.POST.get("next", ""),
                                                    "lockout_message": lockout_message(request)}, status=429)
