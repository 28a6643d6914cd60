"""Fraud signals: why a verified registration is held for the operator's review instead of credited at once.

Credits are money, and the company that earns them also wrote the notice and holds its candidates' data. A
registration is credited at once only when the address it verified is the one the notice was delivered to
and none of the signals below fires; otherwise it is held (Registration.credit_status = held) with the
codes in `reasons`, and operator staff approve or void it (relay.actions.review). Doubt means "held", never
a silent credit, and never a refusal either: a real person who trips a signal is still registered.

Each signal is a code (stored) with a Japanese label (shown to operator staff): SIGNALS. Read-only: the
hashes of the network and browser are made here, kept by relay.actions.registration.

The network and the browser are kept only as keyed hashes (HMAC-SHA256 with a key derived from SECRET_KEY,
cut to 128 bits): enough to see that two forms came from the same place, never the address itself. The
network is the IPv4 /24 or the IPv6 /64 (one household, office or phone behind one prefix).
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.db.models import Q
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from tsunagu.companies.models import Membership
from tsunagu.messaging.models import EventKind, Message, MessageEvent
from tsunagu.relay.models import RegistrationRequest
from tsunagu.talent.normalize import nfkc

ADDRESS_DIFFERS = "address_differs"
DISPOSABLE_DOMAIN = "disposable_domain"
COMPANY_DOMAIN = "company_domain"
NETWORK_BURST = "network_burst"
BROWSER_BURST = "browser_burst"
QUICK_REGISTRATION = "quick_registration"
SHARED_DOMAIN = "shared_domain"
NOT_DELIVERED = "not_delivered"

SIGNALS = {
    ADDRESS_DIFFERS: _("ご案内メールの宛先と異なるアドレスで登録"),
    DISPOSABLE_DOMAIN: _("使い捨てメールアドレスのドメイン"),
    COMPANY_DOMAIN: _("紹介元企業のドメインのアドレス(送信元・返信先・担当者と同じ)"),
    NETWORK_BURST: _("同じネットワークから短時間に同じ企業経由の登録が複数"),
    BROWSER_BURST: _("同じブラウザから短時間に同じ企業経由の登録が複数"),
    QUICK_REGISTRATION: _("ご案内メールの送信から数秒での申し込み"),
    SHARED_DOMAIN: _("同じ企業経由で同じ独自ドメインの登録者が複数"),
    NOT_DELIVERED: _("ご案内メールが不達と報告された"),
}

# Many registrations for one company from one network: at least this many different candidates of the
# company submitted the form from one /24 (/64) within the window (this one included). A household or an
# office may bring two; a carrier's shared addresses (CGNAT) spread over many companies, rarely three of one
# company's candidates within an hour.
NETWORK_BURST_CANDIDATES = 3
NETWORK_BURST_WINDOW = timedelta(hours=1)
# The same from one browser (its User-Agent): common phones share one User-Agent string, so more are needed
# in a shorter window before it means one person filling in forms for many.
BROWSER_BURST_CANDIDATES = 5
BROWSER_BURST_WINDOW = timedelta(minutes=30)
# Nobody receives a mail, opens it, reads the page, types a name and an address and ticks two consents this
# fast: a form sent within settings.TSUNAGU_QUICK_REGISTRATION_SECONDS (10 by default) of delivery was filled
# in by someone who had the link already.
# Many registrants of one company on one non-public domain (a domain anyone can make addresses on): this many
# different candidates of the company (this one included) within the window. Universities are exempt
# (ACADEMIC_SUFFIXES): classmates rejected by one company are ordinary in new-graduate hiring.
SHARED_DOMAIN_CANDIDATES = 3
SHARED_DOMAIN_WINDOW = timedelta(days=90)

# Public mail services (anyone can have an address there), so many registrants on one of them mean nothing,
# and a company's user on one of them does not make it the company's domain. Free webmail and the Japanese
# carriers' and ISPs' mail; a documented list, not a complete one (a missing domain only makes
# SHARED_DOMAIN and COMPANY_DOMAIN stricter for it).
PUBLIC_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yahoo.co.jp", "ymail.ne.jp", "yahoo.com", "icloud.com", "me.com", "mac.com",
    "outlook.jp", "outlook.com", "hotmail.co.jp", "hotmail.com", "live.jp", "live.com", "msn.com",
    "docomo.ne.jp", "ezweb.ne.jp", "au.com", "softbank.ne.jp", "i.softbank.jp", "disney.ne.jp",
    "ymobile.ne.jp", "y-mobile.ne.jp", "uqmobile.jp", "rakumail.jp", "nifty.com", "biglobe.ne.jp",
    "ocn.ne.jp", "so-net.ne.jp", "aol.com", "proton.me", "protonmail.com", "gmx.com", "zoho.com",
})
ACADEMIC_SUFFIXES = (".ac.jp", ".edu", ".ed.jp")
# Domains whose mailboxes ignore dots in the local part (so taro.yamada@ and taroyamada@ are one person).
DOTLESS_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


# --- one person, one key -----------------------------------------------------------------------------

def domain_of(email: str) -> str:
    return nfkc(email).strip().lower().rpartition("@")[2]


def person_key(email: str) -> str:
    """One key per mailbox: case and width folded, a `+tag` dropped (most services deliver local+tag@ to
    local@), and at Gmail the dots, so one person cannot be many registrants by decorating one address."""
    local, _at, domain = nfkc(email).strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in DOTLESS_DOMAINS:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def is_public_domain(domain: str) -> bool:
    return domain in PUBLIC_MAIL_DOMAINS


@lru_cache(maxsize=1)
def _disposable() -> frozenset[str]:
    from disposable_email_domains import blocklist  # a set of ~10,000 domains: loaded once, on first use

    return frozenset(blocklist)


def is_disposable(domain: str) -> bool:
    """The domain or a domain it belongs to is on the disposable-email-domains list."""
    parts = domain.split(".")
    listed = _disposable()
    return any(".".join(parts[index:]) in listed for index in range(len(parts) - 1))


# --- where a form came from --------------------------------------------------------------------------

def _keyed(purpose: str, value: str) -> str:
    return salted_hmac(f"tsunagu.relay.fraud.{purpose}", value, algorithm="sha256").hexdigest()[:32]


def network_hash(ip: str) -> str:
    """A keyed hash of the network an address belongs to (IPv4 /24, IPv6 /64); "" for no valid address."""
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 64
    return _keyed("network", str(ipaddress.ip_network(f"{address}/{prefix}", strict=False)))


def ip_hash(ip: str) -> str:
    """A keyed hash of one address (kept with a consent: which address gave it, without the address); "" for
    no valid address. The same address always gives the same hash, in any of its spellings."""
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return _keyed("ip", str(address))


def browser_hash(user_agent: str) -> str:
    user_agent = (user_agent or "").strip()
    return _keyed("browser", user_agent[:500]) if user_agent else ""


# --- the signals -------------------------------------------------------------------------------------

def company_domains(company) -> set[str]:
    """The company's own mail domains: its sender and reply-to addresses and its console users' addresses,
    less public mail services."""
    addresses = [company.sender_email, company.reply_to]
    addresses += list(Membership.objects.filter(company=company).values_list("user__email", flat=True))
    return {domain_of(address) for address in addresses if address and "@" in address} - PUBLIC_MAIL_DOMAINS


def _burst(request: RegistrationRequest, field: str, window: timedelta) -> int:
    """How many different candidates of the company sent the form from the same network (browser) within
    the window around this one (this one included)."""
    value = getattr(request, field)
    if not value:
        return 0
    return (RegistrationRequest.objects
            .filter(company_id=request.company_id, **{field: value},
                    created_at__gte=request.created_at - window, created_at__lte=request.created_at + window)
            .values("candidate_id").distinct().count())


def _shared_domain(request: RegistrationRequest, domain: str) -> bool:
    if is_public_domain(domain) or domain.endswith(ACADEMIC_SUFFIXES):
        return False
    since = request.created_at - SHARED_DOMAIN_WINDOW
    candidates = (RegistrationRequest.objects
                  .filter(company_id=request.company_id, created_at__gte=since)
                  .filter(Q(email__iendswith=f"@{domain}"))
                  .values("candidate_id").distinct().count())
    return candidates >= SHARED_DOMAIN_CANDIDATES


def bounced(message: Message) -> bool:
    """The mail provider reported the mail as not delivered (a bounce, or a rejection after acceptance)."""
    return MessageEvent.objects.filter(
        company_id=message.company_id, message=message,
        kind__in=[EventKind.BOUNCED, EventKind.REJECTED, EventKind.FAILED]).exists()


def signals_for(request: RegistrationRequest, *, message: Message | None = None) -> list[str]:
    """The codes of the signals that fire for a verified registration request, in SIGNALS' order; [] means
    it may be credited at once."""
    message = message or request.message
    found = set()
    domain = domain_of(request.email)
    if person_key(request.email) != person_key(message.to_email):
        found.add(ADDRESS_DIFFERS)
    if is_disposable(domain):
        found.add(DISPOSABLE_DOMAIN)
    if domain in company_domains(request.company):
        found.add(COMPANY_DOMAIN)
    if _burst(request, "network_hash", NETWORK_BURST_WINDOW) >= NETWORK_BURST_CANDIDATES:
        found.add(NETWORK_BURST)
    if _burst(request, "browser_hash", BROWSER_BURST_WINDOW) >= BROWSER_BURST_CANDIDATES:
        found.add(BROWSER_BURST)
    quick = settings.TSUNAGU_QUICK_REGISTRATION_SECONDS
    if message.sent_at and (request.created_at - message.sent_at).total_seconds() < quick:
        found.add(QUICK_REGISTRATION)
    if _shared_domain(request, domain):
        found.add(SHARED_DOMAIN)
    if message.sent_at is None or bounced(message):
        found.add(NOT_DELIVERED)
    return [code for code in SIGNALS if code in found]


def label(code: str) -> str:
    """A signal's label for operator staff; an unknown code (a reviewer's words, an old code) as it is."""
    return str(SIGNALS.get(code, code))
