"""Unsubscribing (RFC 8058 one-click, the candidate's pages, HR's hand-kept list) and the links for it.

Every mail except the purely transactional ones (the double opt-in verification) advertises something
(a rejection notice promotes the career-support service), so it carries `List-Unsubscribe` and a visible
footer with a personal link `/u/<token>`. The token is the message id with a MAC keyed by a salt of its own: it
is checked without a database read, cannot be guessed or moved to another message, and is not a
referral token. Through the message it names one company and one address; unsubscribing puts that
address on that company's suppression list (and on no other company's).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache
from urllib.parse import quote
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_str
from django.utils.translation import gettext as _

from tsunagu.companies.models import Company
from tsunagu.messaging.models import (
    EventKind,
    Message,
    MessageEvent,
    MessageKind,
    MessageStatus,
    Suppression,
    SuppressionReason,
)
from tsunagu.messaging.suppression import lift, suppress, suppression_for
from tsunagu.talent.normalize import email_key

# Mail that advertises nothing: no List-Unsubscribe, no footer, and never held back by the suppression
# list (the person has just asked for it on our page).
TRANSACTIONAL_KINDS = frozenset({MessageKind.VERIFICATION})

_SALT = "tsunagu.messaging.unsubscribe"
# MessageEvent.source of the unsubscribes recorded here; source_event_id is the message id (one event each).
EVENT_SOURCE = "unsubscribe"
# How an unsubscribe arrived (MessageEvent.detail).
VIA_ONE_CLICK = "one-click (RFC 8058)"
VIA_PAGE = "confirmation page"
VIA_PREFERENCES = "preference page"


def is_advertising(kind: str) -> bool:
    return kind not in TRANSACTIONAL_KINDS


# --- tokens and links ------------------------------------------------------------------------------

# The token is `<message id in base 62>.<HMAC-SHA256 of it, cut to 128 bits, base64url>`: as unforgeable as
# a signing.Signer token for every practical purpose, but short enough that the List-Unsubscribe header
# line stays within RFC 5322's 78 characters for a base URL of ordinary length (a URI cannot be folded).
_MAC_BYTES = 16


@lru_cache(maxsize=8)
def _key(secret) -> bytes:
    # What django.utils.crypto.salted_hmac derives from the salt and the secret, kept: bulk delivery makes
    # a token per mail, and the derivation is half the cost of one.
    return hashlib.sha256((_SALT + force_str(secret)).encode()).digest()


def _mac(value: str, secret) -> str:
    digest = hmac.new(_key(secret), value.encode("utf-8"), hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def unsubscribe_token(message_id: int) -> str:
    value = signing.b62_encode(message_id)
    return f"{value}.{_mac(value, settings.SECRET_KEY)}"


def message_id_from_token(token: str) -> int | None:
    value, separator, mac = token.partition(".")
    if not separator or not value:
        return None
    # Tokens made with a previous key stay valid while it is listed in SECRET_KEY_FALLBACKS (as for Signer).
    if not any(constant_time_compare(mac, _mac(value, secret))
               for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]):
        return None
    try:
        return signing.b62_decode(value)
    except ValueError:
        return None


def message_for_token(token: str) -> Message | None:
    """The message a token names, with its company; None for a forged or tampered token, or for a mail
    that never carried an unsubscribe link."""
    message_id = message_id_from_token(token)
    if message_id is None:
        return None
    message = Message.objects.select_related("company").filter(pk=message_id).first()
    if message is None or not is_advertising(message.kind):
        return None
    return message


@lru_cache(maxsize=1)
def _path_prefix() -> str:
    # reverse() is costly per message in bulk delivery; the link is this prefix plus the token.
    return reverse("unsubscribe:confirm", args=["TOKEN"])[: -len("TOKEN")]


def unsubscribe_url(message_id: int) -> str:
    """The personal link in the footer and in List-Unsubscribe (absolute, from TSUNAGU_BASE_URL)."""
    return settings.BASE_URL + _path_prefix() + unsubscribe_token(message_id)


def unsubscribe_mailto(company: Company) -> str:
    """The mailto: of List-Unsubscribe. Tsunagu receives no mail, so it goes to the company's reply-to
    address (or its sender address), where HR reads it and adds the address on the suppression page."""
    address = company.reply_to or company.from_email
    return f"mailto:{quote(address, safe='@')}?subject=unsubscribe"


# --- why a message is held back --------------------------------------------------------------------

def suppressed_reason(suppression: Suppression, company: Company) -> str:
    """What a suppressed message's status_reason says: the list's reason and since when."""
    since = timezone.localtime(suppression.created_at, ZoneInfo(company.time_zone))
    return _("配信停止リストにあるアドレスのため送信しません: %(reason)s(%(date)s〜)") % {
        "reason": suppression.get_reason_display(), "date": since.strftime("%Y-%m-%d"),
    }


def suppress_pending_messages(company: Company, email: str, suppression: Suppression) -> int:
    """Hold back the address's mail that is still scheduled in this company: each becomes `suppressed`,
    saying why. Transactional mail is left alone. Returns how many."""
    key = email_key(email)
    pending = [
        pk for pk, to_email in Message.objects.filter(company=company, status=MessageStatus.SCHEDULED,
                                                      to_email__iexact=email.strip())
        .exclude(kind__in=TRANSACTIONAL_KINDS).values_list("pk", "to_email")
        if email_key(to_email) == key
    ]
    if not pending:
        return 0
    now = timezone.now()
    return Message.objects.filter(pk__in=pending, status=MessageStatus.SCHEDULED).update(
        status=MessageStatus.SUPPRESSED, status_reason=suppressed_reason(suppression, company)[:300],
        updated_at=now,
    )


# --- the candidate's actions -----------------------------------------------------------------------

@transaction.atomic
def unsubscribe(message: Message, *, via: str, user_agent: str = "") -> Suppression:
    """Stop all mail from the message's company to its address, at once: the address goes on the company's
    suppression list, an UNSUBSCRIBED event is recorded on the message (once, however often it is
    repeated), and the address's still-scheduled mail in the company is held back. Idempotent."""
    company = message.company
    suppression = suppress(company, message.to_email, SuppressionReason.UNSUBSCRIBED, message=message,
                           detail=via)
    try:
        with transaction.atomic():
            MessageEvent.objects.create(
                company=company, message=message, kind=EventKind.UNSUBSCRIBED, occurred_at=timezone.now(),
                source=EVENT_SOURCE, source_event_id=str(message.pk), user_agent=user_agent[:500], detail=via,
            )
    except IntegrityError:  # a repeated request: recorded the first time
        pass
    suppress_pending_messages(company, message.to_email, suppression)
    return suppression


def resubscribe(message: Message) -> bool:
    """The candidate's own change of mind on the preference page: lifts a suppression that came from an
    unsubscribe. One for another reason (a bounce, a complaint, HR's decision) stays; returns whether lifted."""
    suppression = suppression_for(message.company, message.to_email)
    if suppression is None or suppression.reason != SuppressionReason.UNSUBSCRIBED:
        return False
    return lift(message.company, message.to_email)


# --- HR's actions ----------------------------------------------------------------------------------

@transaction.atomic
def add_suppression(company: Company, email: str, *, detail: str = "") -> Suppression:
    """HR stops an address by hand (e.g. a candidate asked by mail or phone)."""
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationError({"email": _("メールアドレスの形式が正しくありません。")}) from exc
    if suppression_for(company, email) is not None:
        raise ValidationError({"email": _("このアドレスは既に配信停止リストにあります。")})
    suppression = suppress(company, email, SuppressionReason.MANUAL, detail=detail.strip())
    suppress_pending_messages(company, email, suppression)
    return suppression


def lift_suppression(company: Company, suppression_id: int) -> Suppression:
    """HR takes an address off the list (e.g. a bounce from a typo since corrected). Mail held back
    meanwhile stays held back; HR can send each again from the outbox."""
    suppression = Suppression.objects.get(company=company, pk=suppression_id)
    lift(company, suppression.email)
    return suppression
