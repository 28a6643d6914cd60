"""The company's suppression list: addresses it must not mail again (unsubscribes, hard bounces, complaints,
and addresses HR stops by hand), checked when a message is about to be sent; and the candidate's and HR's
changes to it. Putting an address on the list holds back the mail still scheduled to it.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tsunagu.companies.models import Company
from tsunagu.messaging.models import (
    EventKind,
    Message,
    MessageEvent,
    MessageStatus,
    Suppression,
    SuppressionReason,
)
from tsunagu.messaging.selectors import suppression_for
from tsunagu.messaging.unsubscribe import TRANSACTIONAL_KINDS
from tsunagu.talent.normalize import email_key

# MessageEvent.source of the unsubscribes recorded here; source_event_id is the message id (one event each).
EVENT_SOURCE = "unsubscribe"
# How an unsubscribe arrived (MessageEvent.detail).
VIA_ONE_CLICK = "one-click (RFC 8058)"
VIA_PAGE = "confirmation page"
VIA_PREFERENCES = "preference page"


# --- the list ----------------------------------------------------------------------------------------

def suppress(company: Company, email: str, reason: str, *, message: Message | None = None,
             detail: str = "") -> Suppression:
    """Put an address on the list; idempotent (the first reason recorded is kept)."""
    key = email_key(email)
    existing = Suppression.objects.filter(company=company, email_key=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Suppression.objects.create(company=company, email_key=key, email=email.strip(), reason=reason,
                                              message=message, detail=detail[:300])
    except IntegrityError:  # suppressed a moment ago by a concurrent request
        return Suppression.objects.get(company=company, email_key=key)


def lift(company: Company, email: str) -> bool:
    """Take an address off the list (HR's decision, e.g. a bounce that was a typo since corrected)."""
    deleted, _ = Suppression.objects.filter(company=company, email_key=email_key(email)).delete()
    return bool(deleted)


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
