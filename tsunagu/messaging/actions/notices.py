"""Planning and cancelling mail in the outbox: the rejection notice (one per application), the double opt-in
mail, HR's cancel and "send now"; and waking a worker to deliver what is due (actions/delivery.py)."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tsunagu.companies.models import Company
from tsunagu.lib.queue import request_once
from tsunagu.messaging.actions.suppression import suppressed_reason
from tsunagu.messaging.models import FIXED_CONTENT_KINDS, Message, MessageKind, MessageStatus
from tsunagu.messaging.schedule import next_send_time
from tsunagu.messaging.selectors import candidates_hired_or_holding_offers, suppression_for
from tsunagu.talent.models import Application, ApplicationStatus

DELIVERY_TASK = "tsunagu.messaging.tasks.deliver_due_messages_task"
# At most one delivery task waits in the queue at a time (see lib.queue.request_once); the task takes this
# marker off when it starts. A worker with a full batch wakes another (see delivery.deliver_due_messages).
DELIVERY_WAKE_KEY = "tsunagu.messaging.delivery-requested"


def plan_rejection_notice(application: Application) -> Message | None:
    """Exactly one rejection notice per application: plan it, or re-plan one that was cancelled. A person
    rejected for several jobs within the company's window gets one notice naming the positions."""
    company = application.company
    candidate = application.candidate
    if not candidate.email or candidate.pk in candidates_hired_or_holding_offers([candidate.pk]):
        return None
    now = timezone.now()
    decided_at = application.rejected_at or now
    # A late event must not send at once outside the window: never earlier than now, then into the window.
    send_at = next_send_time(company, max(decided_at + timedelta(minutes=company.delay_minutes), now))
    message, created = Message.objects.get_or_create(
        company=company,
        key=f"{MessageKind.REJECTION}:{application.pk}",
        defaults={
            "kind": MessageKind.REJECTION,
            "application": application,
            "to_email": candidate.email,
            "to_name": candidate.name,
            "send_at": send_at,
        },
    )
    if not created and message.status != MessageStatus.CANCELLED:
        return message
    suppression = suppression_for(company, candidate.email)
    if suppression is not None:
        # On the company's suppression list: recorded as held back, so HR sees the notice and why.
        message.send_at = send_at
        message.to_email, message.to_name = candidate.email, candidate.name
        _set_status(message, MessageStatus.SUPPRESSED, status_reason=suppressed_reason(suppression, company))
        return message
    primary = _pending_notice_to_join(application, decided_at)
    if primary is not None:
        # This rejection rides on the notice already waiting for the same person.
        combined = [*primary.context.get("combined_applications", []), application.pk]
        primary.context = {**primary.context, "combined_applications": sorted(set(combined))}
        primary.save(update_fields=["context", "updated_at"])
        _set_status(message, MessageStatus.CANCELLED, cancel_reason=f"combined into notice #{primary.pk}")
        return primary
    message.send_at = send_at
    message.to_email, message.to_name = candidate.email, candidate.name
    _set_status(message, MessageStatus.SCHEDULED)
    if message.send_at <= timezone.now():
        request_delivery_on_commit()
    return message


def _pending_notice_to_join(application: Application, decided_at) -> Message | None:
    window = application.company.combine_rejections_minutes
    if not window:
        return None
    # Start from the person's other applications (a handful, by the candidate index): filtering messages by
    # status first would scan every scheduled notice, which makes a mass rejection quadratic.
    siblings = list(
        Application.objects.filter(
            company=application.company, candidate_id=application.candidate_id,
            rejected_at__gte=decided_at - timedelta(minutes=window),
            rejected_at__lte=decided_at + timedelta(minutes=window),
        ).exclude(pk=application.pk).order_by().values_list("pk", flat=True)
    )
    if not siblings:
        return None
    return (
        Message.objects.filter(
            company=application.company, kind=MessageKind.REJECTION, status=MessageStatus.SCHEDULED,
            application_id__in=siblings,
        )
        .order_by("send_at")
        .first()
    )


def _set_status(message: Message, status: str, *, cancel_reason: str = "", status_reason: str = "") -> None:
    message.status = status
    message.cancel_reason = cancel_reason
    message.status_reason = status_reason[:300]
    message.cancelled_at = timezone.now() if status == MessageStatus.CANCELLED else None
    message.save(update_fields=["status", "send_at", "to_email", "to_name", "cancelled_at", "cancel_reason",
                                "status_reason", "updated_at"])


def cancel_pending_notices(application: Application, *, reason: str) -> int:
    """Undo: cancel every notice for the application that has not started sending. Rejections that had
    been combined into a cancelled notice get a notice of their own again."""
    pending = Message.objects.filter(application=application, status=MessageStatus.SCHEDULED)
    if application.status == ApplicationStatus.ACTIVE:
        # Still in selection (a stage moved on): the thank-you for applying again stands; a decision cancels it.
        pending = pending.exclude(kind=MessageKind.WELCOME_BACK)
    pending = list(pending)
    cancelled = Message.objects.filter(pk__in=[m.pk for m in pending], status=MessageStatus.SCHEDULED).update(
        status=MessageStatus.CANCELLED, cancelled_at=timezone.now(), cancel_reason=reason[:200], updated_at=timezone.now()
    )
    combined = [pk for m in pending for pk in m.context.get("combined_applications", [])]
    if application.pk in combined:
        combined.remove(application.pk)
    for other in Application.objects.filter(pk__in=combined, status="rejected").select_related("company", "candidate"):
        plan_rejection_notice(other)
    return cancelled


def cancel_message(company: Company, message_id: int, *, reason: str) -> Message:
    message = Message.objects.get(company=company, pk=message_id)
    updated = Message.objects.filter(pk=message.pk, status=MessageStatus.SCHEDULED).update(
        status=MessageStatus.CANCELLED, cancelled_at=timezone.now(), cancel_reason=reason[:200], updated_at=timezone.now()
    )
    if not updated:
        raise ValidationError(_("送信予定のメールだけを取り消せます(現在の状態: %(status)s)。")
                              % {"status": message.get_status_display()})
    message.refresh_from_db()
    return message


def send_message_now(company: Company, message_id: int) -> Message:
    """HR's "send now" (bypasses delay and window), "retry" for a failed message, and sending a held-back
    (suppressed) message once its address has been taken off the suppression list."""
    message = Message.objects.get(company=company, pk=message_id)
    if message.status == MessageStatus.SUPPRESSED and suppression_for(company, message.to_email) is not None:
        raise ValidationError(_("このアドレスは配信停止リストにあるため送信できません。"))
    now = timezone.now()
    updated = Message.objects.filter(
        pk=message.pk, status__in=[MessageStatus.SCHEDULED, MessageStatus.FAILED, MessageStatus.SUPPRESSED]
    ).update(status=MessageStatus.SCHEDULED, send_at=now, status_reason="", updated_at=now)
    if not updated:
        raise ValidationError(_("このメールは今すぐ送信できません(現在の状態: %(status)s)。")
                              % {"status": message.get_status_display()})
    request_delivery_on_commit()
    message.refresh_from_db()
    return message


def cancel_messages(company: Company, message_ids: list[int], *, reason: str) -> int:
    """The outbox's bulk cancel: every listed message of the company that is still scheduled; returns
    how many. Messages already sending, sent or of another company are left as they are."""
    now = timezone.now()
    return Message.objects.filter(company=company, pk__in=message_ids, status=MessageStatus.SCHEDULED).update(
        status=MessageStatus.CANCELLED, cancelled_at=now, cancel_reason=reason[:200], updated_at=now)


def plan_verification_mail(company: Company, *, key: str, to_email: str, to_name: str, verify_token: str,
                           via_company: str = "") -> Message:
    """The double opt-in mail: purely transactional, sent at once, outside the send window. It is the relay
    operator's mail (`company` is the operator's party, never the company whose notice brought the person:
    that company must never hold a verification link); `via_company` names that company in the text."""
    if not company.is_operator:
        raise ValueError("the verification mail is the relay operator's: plan it for operator_party()")
    message, _created = Message.objects.get_or_create(
        company=company,
        key=key,
        defaults={
            "kind": MessageKind.VERIFICATION,
            "to_email": to_email,
            "to_name": to_name,
            "send_at": timezone.now(),
            "context": {"verify_token": verify_token, "via_company": via_company},
        },
    )
    if message.status == MessageStatus.SCHEDULED:
        request_delivery_on_commit()
    return message


def plan_fixed_mail(company: Company, *, kind: str, key: str, to_email: str, to_name: str, subject: str,
                    body_text: str, context: dict | None = None) -> Message:
    """A transactional mail whose subject and text are written now (FIXED_CONTENT_KINDS: a notice to a
    company's admins or the operator's staff, a consent request to a registrant), sent at once, outside the
    send window. One per company and key: planning it again changes nothing."""
    if kind not in FIXED_CONTENT_KINDS:
        raise ValueError(f"{kind} mail is written from templates, not planned with fixed content")
    message, created = Message.objects.get_or_create(company=company, key=key[:200], defaults={
        "kind": kind, "to_email": to_email, "to_name": to_name[:200] or to_email, "send_at": timezone.now(),
        "subject": subject[:300], "body_text": body_text, "context": context or {},
    })
    if created:
        request_delivery_on_commit()
    return message


# --- waking a worker ---------------------------------------------------------------------------------

def request_delivery() -> None:
    """Make sure a worker will look for due mail (one waiting task at most, however often this is called)."""
    request_once(DELIVERY_WAKE_KEY, DELIVERY_TASK)


def request_delivery_on_commit() -> None:
    """Once this transaction commits, make sure a worker will look for due mail."""
    transaction.on_commit(request_delivery)

