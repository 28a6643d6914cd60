"""The unsubscribe links (RFC 8058 one-click, the candidate's pages) and which mail carries them.

Every mail except the purely transactional ones (the double opt-in verification, alerts to the company's
admins) advertises something
(a rejection notice promotes the career-support service), so it carries `List-Unsubscribe` and a visible
footer with a personal link `/u/<token>`. The token is the message id with a MAC keyed by a salt of its own: it
is checked without a database read, cannot be guessed or moved to another message, and is not a
referral token. Through the message it names one company and one address; unsubscribing
(actions/suppression.py) puts that address on that company's suppression list (and on no other company's).
Read-only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_str

from tsunagu.companies.models import Company
from tsunagu.messaging.models import FIXED_CONTENT_KINDS, Message, MessageKind

# Mail that advertises nothing: no List-Unsubscribe, no footer, and never held back by the suppression
# list (the verification: the person has just asked for it on our page; an alert: to the company's own admins).
TRANSACTIONAL_KINDS = frozenset({MessageKind.VERIFICATION, *FIXED_CONTENT_KINDS})

_SALT = "tsunagu.messaging.unsubscribe"


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
