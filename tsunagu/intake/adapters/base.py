"""What every ATS adapter provides, and helpers they share."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tsunagu.intake.events import IncomingApplicationEvent


@dataclass
class Parsed:
    """What the web request learns from a verified body, cheaply, before anything is queued."""

    event_id: str
    action: str
    relevant: bool
    application_id: str = ""


@dataclass
class Outcome:
    """What processing a delivery produced: events to record, or the reason there are none."""

    events: list[IncomingApplicationEvent] = field(default_factory=list)
    ignored: str = ""


class Adapter:
    kind: str = ""
    # Shown on the connection page when the ATS can send its own rejection mail.
    sends_own_rejection_mail: bool = False

    def verify(self, connection, headers, body: bytes) -> bool:
        raise NotImplementedError

    def parse(self, connection, headers, payload: dict, body: bytes) -> Parsed:
        raise NotImplementedError

    def events(self, connection, payload: dict) -> Outcome:
        """Runs in the worker: may call the vendor's API."""
        raise NotImplementedError

    def sample(self, connection) -> tuple[dict, bytes, dict]:
        """A harmless, correctly signed test delivery: (headers, body, payload) for "send a test event"."""
        raise NotImplementedError


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signatures_match(expected: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(expected.lower(), presented.strip().lower())


def sha256_header_matches(header: str | None, separator: str, secret: str, message: bytes) -> bool:
    """A `sha256<separator><hex>` header (Greenhouse uses a space, Ashby and ours "=") over message."""
    scheme, _, signature = (header or "").partition(separator)
    return scheme == "sha256" and signatures_match(hmac_sha256_hex(secret, message), signature)


def payload_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def parse_time(value) -> datetime:
    """An ISO 8601 string or epoch milliseconds from a vendor, as an aware datetime (now when absent)."""
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str) and value:
        parsed = parse_datetime(value.replace("Z", "+00:00"))
        if parsed is not None:
            return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)
    return timezone.now()
