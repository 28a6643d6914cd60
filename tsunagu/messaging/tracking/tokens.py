"""The tokens of tracked links and the open pixel.

A tracked link is `/t/c/<token>`, the pixel `/t/o/<token>.gif`. The token carries, signed, everything
the answer needs: message id, company id, the time the mail was built for sending, and (for a click)
the target URL. So the redirect is answered from the token alone, with no database read, and it can
only ever send a browser to a URL this server signed: a forged or altered token is a 404 page, never a
redirect (no open redirect). Layout, all of it URL-safe:

    click: <message b62>.<company b62>.<sent b62>.<base64url(URL)>.<signature>
    open:  <message b62>.<company b62>.<sent b62>.<signature>

The signature is HMAC-SHA256 over the kind and the fields, keyed by a key derived from SECRET_KEY
(SECRET_KEY_FALLBACKS verify too, so rotating the key does not break links in old mail), truncated to
128 bits (22 characters): unforgeable, and short enough for a link in mail.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from django.conf import settings
from django.core.signing import b62_decode, b62_encode

_KEY_SALT = b"tsunagu.messaging.tracking"
_SIGNATURE_BYTES = 16  # 128 bits
_SIGNATURE_CHARS = 22  # base64url of 16 bytes, unpadded
MAX_URL_LENGTH = 2000  # MessageEvent.url holds this much; longer links are left untracked


@dataclass(frozen=True, slots=True)
class TrackedLink:
    message_id: int
    company_id: int
    sent: int  # unix seconds
    url: str = ""  # clicks only


def _derive(secret) -> bytes:
    if isinstance(secret, str):
        secret = secret.encode()
    return hashlib.sha256(_KEY_SALT + b"\x00" + secret).digest()


@lru_cache(maxsize=8)
def _keys_for(secret: str, fallbacks: tuple) -> tuple[bytes, ...]:
    return (_derive(secret), *(_derive(fallback) for fallback in fallbacks))


def signing_keys() -> tuple[bytes, ...]:
    """The key that signs new tokens first, then those that still verify old ones."""
    # Cached per key material: deriving costs a hash, and tests may change the settings.
    return _keys_for(settings.SECRET_KEY, tuple(getattr(settings, "SECRET_KEY_FALLBACKS", ()) or ()))


def signature(key: bytes, kind: bytes, value: str) -> str:
    """The signature of a token's fields (`kind` b"c" for a click, b"o" for an open)."""
    digest = hmac.digest(key, kind + value.encode(), "sha256")[:_SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest)[:_SIGNATURE_CHARS].decode()


def _verified(kind: bytes, token: str) -> str | None:
    value, dot, given = token.rpartition(".")
    if not dot or len(given) != _SIGNATURE_CHARS:
        return None
    for key in signing_keys():
        if hmac.compare_digest(signature(key, kind, value), given):
            return value
    return None


def b64(text: str) -> str:
    """base64url without padding (how a token carries its URL)."""
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def _unb64(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


def epoch(sent_at: datetime | None) -> int:
    """A token's sending time: unix seconds (now when not given)."""
    return int((sent_at or datetime.now(UTC)).timestamp())


def click_token(url: str, *, message_id: int, company_id: int, sent_at: datetime | None = None) -> str:
    if not is_http_url(url):
        raise ValueError("only http(s) URLs can be tracked")
    value = f"{b62_encode(message_id)}.{b62_encode(company_id)}.{b62_encode(epoch(sent_at))}.{b64(url)}"
    return f"{value}.{signature(signing_keys()[0], b'c', value)}"


def open_token(*, message_id: int, company_id: int, sent_at: datetime | None = None) -> str:
    value = f"{b62_encode(message_id)}.{b62_encode(company_id)}.{b62_encode(epoch(sent_at))}"
    return f"{value}.{signature(signing_keys()[0], b'o', value)}"


def parse_click_token(token: str) -> TrackedLink | None:
    """The signed link, or None for anything this server did not sign (never a redirect then)."""
    value = _verified(b"c", token)
    if value is None:
        return None
    try:
        message, company, sent, url = value.split(".")
        link = TrackedLink(b62_decode(message), b62_decode(company), b62_decode(sent), _unb64(url))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return link if is_http_url(link.url) else None


def parse_open_token(token: str) -> TrackedLink | None:
    value = _verified(b"o", token)
    if value is None:
        return None
    try:
        message, company, sent = value.split(".")
        return TrackedLink(b62_decode(message), b62_decode(company), b62_decode(sent))
    except ValueError:
        return None


def is_http_url(url: str) -> bool:
    """Whether a URL can be tracked: http(s), short enough for a token and for MessageEvent.url."""
    return url.startswith(("https://", "http://")) and len(url) <= MAX_URL_LENGTH and not any(
        ch in url for ch in "\r\n\t ")
