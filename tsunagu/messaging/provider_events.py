"""What e-mail providers report about our mail: delivered, bounced, complained, opened, clicked, unsubscribed.

The providers post their events to anymail's webhook views (mounted under /mail/events/, see
provider_webhooks), which check each provider's signature or our basic-auth secret and send one normalised
`anymail.signals.tracking` signal per event. `record_provider_event` receives it:

- it finds our Message by the metadata we sent with the mail ({"tsunagu_message": pk}), or by our
  Message-ID (which names the row: see actions.build_email); an event about mail we did not send, or whose
  recipient is not the message's, is logged and ignored, and the provider is answered 200 so it stops
  retrying;
- it records one MessageEvent, de-duplicated by (source, the provider's event id): a retried or repeated
  post changes nothing (providers without an event id for some events, such as Postmark's deliveries and
  opens, get a digest of the event's own content as its id);
- a hard bounce, a complaint or an unsubscribe puts the address on the company's suppression list.

Opens are recorded as reported; reports treat them as unreliable (image proxies and privacy features open
mail nobody read).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re

from anymail.signals import EventType, RejectReason
from django.db import IntegrityError, transaction
from django.utils import timezone

from tsunagu.messaging.models import EventKind, Message, MessageEvent, SuppressionReason
from tsunagu.messaging.provider_backends import METADATA_KEY
from tsunagu.messaging.suppression import suppress
from tsunagu.talent.normalize import email_key

logger = logging.getLogger(__name__)

# anymail's esp_name -> our MessageEvent.source
SOURCES = {"SendGrid": "sendgrid", "Amazon SES": "amazon_ses", "Postmark": "postmark", "Mailgun": "mailgun"}

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
# Our Message-IDs name the row: <random hex.tsunagu.<pk>@domain> (see actions.build_email).
MESSAGE_ID_PK = re.compile(r"\.tsunagu\.(\d+)@")


def record_provider_event(sender, event, esp_name, **kwargs) -> MessageEvent | None:
    """The receiver of anymail's tracking signal (connected in MessagingConfig.ready)."""
    kind = KINDS.get(event.event_type)
    source = SOURCES.get(esp_name) or re.sub(r"[^a-z0-9]+", "_", str(esp_name).lower())[:30]
    if kind is None:  # queued, sent, subscribed, autoresponded, unknown: nothing we keep
        return None
    message = find_message(event)
    if message is None:
        logger.warning("%s %s event %s for no message of ours (metadata %s, message id %s): ignored", source,
                       event.event_type, event.event_id, _metadata_value(event), event.message_id)
        return None
    if event.recipient and email_key(event.recipient) != email_key(message.to_email):
        logger.warning("%s %s event %s names message %s but recipient %s, not its own: ignored", source,
                       event.event_type, event.event_id, message.pk, event.recipient)
        return None
    reason = suppression_reason(event, source)
    record = MessageEvent(
        company_id=message.company_id,
        message=message,
        kind=kind,
        occurred_at=event.timestamp or timezone.now(),
        source=source,
        source_event_id=(event.event_id or content_event_id(event))[:200],
        url=(event.click_url or "")[:2000],
        user_agent=(event.user_agent or "")[:500],
        detail=_detail(event)[:500],
    )
    try:
        with transaction.atomic():
            record.save()
            if reason:
                suppress(message.company, message.to_email, reason, message=message,
                         detail=f"{source}: {_detail(event)}")
    except IntegrityError:
        logger.info("%s event %s about message %s was recorded before: ignored", source, record.source_event_id,
                    message.pk)
        return None
    return record


def find_message(event) -> Message | None:
    pk = _metadata_value(event)
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
        return raw.get("bounce", {}).get("bounceType") == "Permanent"
    if source == "postmark":
        return raw.get("Type") == "HardBounce" or raw.get("SuppressionReason") == "HardBounce"
    if source == "sendgrid":
        # "bounce": the receiving server refused the address; "blocked": it refused the mail for now.
        return raw.get("type", "bounce") == "bounce"
    if source == "mailgun":
        data = raw.get("event-data")
        if isinstance(data, dict):  # anymail already turned temporary failures into "deferred"
            return data.get("severity") == "permanent" and data.get("reason") in {"bounce", "suppress-bounce",
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


def _metadata_value(event) -> int | None:
    value = (event.metadata or {}).get(METADATA_KEY)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _message_ids(event) -> list[str]:
    candidates = [event.message_id]
    raw = _raw(event)
    common = raw.get("mail", {}).get("commonHeaders", {}) if isinstance(raw.get("mail"), dict) else {}
    candidates.append(common.get("messageId"))  # Amazon SES: the Message-ID header we wrote
    found = []
    for candidate in candidates:
        if isinstance(candidate, str) and "@" in candidate:
            candidate = candidate.strip()
            found.append(candidate if candidate.startswith("<") else f"<{candidate}>")
    return found


def _raw(event) -> dict:
    return event.esp_event if isinstance(event.esp_event, dict) else {}


def _detail(event) -> str:
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
