"""Erasing a person's mail: what was sent to them, what happened to it, and their address on the suppression
list. The rows stay (the outbox's counts, the dashboards) without anything that names or reaches the person.
Called by tsunagu.privacy.actions.erasure."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from tsunagu.companies.models import Company
from tsunagu.messaging.models import (
    CapturedMail,
    Message,
    MessageEvent,
    MessageKind,
    MessageStatus,
    Suppression,
    SuppressionReason,
)
from tsunagu.messaging.selectors import erased_address_key
from tsunagu.talent.normalize import email_key

ERASED_REASON = "erased"


def erase_messages(messages: QuerySet[Message], *, now: datetime) -> dict[str, int]:
    """Cancel what is still to be sent and blank every message's address, name, words and headers, their
    events' browser and provider details, and the captured copies (capture://); rows changed per table."""
    ids = list(messages.values_list("pk", flat=True))
    counts = {"messaging.message": len(ids)}
    if not ids:
        return counts
    Message.objects.filter(pk__in=ids, status=MessageStatus.SCHEDULED).update(
        status=MessageStatus.CANCELLED, cancelled_at=now, cancel_reason=ERASED_REASON, updated_at=now)
    header_ids = list(Message.objects.filter(pk__in=ids).exclude(message_id="").values_list("message_id", flat=True))
    counts["messaging.capturedmail"] = CapturedMail.objects.filter(message_id__in=header_ids).delete()[0]
    counts["messaging.messageevent"] = MessageEvent.objects.filter(message_id__in=ids).update(
        url="", user_agent="", detail="")
    Message.objects.filter(pk__in=ids).update(to_email="", to_name="", context={}, subject="", body_text="",
                                              last_error="", status_reason="", updated_at=now)
    return counts


def keep_suppression_as_hash(company: Company, email: str, *, suppress: bool) -> bool:
    """Replace the address's suppression in `company` by its keyed hash; when `suppress`, add one (the person
    chose never to be mailed again). An earlier unsubscribe or bounce is kept, as a hash, whatever they chose:
    it was their wish, or the address's fate. Whether the address is now suppressed."""
    if not (email or "").strip():
        return False
    existing = Suppression.objects.filter(company=company, email_key=email_key(email)).first()
    if existing is None and not suppress:
        return False
    reason = existing.reason if existing is not None else SuppressionReason.ERASED
    if existing is not None:
        existing.delete()
    try:
        with transaction.atomic():
            Suppression.objects.create(company=company, email_key=erased_address_key(email), email="",
                                       reason=reason, detail="")
    except IntegrityError:  # already there: erased before
        pass
    return True


# Mail to the company's own staff that can quote a person (a re-application alert names them, a failure alert
# lists their address): written when planned, so the person's words are replaced where they appear.
STAFF_KINDS = (MessageKind.ALERT, MessageKind.NOTICE)
MIN_WORD = 2  # a one-letter "name" would blank half the text
REDACTED = "(削除済み)"


def redact_staff_mail(company: Company, words: list[str]) -> int:
    """Replace the person's name, address and phone in the company's staff mail (alerts, notices); how many
    mails changed."""
    words = sorted({w.strip() for w in words if w and len(w.strip()) >= MIN_WORD}, key=len, reverse=True)
    if not words:
        return 0
    mentions = Q()
    for word in words:
        mentions |= Q(subject__contains=word) | Q(body_text__contains=word) | Q(to_name__contains=word)
    changed = 0
    for message in Message.objects.filter(company=company, kind__in=STAFF_KINDS).filter(mentions):
        for field in ("subject", "body_text", "to_name"):
            text = getattr(message, field)
            for word in words:
                text = text.replace(word, REDACTED)
            setattr(message, field, text)
        message.save(update_fields=["subject", "body_text", "to_name", "updated_at"])
        changed += 1
    return changed
