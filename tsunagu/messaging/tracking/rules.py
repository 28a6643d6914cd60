"""Machine traffic: which opens and clicks are probably not a person.

Mail security gateways (Microsoft Defender Safe Links, Proofpoint, Mimecast, Barracuda, ...) open and
click links on delivery; Apple Mail Privacy Protection and webmail image proxies load every pixel. Such
events are recorded but flagged (machine=True, machine_reason): HEAD requests, a missing or known
scanner/proxy User-Agent (MACHINE_AGENTS, the one list to maintain), and anything within
TOO_SOON_SECONDS of sending. People are counted by clicks that are not flagged; opens are shown only as
an unreliable figure.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import F, Q
from django.utils.translation import gettext as _

from tsunagu.messaging.models import EventKind

# A click or open this soon after the mail was sent is a gateway scanning it on delivery, not a person.
TOO_SOON_SECONDS = 10

# --- machine traffic: the one list to maintain ------------------------------------------------------
#
# (match, pattern, label, kinds). `match` is "contains" (case-insensitive substring) or "exact" (the whole
# User-Agent, case-insensitive). `kinds` says whether a pattern flags clicks, opens or both: e.g. Outlook
# loads images as "Microsoft Office ... Outlook" when a person opens the mail (a real open), while a
# "Microsoft Office" client fetching a link is Office's link check, not a click.
# Sources: vendor documentation and published ESP field notes on security-gateway clicks and image
# proxies (Gmail's "via ggpht.com GoogleImageProxy", Yahoo's "YahooMailProxy", Apple MPP's bare
# "Mozilla/5.0" from Apple's proxy ranges). Microsoft Safe Links often sends no User-Agent or a generic
# Chrome one: the empty-agent and too-soon rules catch most of it.
CLICK = EventKind.CLICKED.value
OPEN = EventKind.OPENED.value
BOTH = frozenset({CLICK, OPEN})
CLICKS = frozenset({CLICK})
OPENS = frozenset({OPEN})

MACHINE_AGENTS: tuple[tuple[str, str, str, frozenset], ...] = (
    # Mail security gateways (scan every link, and often load images, on delivery).
    ("contains", "safelinks", "Microsoft Defender Safe Links", BOTH),
    ("contains", "microsoft office", "Microsoft Office link check", CLICKS),
    ("contains", "ms-office", "Microsoft Office link check", CLICKS),
    ("contains", "proofpoint", "Proofpoint", BOTH),
    ("contains", "urldefense", "Proofpoint URL Defense", BOTH),
    ("contains", "mimecast", "Mimecast", BOTH),
    ("contains", "barracuda", "Barracuda", BOTH),
    ("contains", "cudasvc", "Barracuda", BOTH),
    ("contains", "ironport", "Cisco Secure Email", BOTH),
    ("contains", "ciscosecureemail", "Cisco Secure Email", BOTH),
    ("contains", "trend micro", "Trend Micro", BOTH),
    ("contains", "trendmicro", "Trend Micro", BOTH),
    ("contains", "forcepoint", "Forcepoint", BOTH),
    ("contains", "symantec", "Symantec", BOTH),
    ("contains", "fortimail", "FortiMail", BOTH),
    ("contains", "sophos", "Sophos", BOTH),
    ("contains", "mcafee", "McAfee", BOTH),
    ("contains", "zscaler", "Zscaler", BOTH),
    ("contains", "vadesecure", "Vade", BOTH),
    # Image proxies and privacy prefetch (opens only: they load pixels whether or not anyone reads).
    ("contains", "googleimageproxy", "Google image proxy", OPENS),
    ("contains", "yahoomailproxy", "Yahoo Mail proxy", OPENS),
    ("exact", "mozilla/5.0", "Apple Mail Privacy Protection", OPENS),
    # A browser never sends a bare "Mozilla/5.0"; on a link it is a scanner.
    ("exact", "mozilla/5.0", "generic client", CLICKS),
    # Link previews, crawlers, headless browsers and HTTP libraries.
    ("contains", "headlesschrome", "headless browser", BOTH),
    ("contains", "phantomjs", "headless browser", BOTH),
    ("contains", "googlebot", "Googlebot", BOTH),
    ("contains", "google-safety", "Google Safe Browsing", BOTH),
    ("contains", "bingbot", "Bingbot", BOTH),
    ("contains", "bingpreview", "Bing preview", BOTH),
    ("contains", "applebot", "Applebot", BOTH),
    ("contains", "slackbot", "Slack link preview", BOTH),
    ("contains", "discordbot", "Discord link preview", BOTH),
    ("contains", "twitterbot", "X link preview", BOTH),
    ("contains", "facebookexternalhit", "Facebook link preview", BOTH),
    ("contains", "linkedinbot", "LinkedIn link preview", BOTH),
    ("contains", "telegrambot", "Telegram link preview", BOTH),
    ("contains", "whatsapp", "WhatsApp link preview", BOTH),
    ("contains", "skypeuripreview", "Skype link preview", BOTH),
    ("contains", "python-requests", "script", BOTH),
    ("contains", "python-urllib", "script", BOTH),
    ("contains", "aiohttp", "script", BOTH),
    ("contains", "go-http-client", "script", BOTH),
    ("contains", "okhttp", "script", BOTH),
    ("contains", "apache-httpclient", "script", BOTH),
    ("contains", "libwww-perl", "script", BOTH),
    ("contains", "curl/", "script", BOTH),
    ("contains", "wget/", "script", BOTH),
)

REASON_HEAD = "head"
REASON_NO_AGENT = "no_user_agent"
REASON_TOO_SOON = "too_soon"
REASON_AGENT_PREFIX = "agent:"


def _agent_rules(kind: str) -> tuple[tuple[tuple[str, str], ...], dict[str, str]]:
    contains = tuple((pattern, label) for match, pattern, label, kinds in MACHINE_AGENTS
                     if match == "contains" and kind in kinds)
    exact = {pattern: label for match, pattern, label, kinds in MACHINE_AGENTS if match == "exact" and kind in kinds}
    return contains, exact


_RULES = {CLICK: _agent_rules(CLICK), OPEN: _agent_rules(OPEN)}


def machine_reason(kind: str, *, method: str, user_agent: str, seconds_since_sent: float | None) -> str:
    """Why this open or click is probably not a person ("" when nothing says so)."""
    if method == "HEAD":
        return REASON_HEAD
    agent = user_agent.strip().lower()
    if not agent:
        return REASON_NO_AGENT
    contains, exact = _RULES[kind]
    label = exact.get(agent)
    if label is None:
        for pattern, candidate in contains:
            if pattern in agent:
                label = candidate
                break
    if label is not None:
        return REASON_AGENT_PREFIX + label
    if seconds_since_sent is not None and seconds_since_sent < TOO_SOON_SECONDS:
        return REASON_TOO_SOON
    return ""


def machine_agent_q(kind: str, field: str = "user_agent"):
    """The User-Agent rules as a database filter (for rows recorded elsewhere, e.g. relay clicks)."""
    contains, exact = _RULES[kind]
    query = Q(**{field: ""})
    for pattern, _label in contains:
        query |= Q(**{f"{field}__icontains": pattern})
    for pattern in exact:
        query |= Q(**{f"{field}__iexact": pattern})
    return query


def human_referral_clicks(clicks, *, sent_at=None):
    """Of these referral-link clicks (relay.Click, recorded by the /r/ landing page itself), those the rules
    above count as a person: no scanner User-Agent, and not within TOO_SOON_SECONDS of sending. `sent_at` is
    the sending time as an expression (the clicked message's own by default; OuterRef("sent_at") in a
    subquery about messages)."""
    sent_at = F("message__sent_at") if sent_at is None else sent_at
    not_too_soon = Q(message__sent_at__isnull=True) | Q(created_at__gte=sent_at + timedelta(seconds=TOO_SOON_SECONDS))
    return clicks.exclude(machine_agent_q(CLICK)).filter(not_too_soon)


def reason_label(reason: str) -> str:
    """The console's words for a machine_reason."""
    if not reason:
        return ""
    if reason == REASON_HEAD:
        return _("HEADリクエスト(リンクの存在確認)")
    if reason == REASON_NO_AGENT:
        return _("ブラウザ情報なし")
    if reason == REASON_TOO_SOON:
        return _("送信から%(seconds)d秒以内") % {"seconds": TOO_SOON_SECONDS}
    if reason.startswith(REASON_AGENT_PREFIX):
        return _("自動アクセス: %(name)s") % {"name": reason[len(REASON_AGENT_PREFIX):]}
    return reason
