"""Recording what e-mail providers report about our mail (anymail's tracking signal, connected in
MessagingConfig.ready): one MessageEvent per event, de-duplicated, and a suppression where the address is
bad. How an event is read is in messaging/provider_events.py."""

from __future__ import annotations

import logging
import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from tsunagu.messaging.actions.suppression import suppress
from tsunagu.messaging.models import MessageEvent
from tsunagu.messaging.provider_events import (
    KINDS,
    SOURCES,
    content_event_id,
    event_detail,
    find_message,
    metadata_value,
    suppression_reason,
)
from tsunagu.talent.normalize import email_key

logger = logging.getLogger(__name__)


def record_provider_event(sender, event, esp_name, **kwargs) -> MessageEvent | None:
    """The receiver of anymail's tracking signal (connected in MessagingConfig.ready)."""
    kind = KINDS.get(event.event_type)
    source = SOURCES.get(esp_name) or re.sub(r"[^a-z0-9]+", "_", str(esp_name).lower())[:30]
    if kind is None:  # queued, sent, subscribed, autoresponded, unknown: nothing we keep
        return None
    message = find_message(event)
    if message is None:
        logger.warning("%s %s event %s for no message of ours (metadata %s, message id %s): ignored", source,
                       event.event_type, event.event_id, metadata_value(event), event.message_id)
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
        detail=event_detail(event)[:500],
    )
    try:
        with transaction.atomic():
            record.save()
            if reason:
                suppress(message.company, message.to_email, reason, message=message,
                         detail=f"{source}: {event_detail(event)}")
    except IntegrityError:
        logger.info("%s event %s about message %s was recorded before: ignored", source, record.source_event_id,
                    message.pk)
        return None
    return record
