"""Every change to templates and the outbox: planning, cancelling and delivering mail."""

from __future__ import annotations

import logging
import smtplib
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import make_msgid
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import get_connection
from django.db import connection, transaction
from django.db.models import F
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
VERIFICATION_DAYS = 7
# A worker claims up to this many due messages at once and sends them over one connection.
DELIVERY_BATCH = 100
MARK_SENT_EVERY = 20
# One delivery task works this long at most, then queues its successor (see deliver_while_due).
DELIVERY_TASK_SECONDS = 30.0


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
    return (
        Message.objects.filter(
            company=application.company, kind=MessageKind.REJECTION, status=MessageStatus.SCHEDULED,
            application__candidate=application.candidate,
            application__rejected_at__gte=decided_at - timedelta(minutes=window),
            application__rejected_at__lte=decided_at + timedelta(minutes=window),
        )
        .exclude(application=application)
        .order_by("send_at")
        .first()
    )


def _set_status(message: Message, status: str, *, cancel_reason: str = "") -> None:
    message.status = status
    message.cancel_reason = cancel_reason
    message.cancelled_at = timezone.now() if status == MessageStatus.CANCELLED else None
    message.save(update_fields=["status", "send_at", "to_email", "to_name", "cancelled_at", "cancel_reason",
                                "updated_at"])


def candidates_hired_or_holding_offers(candidate_ids) -> set[int]:
    """Nobody is sent a rejection while hired, or holding an offer, in the same company."""
    from django.db.models import Q

    from tsunagu.talent.stages import Stage

    if not candidate_ids:
        return set()
    return set(
        Application.objects.filter(candidate_id__in=set(candidate_ids))
        .filter(Q(status="hired") | Q(status="active", stage=Stage.OFFER))
        .values_list("candidate_id", flat=True)
    )


def cancel_pending_notices(application: Application, *, reason: str) -> int:
    """Undo: cancel every notice for the application that has not started sending. Rejections that had
    been combined into a cancelled notice get a notice of their own again."""
    pending = list(Message.objects.filter(application=application, status=MessageStatus.SCHEDULED))
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
    """HR's "send now" (bypasses delay and window) and "retry" for a failed message."""
    message = Message.objects.get(company=company, pk=message_id)
    now = timezone.now()
    updated = Message.objects.filter(
        pk=message.pk, status__in=[MessageStatus.SCHEDULED, MessageStatus.FAILED]
    ).update(status=MessageStatus.SCHEDULED, send_at=now, updated_at=now)
    if not updated:
        raise ValidationError(_("このメールは今すぐ送信できません(現在の状態: %(status)s)。")
                              % {"status": message.get_status_display()})
    request_delivery_on_commit()
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
        request_delivery_on_commit()
    return message


# --- queueing --------------------------------------------------------------------------------------

def request_delivery_on_commit() -> None:
    """Once this transaction commits, make sure a worker will look for due mail."""
    from tsunagu.messaging.tasks import request_delivery

    transaction.on_commit(request_delivery)


def sweep_outbox() -> int:
    """The scheduler's tick: our table, not the queue, is the truth. Rows whose worker died mid-send are
    due again after the lease; if anything is due, a worker is asked to deliver it. Returns the due count."""
    from tsunagu.messaging.tasks import request_delivery

    now = timezone.now()
    Message.objects.filter(status=MessageStatus.SENDING, claimed_at__lt=now - SENDING_LEASE).update(
        status=MessageStatus.SCHEDULED, claim_token="",
        last_error=_("送信中に処理が中断されたため、再送信します。"),
    )
    due = Message.objects.filter(status=MessageStatus.SCHEDULED, send_at__lte=now).count()
    if due:
        request_delivery()
    return due


# --- delivery --------------------------------------------------------------------------------------

@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    claimed: int = 0

    def extend(self, other: DeliveryReport) -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.claimed += other.claimed


class TemporaryFailure(Exception):
    pass


class PermanentFailure(Exception):
    pass


def claim_due_messages(*, batch_size: int = DELIVERY_BATCH) -> list[Message]:
    """Atomically take up to batch_size due rows for this worker; a row is claimed by one worker only
    (the UPDATE re-checks the status, so two workers racing for a row cannot both get it)."""
    token = uuid.uuid4().hex
    now = timezone.now()
    due = Message.objects.filter(status=MessageStatus.SCHEDULED, send_at__lte=now)
    candidates = list(due.order_by("send_at").values_list("pk", flat=True)[:batch_size])
    if not candidates:
        return []
    due.filter(pk__in=candidates).update(status=MessageStatus.SENDING, claim_token=token, claimed_at=now,
                                         attempts=F("attempts") + 1, updated_at=now)
    messages = list(
        Message.objects.filter(claim_token=token, status=MessageStatus.SENDING)
        .select_related("application__job")
        .order_by("send_at", "pk")
    )
    # A batch usually belongs to a few companies: one read each, shared by their messages.
    companies = Company.objects.in_bulk({message.company_id for message in messages})
    for message in messages:
        message.company = companies[message.company_id]
    return messages


def deliver_while_due(*, batch_size: int = DELIVERY_BATCH, max_seconds: float = DELIVERY_TASK_SECONDS) -> DeliveryReport:
    """A worker's delivery task: batch after batch over one SMTP connection while mail is due. After
    max_seconds it hands the rest to a fresh task, so other kinds of work get their turn in the queue."""
    from tsunagu.messaging.tasks import request_delivery

    report = DeliveryReport()
    deadline = time.monotonic() + max_seconds
    connection = get_connection()
    try:
        while True:
            batch = deliver_due_messages(batch_size=batch_size, connection=connection)
            report.extend(batch)
            if batch.claimed < batch_size:
                return report
            if time.monotonic() >= deadline:
                request_delivery()
                return report
    finally:
        _close_quietly(connection)


def deliver_due_messages(*, batch_size: int = DELIVERY_BATCH, connection=None) -> DeliveryReport:
    """Send one batch of due mail over one reused connection and record each outcome. When the batch
    is full, more is probably due: another worker is asked to start on it meanwhile."""
    from tsunagu.messaging.tasks import request_delivery

    report = DeliveryReport()
    messages = claim_due_messages(batch_size=batch_size)
    report.claimed = len(messages)
    if not messages:
        return report
    if len(messages) == batch_size:
        request_delivery()
    own_connection = connection is None
    connection = connection or get_connection()
    templates: dict[tuple[int, str], MessageTemplate] = {}
    sent: list[Message] = []
    with_offers = candidates_hired_or_holding_offers(
        [m.application.candidate_id for m in messages if m.kind == MessageKind.REJECTION])
    try:
        for message in messages:
            if message.kind == MessageKind.REJECTION and message.application.status != "rejected":
                # Belt and braces: an undo that raced with the claim still stops the notice.
                _mark_cancelled(message, f"application {message.application.status}")
                continue
            if message.kind == MessageKind.REJECTION and message.application.candidate_id in with_offers:
                _mark_cancelled(message, "the candidate is hired or holds an offer in this company")
                continue
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
                sent.append(message)
                report.sent.append(message.pk)
                # Recorded in small groups: few writes, and a crash re-sends at most one group.
                if len(sent) >= MARK_SENT_EVERY:
                    _mark_sent(sent)
                    sent = []
    finally:
        _mark_sent(sent)
        if own_connection:
            _close_quietly(connection)
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
    message.subject, message.body_text = rendered.subject, rendered.text
    if not message.message_id:
        domain = company.from_email.rsplit("@", 1)[-1]
        message.message_id = make_msgid(idstring=f"tsunagu.{message.pk}", domain=domain)
    return NoticeEmail(
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        from_name=company.display_sender_name,
        from_email=company.from_email,
        to_name=message.to_name,
        to_email=message.to_email,
        reply_to=company.reply_to,
        message_id=message.message_id,
    )


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
        titles = [application.job.title]
        if message.context.get("combined_applications"):
            titles += [title for title in Application.objects.filter(
                pk__in=message.context["combined_applications"], status="rejected").order_by("pk")
                .values_list("job__title", flat=True) if title not in titles]
        context.update(
            job_title="、".join(titles),
            stage=application.stage_raw or application.get_stage_display(),
            rejected_date=f"{decided.year}年{decided.month}月{decided.day}日",
            referral_url=settings.BASE_URL + _landing_path(referral_token(message.pk)),
        )
    elif message.kind == MessageKind.VERIFICATION:
        context.update(
            verify_url=settings.BASE_URL + reverse("relay:verify", args=[message.context.get("verify_token", "")]),
            expires_days=VERIFICATION_DAYS,
        )
    return context


@lru_cache(maxsize=1)
def _landing_prefix() -> str:
    # reverse() is costly per message in bulk delivery; the link is this prefix plus the token.
    return reverse("relay:landing", args=["TOKEN"])[: -len("TOKEN")]


def _landing_path(token: str) -> str:
    return _landing_prefix() + token


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


def _mark_sent(messages: list[Message]) -> None:
    """Record a group of sent messages in one statement.

    Raw SQL on a measured hot path: Django's bulk_update builds a CASE expression per field and row, which
    cost more CPU than rendering and sending the mail. The statement is plain SQL for SQLite and PostgreSQL.
    """
    if not messages:
        return
    now = timezone.now()
    fields = {f.name: f.column for f in Message._meta.concrete_fields}
    sql = (
        f"UPDATE {connection.ops.quote_name(Message._meta.db_table)} SET "
        f"{fields['status']} = %s, {fields['sent_at']} = %s, {fields['template']} = %s, {fields['subject']} = %s, "
        f"{fields['body_text']} = %s, {fields['message_id']} = %s, {fields['last_error']} = '', "
        f"{fields['claim_token']} = '', {fields['updated_at']} = %s WHERE {fields['id']} = %s"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, [
            (MessageStatus.SENT, now, message.template_id, message.subject, message.body_text, message.message_id,
             now, message.pk)
            for message in messages
        ])


def _mark_cancelled(message: Message, reason: str) -> None:
    now = timezone.now()
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.CANCELLED, cancelled_at=now, cancel_reason=reason[:200], claim_token="", updated_at=now
    )


def _mark_retry(message: Message, error: str) -> None:
    now = timezone.now()
    backoff = timedelta(minutes=min(2 ** (message.attempts - 1), 60))
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.SCHEDULED, send_at=now + backoff, last_error=error[:2000], claim_token="",
        message_id=message.message_id, updated_at=now,
    )
    logger.warning("message %s: temporary failure, retry in %s: %s", message.pk, backoff, error)


def _mark_failed(message: Message, error: str) -> None:
    now = timezone.now()
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.FAILED, last_error=error[:2000], claim_token="", message_id=message.message_id,
        subject=message.subject, body_text=message.body_text, updated_at=now,
    )
    logger.error("message %s failed: %s", message.pk, error)
