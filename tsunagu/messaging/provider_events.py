"""What e-mail providers report about our mail: delivered, bounced, complained, opened, clicked, unsubscribed.

The providers post their events to anymail's webhook views (mounted under /mail/events/, see
views/provider_webhooks.py), which check each provider's signature or our basic-auth secret and send one
normalised `anymail.signals.tracking` signal per event. `record_provider_event` (actions/provider_events.py)
receives it:

- it finds our Message by the metadata we sent with the mail ({"tsunagu_message": pk}), or by our
  Message-ID (which names the row: see compose.build_email); an event about mail we did not send, or whose
  recipient is not the message's, is logged and ignored, and the provider is answered 200 so it stops
  retrying;
- it records one MessageEvent, de-duplicated by (source, the provider's event id): a retried or repeated
  post changes nothing (providers without an event id for some events, such as Postmark's deliveries and
  opens, get a digest of the event's own content as its id);
- a hard bounce, a complaint or an unsubscribe puts the address on the company's suppression list.

Opens are recorded as reported; reports treat them as unreliable (image proxies and privacy features open
mail nobody read).

This module reads an event (which message, which kind, whether it suppresses the address); recording it is
in actions/provider_events.py.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime

from anymail.signals import EventType, RejectReason

from tsunagu.lib import strict_json
from tsunagu.messaging.models import EventKind, Message, SuppressionReason
from tsunagu.messaging.provider_backends import METADATA_KEY

# anymail's esp_name -> our MessageEvent.source
SOURCES = {"SendGrid": "sendgrid", "Amazon SES": "amazon_ses", "Postmark": "postmark", "Mailgun": "mailgun"}
# The providers whose event webhooks are mounted (/mail/events/<provider>/tracking/, see urls.py).
WEBHOOK_PROVIDERS = ("sendgrid", "amazon_ses", "postmark", "mailgun")

KINDS = {
    EventType.DELIVERED: EventKind.DELIVERED,
    EventType.DEFERRED: EventKind.DEFERRED,
    EventType.BOUNCED: EventKind.BOUNCED,
    EventType.COMPLAINED: EventKind.COMPLAINED,
    EventType.OPENED: EventKind.OPENED,
    EventType.CLICKED: EventKind.CLICKED,
    EventType.UNSUBSCRIBED: EventKind.UNSUBSCRIBED,
    EventType.REJECTED: EventKind.REJECTED,
    EventType.FAILED: EventKind.FAILED,
}
# A provider that refuses to send names why; these reasons are about the address (the others, such as
# "blocked" for our content or our domain's DMARC policy, are not, and suppress nothing).
REJECTION_SUPPRESSES = {
    RejectReason.BOUNCED: SuppressionReason.HARD_BOUNCE,
    RejectReason.INVALID: SuppressionReason.HARD_BOUNCE,
    RejectReason.UNSUBSCRIBED: SuppressionReason.UNSUBSCRIBED,
    RejectReason.SPAM: SuppressionReason.COMPLAINT,
}
# Our Message-IDs name the row: <random hex.tsunagu.<pk>@domain> (see compose.build_email). ASCII digits, as
# many as a primary key can have (\d would take any script's digits, and any number of them).
MESSAGE_ID_PK = re.compile(r"\.tsunagu\.([0-9]{1,18})@")
# The largest primary key a database holds (a larger number is no message of ours, and no query).
MAX_PK = 2**63 - 1
# The event's fields that are stored or looked up: text (or absent), as every provider documents them.
TEXT_FIELDS = ("event_id", "message_id", "recipient", "click_url", "user_agent", "description", "mta_response")


def malformed(event) -> str:
    """Why anymail's reading of a provider's post cannot be recorded as it is ("" when it can): a field
    of another type than documented, text a database refuses (NUL, lone surrogates), nesting or numbers
    beyond strict_json's limits. The webhook answers 400 and records none of the post's events."""
    for name in TEXT_FIELDS:
        value = getattr(event, name, None)
        if value is not None and not (isinstance(value, str) and strict_json.clean_text(value)):
            return f"{name} is not text"
    if event.timestamp is not None and not isinstance(event.timestamp, datetime):
        return "timestamp is not a date"
    if event.metadata and not isinstance(event.metadata, dict):
        return "metadata is not an object"
    raw = event.esp_event
    if hasattr(raw, "lists"):  # a QueryDict (form-encoded webhooks)
        raw = dict(raw.lists())
    try:
        strict_json.check(raw if isinstance(raw, (dict, list)) else None)
        strict_json.check(event.metadata or None)
    except strict_json.MalformedJSON as exc:
        return str(exc)
    return ""


def find_message(event) -> Message | None:
    pk = metadata_value(event)
    if pk is not None:
        return Message.objects.select_related("company").filter(pk=pk).first()
    for message_id in _message_ids(event):
        match = MESSAGE_ID_PK.search(message_id)
        if match:
            message = Message.objects.select_related("company").filter(pk=int(match.group(1))).first()
            if message is not None and message.message_id == message_id:
                return message
    return None


def suppression_reason(event, source: str) -> str | None:
    """Which suppression the event calls for: hard bounces, complaints and unsubscribes."""
    if event.event_type == EventType.COMPLAINED:
        return SuppressionReason.COMPLAINT
    if event.event_type == EventType.UNSUBSCRIBED:
        return SuppressionReason.UNSUBSCRIBED
    if event.event_type == EventType.BOUNCED:
        return SuppressionReason.HARD_BOUNCE if is_hard_bounce(event, source) else None
    if event.event_type == EventType.REJECTED:
        raw = _raw(event)
        if source == "sendgrid" and str(raw.get("reason", "")).lower() == "spam reporting address":
            return SuppressionReason.COMPLAINT
        return REJECTION_SUPPRESSES.get(event.reject_reason)
    return None


def is_hard_bounce(event, source: str) -> bool:
    """A bounce that says the address does not work, as each provider marks it. (A soft bounce, a block of
    our mail, a message that expired in the queue: recorded, but the address stays.)"""
    raw = _raw(event)
    if source == "amazon_ses":
        return _object(raw.get("bounce")).get("bounceType") == "Permanent"
    if source == "postmark":
        return raw.get("Type") == "HardBounce" or raw.get("SuppressionReason") == "HardBounce"
    if source == "sendgrid":
        # "bounce": the receiving server refused the address; "blocked": it refused the mail for now.
        return raw.get("type", "bounce") == "bounce"
    if source == "mailgun":
        data = raw.get("event-data")
        if isinstance(data, dict):  # anymail already turned temporary failures into "deferred"
            return data.get("severity") == "permanent" and str(data.get("reason")) in {"bounce", "suppress-bounce",
                                                                                        "hardfail"}
        return _smtp_class(event) == "5"  # the legacy form-encoded webhook: the SMTP code
    return event.reject_reason in {RejectReason.BOUNCED, RejectReason.INVALID} and _smtp_class(event) == "5"


def content_event_id(event) -> str:
    """An id for an event its provider sent without one: a digest of the event as the provider sent it
    (a retry posts the same content, so it gets the same id)."""
    raw = event.esp_event
    if hasattr(raw, "lists"):  # a QueryDict (form-encoded webhooks)
        raw = dict(raw.lists())
    try:
        content = json.dumps(raw, sort_keys=True, default=str)
    except (TypeError, ValueError):
        content = json.dumps([event.event_type, event.message_id, event.recipient, str(event.timestamp),
                              event.click_url], default=str)
    return "sha256:" + hashlib.sha256(content.encode("utf-8")).hexdigest()


def metadata_value(event) -> int | None:
    """Our message id, from the metadata sent with the mail (None when absent or not a number)."""
    value = (event.metadata or {}).get(METADATA_KEY)
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{1,19}", value.strip()):
        return None  # int() would take any script's digits, and thousands of them
    try:
        pk = int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError, OverflowError):
        return None
    return pk if pk is not None and 0 < pk <= MAX_PK else None


def _message_ids(event) -> list[str]:
    candidates = [event.message_id]
    raw = _raw(event)
    # Amazon SES: the Message-ID header we wrote.
    candidates.append(_object(_object(raw.get("mail")).get("commonHeaders")).get("messageId"))
    found = []
    for candidate in candidates:
        if isinstance(candidate, str) and "@" in candidate:
            candidate = candidate.strip()
            found.append(candidate if candidate.startswith("<") else f"<{candidate}>")
    return found


def _raw(event) -> dict:
    return event.esp_event if isinstance(event.esp_event, dict) else {}


def _object(value) -> dict:
    return value if isinstance(value, dict) else {}


def event_detail(event) -> str:
    """The provider's description and the receiving server's answer, as one line."""
    parts = [part for part in (event.description, event.mta_response) if part]
    return " / ".join(str(part).strip() for part in parts)


def _smtp_class(event) -> str:
    """The first digit of the SMTP reply in the event ("5" permanent, "4" temporary), or ""."""
    raw = event.esp_event
    code = ""
    if hasattr(raw, "get"):
        code = str(raw.get("code", "") or "")
    match = re.search(r"\b([245])\d\d\b", code or str(event.mta_response or ""))
    return match.group(1) if match else ""
