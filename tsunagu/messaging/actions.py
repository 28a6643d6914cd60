"""Every change to templates and the outbox: planning, cancelling and delivering mail."""

from __future__ import annotations

import logging
import smtplib
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from email.headerregistry import Address
from email.utils import make_msgid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tsunagu.companies.models import Company
from tsunagu.messaging import rendering
from tsunagu.messaging.defaults import DEFAULT_TEMPLATES
from tsunagu.messaging.mime import NoticeEmail
from tsunagu.messaging.models import Message, MessageKind, MessageStatus, MessageTemplate
from tsunagu.messaging.schedule import next_send_time
from tsunagu.talent.models import Application

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# A row left in "sending" this long (its worker died mid-send) is due again.
SENDING_LEASE = timedelta(minutes=5)
# A due row that was handed to the queue but not claimed within this time is handed over again
# (the queue lost it, e.g. an in-memory queue restarted).
REENQUEUE_AFTER = timedelta(minutes=2)
VERIFICATION_DAYS = 7


# --- templates -------------------------------------------------------------------------------------

def install_default_templates(company: Company) -> None:
    for kind, template in DEFAULT_TEMPLATES.items():
        if not MessageTemplate.objects.filter(company=company, kind=kind).exists():
            MessageTemplate.objects.create(company=company, kind=kind, version=1, **template)


def current_template(company: Company, kind: str) -> MessageTemplate:
    template = MessageTemplate.objects.filter(company=company, kind=kind).order_by("-version").first()
    if template is None:
        install_default_templates(company)
        template = MessageTemplate.objects.filter(company=company, kind=kind).order_by("-version").first()
    return template


@transaction.atomic
def save_template(company: Company, kind: str, *, subject: str, body_text: str, user=None) -> MessageTemplate:
    """Add a new version; a template with a syntax error or an unknown variable is refused whole."""
    if kind not in rendering.VARIABLES:
        raise ValidationError(_("不明なテンプレートの種類です。"))
    subject = subject.strip()
    body_text = body_text.replace("\r\n", "\n")
    rendering.validate_template(kind, subject, body_text)
    latest = MessageTemplate.objects.select_for_update().filter(company=company, kind=kind).order_by("-version").first()
    if latest and latest.subject == subject and latest.body_text == body_text:
        return latest
    return MessageTemplate.objects.create(
        company=company, kind=kind, version=(latest.version + 1 if latest else 1),
        subject=subject, body_text=body_text, created_by=user,
    )


# --- planning --------------------------------------------------------------------------------------

def plan_rejection_notice(application: Application) -> Message | None:
    """Exactly one rejection notice per application: plan it, or re-plan one that was cancelled."""
    company = application.company
    candidate = application.candidate
    if not candidate.email:
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
    if not created and message.status == MessageStatus.CANCELLED:
        message.status = MessageStatus.SCHEDULED
        message.send_at = send_at
        message.to_email, message.to_name = candidate.email, candidate.name
        message.cancelled_at, message.cancel_reason, message.enqueued_at = None, "", None
        message.save(update_fields=["status", "send_at", "to_email", "to_name", "cancelled_at", "cancel_reason",
                                    "enqueued_at", "updated_at"])
    if message.status == MessageStatus.SCHEDULED and message.send_at <= timezone.now():
        enqueue_on_commit([message.pk])
    return message


def cancel_pending_notices(application: Application, *, reason: str) -> int:
    """Undo: cancel every notice for the application that has not started sending."""
    return Message.objects.filter(application=application, status=MessageStatus.SCHEDULED).update(
        status=MessageStatus.CANCELLED, cancelled_at=timezone.now(), cancel_reason=reason[:200], updated_at=timezone.now()
    )


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
    """HR's "send now" (bypasses delay and window) and "retry" for a failed message."""
    message = Message.objects.get(company=company, pk=message_id)
    now = timezone.now()
    updated = Message.objects.filter(
        pk=message.pk, status__in=[MessageStatus.SCHEDULED, MessageStatus.FAILED]
    ).update(status=MessageStatus.SCHEDULED, send_at=now, enqueued_at=None, updated_at=now)
    if not updated:
        raise ValidationError(_("このメールは今すぐ送信できません(現在の状態: %(status)s)。")
                              % {"status": message.get_status_display()})
    enqueue_on_commit([message.pk])
    message.refresh_from_db()
    return message


def plan_verification_mail(company: Company, *, key: str, to_email: str, to_name: str, verify_token: str) -> Message:
    """The double opt-in mail: purely transactional, sent at once, outside the send window."""
    message, _created = Message.objects.get_or_create(
        company=company,
        key=key,
        defaults={
            "kind": MessageKind.VERIFICATION,
            "to_email": to_email,
            "to_name": to_name,
            "send_at": timezone.now(),
            "context": {"verify_token": verify_token},
        },
    )
    if message.status == MessageStatus.SCHEDULED:
        enqueue_on_commit([message.pk])
    return message


# --- queueing --------------------------------------------------------------------------------------

def enqueue_on_commit(message_ids: list[int]) -> None:
    transaction.on_commit(lambda: enqueue_delivery(message_ids))


def enqueue_delivery(message_ids: list[int]) -> None:
    from tsunagu.messaging.tasks import deliver_messages_task

    Message.objects.filter(pk__in=message_ids).update(enqueued_at=timezone.now())
    deliver_messages_task(list(message_ids))


def forget_queue_handoffs() -> int:
    """At scheduler start: whatever was handed to the queue before may be lost with it, so hand it out again.
    A row handed out twice is still claimed by one worker only."""
    return Message.objects.filter(status=MessageStatus.SCHEDULED, enqueued_at__isnull=False).update(enqueued_at=None)


def enqueue_due_messages(*, batch_size: int = 100, limit: int = 20000) -> int:
    """The scheduler's sweep: hand every due row to the queue. Our table, not the queue, is the truth."""
    now = timezone.now()
    Message.objects.filter(status=MessageStatus.SENDING, claimed_at__lt=now - SENDING_LEASE).update(
        status=MessageStatus.SCHEDULED, claim_token="", enqueued_at=None,
        last_error=_("送信中に処理が中断されたため、再送信します。"),
    )
    due = list(
        Message.objects.filter(status=MessageStatus.SCHEDULED, send_at__lte=now)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - REENQUEUE_AFTER))
        .order_by("send_at")
        .values_list("pk", flat=True)[:limit]
    )
    for start in range(0, len(due), batch_size):
        enqueue_delivery(due[start:start + batch_size])
    return len(due)


# --- delivery --------------------------------------------------------------------------------------

@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


class TemporaryFailure(Exception):
    pass


class PermanentFailure(Exception):
    pass


def claim_messages(message_ids: list[int]) -> list[Message]:
    """Atomically take due rows for this worker; a row is claimed by one worker only."""
    token = uuid.uuid4().hex
    now = timezone.now()
    Message.objects.filter(pk__in=message_ids, status=MessageStatus.SCHEDULED, send_at__lte=now).update(
        status=MessageStatus.SENDING, claim_token=token, claimed_at=now, attempts=F("attempts") + 1, updated_at=now
    )
    return list(
        Message.objects.filter(claim_token=token, status=MessageStatus.SENDING)
        .select_related("company", "template", "application__job", "application__candidate")
        .order_by("pk")
    )


def deliver_messages(message_ids: list[int]) -> DeliveryReport:
    """Render and send the claimed messages over one reused connection; record each outcome."""
    report = DeliveryReport()
    messages = claim_messages(message_ids)
    if not messages:
        return report
    connection = get_connection()
    templates: dict[tuple[int, str], MessageTemplate] = {}
    try:
        for message in messages:
            try:
                try:
                    email = build_email(message, templates)
                except (ValueError, TypeError) as exc:  # e.g. an address the MIME header cannot hold
                    raise PermanentFailure(f"{type(exc).__name__}: {exc}") from exc
                _send(connection, email)
            except PermanentFailure as exc:
                _mark_failed(message, str(exc))
                report.failed.append(message.pk)
            except TemporaryFailure as exc:
                if message.attempts >= MAX_ATTEMPTS:
                    _mark_failed(message, str(exc))
                    report.failed.append(message.pk)
                else:
                    _mark_retry(message, str(exc))
                    report.retrying.append(message.pk)
            else:
                _mark_sent(message)
                report.sent.append(message.pk)
    finally:
        try:
            connection.close()
        except (OSError, smtplib.SMTPException):
            pass
    return report


def _send(connection, email: NoticeEmail) -> None:
    try:
        connection.open()
        connection.send_messages([email])
    except smtplib.SMTPRecipientsRefused as exc:
        code, reason = next(iter(exc.recipients.values()))
        _raise_for_code(code, reason)
    except smtplib.SMTPResponseException as exc:
        _close_quietly(connection)
        _raise_for_code(exc.smtp_code, exc.smtp_error)
    except (smtplib.SMTPException, OSError) as exc:
        _close_quietly(connection)
        raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc


def _raise_for_code(code: int, reason) -> None:
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", "replace")
    text = f"{code} {reason}"
    if 500 <= code < 600:
        raise PermanentFailure(text)
    raise TemporaryFailure(text)


def _close_quietly(connection) -> None:
    try:
        connection.close()
    except Exception:  # noqa: BLE001 - a broken connection may fail to close in many ways
        if hasattr(connection, "connection"):
            connection.connection = None


def build_email(message: Message, template_cache: dict | None = None) -> NoticeEmail:
    """Render the message (filling its stored content) and build the MIME mail."""
    company = message.company
    cache = template_cache if template_cache is not None else {}
    cache_key = (company.pk, message.kind)
    if cache_key not in cache:
        cache[cache_key] = current_template(company, message.kind)
    template = cache[cache_key]
    try:
        rendered = rendering.render(template.subject, template.body_text, message_context(message))
    except rendering.RenderError as exc:
        raise PermanentFailure(_("テンプレートを表示できません: %(reason)s") % {"reason": exc}) from exc
    message.template = template
    message.subject, message.body_text, message.body_html = rendered.subject, rendered.text, rendered.html
    if not message.message_id:
        domain = company.from_email.rsplit("@", 1)[-1]
        message.message_id = make_msgid(idstring=f"tsunagu.{message.pk}", domain=domain)
    email = NoticeEmail(
        subject=rendered.subject,
        body=rendered.text,
        from_email=str(Address(display_name=company.display_sender_name, addr_spec=company.from_email)),
        to=[str(Address(display_name=message.to_name, addr_spec=message.to_email))],
        reply_to=[company.reply_to] if company.reply_to else None,
        headers={"Message-ID": message.message_id},
    )
    email.attach_alternative(rendered.html, "text/html")
    return email


def message_context(message: Message) -> dict:
    company = message.company
    relay = settings.TSUNAGU_RELAY
    context = {
        "candidate_name": message.to_name,
        "company_name": company.name,
        "signature": company.display_signature,
        "service_name": relay["service_name"],
        "operator_name": relay["operator_name"],
    }
    if message.kind == MessageKind.REJECTION:
        from tsunagu.relay.tokens import referral_token

        application = message.application
        decided = timezone.localtime(application.rejected_at or message.created_at, _zone(company))
        context.update(
            job_title=application.job.title,
            stage=application.stage_raw or application.get_stage_display(),
            rejected_date=f"{decided.year}年{decided.month}月{decided.day}日",
            referral_url=settings.BASE_URL + reverse("relay:landing", args=[referral_token(message.pk)]),
        )
    elif message.kind == MessageKind.VERIFICATION:
        context.update(
            verify_url=settings.BASE_URL + reverse("relay:verify", args=[message.context.get("verify_token", "")]),
            expires_days=VERIFICATION_DAYS,
        )
    return context


def preview(company: Company, kind: str, *, subject: str, body_text: str,
            application: Application | None = None) -> rendering.Rendered:
    """Render a draft with one of the company's real candidates (or sample data when it has none)."""
    rendering.validate_template(kind, subject, body_text)
    if kind == MessageKind.REJECTION and application is not None:
        draft = Message(company=company, kind=kind, application=application, to_name=application.candidate.name,
                        to_email=application.candidate.email, pk=0, created_at=timezone.now())
        context = message_context(draft)
    else:
        context = rendering.sample_context(kind)
        context.update(company_name=company.name, signature=company.display_signature)
    return rendering.render(subject, body_text, context)


def _zone(company: Company):
    from zoneinfo import ZoneInfo

    return ZoneInfo(company.time_zone)


def _mark_sent(message: Message) -> None:
    now = timezone.now()
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENT, sent_at=now, template=message.template, subject=message.subject,
        body_text=message.body_text, body_html=message.body_html, message_id=message.message_id,
        last_error="", claim_token="", updated_at=now,
    )


def _mark_retry(message: Message, error: str) -> None:
    now = timezone.now()
    backoff = timedelta(minutes=min(2 ** (message.attempts - 1), 60))
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.SCHEDULED, send_at=now + backoff, last_error=error[:2000], claim_token="",
        enqueued_at=None, message_id=message.message_id, updated_at=now,
    )
    logger.warning("message %s: temporary failure, retry in %s: %s", message.pk, backoff, error)


def _mark_failed(message: Message, error: str) -> None:
    now = timezone.now()
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.FAILED, last_error=error[:2000], claim_token="", message_id=message.message_id,
        subject=message.subject, body_text=message.body_text, body_html=message.body_html, updated_at=now,
    )
    logger.error("message %s failed: %s", message.pk, error)
