"""Delivering the outbox: a worker claims due rows, sends them over one reused connection (SMTP or a
provider's API), and records each outcome: sent, retry later (temporary failure, with back-off), failed, or
held back (cancelled by a stop rule, suppressed). The scheduler's sweep returns rows whose worker died.

Our table, not the queue, is the truth: a lost task delays mail, never loses it, and a claimed row is sent
by one worker only.
"""

from __future__ import annotations

import logging
import smtplib
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.mail import get_connection
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from tsunagu.companies.models import Company
from tsunagu.lib import dkim_signing
from tsunagu.messaging import provider_backends
from tsunagu.messaging.actions import notices
from tsunagu.messaging.actions.campaigns import campaign_stop_reasons
from tsunagu.messaging.actions.followups import stop_reasons
from tsunagu.messaging.actions.suppression import suppressed_reason
from tsunagu.messaging.compose import RenderingUnavailable, build_email
from tsunagu.messaging.failures import PermanentFailure, TemporaryFailure
from tsunagu.messaging.mime import NoticeEmail
from tsunagu.messaging.models import Message, MessageKind, MessageStatus, MessageTemplate, Suppression
from tsunagu.messaging.selectors import candidates_hired_or_holding_offers, suppression_keys
from tsunagu.messaging.unsubscribe import is_advertising

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# A row left in "sending" this long (its worker died mid-send) is due again.
SENDING_LEASE = timedelta(minutes=5)
# A worker claims up to this many due messages at once and sends them over one connection.
DELIVERY_BATCH = 100
MARK_SENT_EVERY = 20
# One delivery task works this long at most, then queues its successor (see deliver_while_due).
DELIVERY_TASK_SECONDS = 30.0


def sweep_outbox() -> int:
    """The scheduler's tick: our table, not the queue, is the truth. Rows whose worker died mid-send are
    due again after the lease; if anything is due, a worker is asked to deliver it. Returns the due count."""
    now = timezone.now()
    Message.objects.filter(status=MessageStatus.SENDING, claimed_at__lt=now - SENDING_LEASE).update(
        status=MessageStatus.SCHEDULED, claim_token="",
        last_error=_("送信中に処理が中断されたため、再送信します。"),
    )
    due = Message.objects.filter(status=MessageStatus.SCHEDULED, send_at__lte=now).count()
    if due:
        notices.request_delivery()
    return due


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    suppressed: list[int] = field(default_factory=list)
    claimed: int = 0
    handed_back: int = 0  # claimed, then returned unsent because the batch ran long

    def extend(self, other: DeliveryReport) -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.suppressed += other.suppressed
        self.claimed += other.claimed
        self.handed_back += other.handed_back


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
                notices.request_delivery()
                return report
    finally:
        _close_quietly(connection)


def deliver_due_messages(*, batch_size: int = DELIVERY_BATCH, connection=None) -> DeliveryReport:
    """Send one batch of due mail over one reused connection and record each outcome. When the batch
    is full, more is probably due: another worker is asked to start on it meanwhile."""
    report = DeliveryReport()
    messages = claim_due_messages(batch_size=batch_size)
    report.claimed = len(messages)
    if not messages:
        return report
    if len(messages) == batch_size:
        notices.request_delivery()
    own_connection = connection is None
    connection = connection or get_connection()
    templates: dict[tuple[int, str], MessageTemplate] = {}
    sent: list[Message] = []
    with_offers = candidates_hired_or_holding_offers(
        [m.application.candidate_id for m in messages if m.kind == MessageKind.REJECTION])
    suppressions = _suppressions_for(messages)
    # Follow-ups and campaign mail can wait weeks for their slot: re-applied, hired, ... since they were planned.
    follow_up_stops = {**stop_reasons(messages), **campaign_stop_reasons(messages)}
    # A slow mail server (some tarpit at several seconds a message) must not keep this batch past its lease:
    # the sweep would hand the rest to another worker while this one still sends them, twice.
    hand_back_after = time.monotonic() + SENDING_LEASE.total_seconds() / 2
    try:
        for index, message in enumerate(messages):
            if time.monotonic() > hand_back_after:
                report.handed_back = _hand_back(messages[index:])
                break
            if message.kind == MessageKind.REJECTION and message.application.status != "rejected":
                # Belt and braces: an undo that raced with the claim still stops the notice.
                _mark_cancelled(message, f"application {message.application.status}")
                continue
            if message.kind == MessageKind.WELCOME_BACK and message.application.status != "active":
                # A thank-you for applying again reads wrong once the decision was made (a rejection says it all).
                _mark_cancelled(message, f"application {message.application.status}")
                continue
            if message.kind == MessageKind.REJECTION and message.application.candidate_id in with_offers:
                _mark_cancelled(message, "the candidate is hired or holds an offer in this company")
                continue
            if message.pk in follow_up_stops:
                # A follow-up can wait weeks for its slot: re-applied, hired, ... since it was planned.
                _mark_cancelled(message, follow_up_stops[message.pk])
                continue
            suppression = suppressions.get(message.pk)
            if suppression is not None:
                _mark_suppressed(message, suppression)
                report.suppressed.append(message.pk)
                continue
            try:
                try:
                    email = build_email(message, templates, track=True)
                except RenderingUnavailable as exc:  # the render processes, not the template: try again later
                    raise TemporaryFailure(str(exc)) from exc
                except (ValueError, TypeError) as exc:  # e.g. an address the MIME header cannot hold
                    raise PermanentFailure(f"{type(exc).__name__}: {exc}") from exc
                _send(connection, email, message)
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


def _hand_back(messages: list[Message]) -> int:
    """Return claimed, unsent messages to the due list at once (the attempt did not happen), if still ours."""
    now = timezone.now()
    handed = 0
    for token in {message.claim_token for message in messages}:
        handed += Message.objects.filter(pk__in=[m.pk for m in messages if m.claim_token == token],
                                         status=MessageStatus.SENDING, claim_token=token).update(
            status=MessageStatus.SCHEDULED, claim_token="", attempts=F("attempts") - 1, updated_at=now)
    logger.warning("%s messages handed back unsent: the mail server is slow", handed)
    return handed


def _suppressions_for(messages: list[Message]) -> dict[int, Suppression]:
    """Which of a batch's messages go to an address on their company's suppression list, by message id:
    one query for the whole batch. Transactional mail (the verification) is never held back."""
    # Each address under both keys: as itself, and as an erased person's keyed hash.
    keys = {m.pk: [(m.company_id, key) for key in suppression_keys(m.to_email)]
            for m in messages if is_advertising(m.kind)}
    if not keys:
        return {}
    found = {
        (s.company_id, s.email_key): s
        for s in Suppression.objects.filter(company_id__in={company for pairs in keys.values() for company, _k in pairs},
                                            email_key__in={key for pairs in keys.values() for _c, key in pairs})
    }
    return {pk: next(found[pair] for pair in pairs if pair in found)
            for pk, pairs in keys.items() if any(pair in found for pair in pairs)}


def _send(connection, email: NoticeEmail, message: Message | None = None) -> None:
    if message is not None:
        # A provider returns the metadata with every event about the mail (messaging/provider_events.py);
        # SMTP delivery signs with the company's DKIM key when it has one (messaging/backends.py).
        email.metadata = {provider_backends.METADATA_KEY: message.pk}
        email.dkim_signer = dkim_signing.signer_for(message.company)
    try:
        connection.open()
        connection.send_messages([email])
    except smtplib.SMTPRecipientsRefused as exc:
        code, reason = next(iter(exc.recipients.values()))
        _raise_for_code(code, reason)
    except smtplib.SMTPResponseException as exc:
        _close_quietly(connection)
        _raise_for_code(exc.smtp_code, exc.smtp_error)
    except provider_backends.AnymailError as exc:  # a provider's API (django-anymail); before OSError:
        permanent, text = provider_backends.failure(exc)  # its HTTP errors are OSErrors too
        if permanent:
            raise PermanentFailure(text) from exc
        _close_quietly(connection)
        raise TemporaryFailure(text) from exc
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
        f"{fields['status']} = %s, {fields['sent_at']} = %s, {fields['template']} = %s, {fields['variant']} = %s, "
        f"{fields['subject']} = %s, {fields['body_text']} = %s, {fields['message_id']} = %s, {fields['last_error']} = '', "
        f"{fields['claim_token']} = '', {fields['updated_at']} = %s WHERE {fields['id']} = %s"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, [
            (MessageStatus.SENT, now, message.template_id, message.variant, message.subject, message.body_text,
             message.message_id, now, message.pk)
            for message in messages
        ])


def _mark_cancelled(message: Message, reason: str) -> None:
    now = timezone.now()
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.CANCELLED, cancelled_at=now, cancel_reason=reason[:200], claim_token="", updated_at=now
    )


def _mark_suppressed(message: Message, suppression: Suppression) -> None:
    now = timezone.now()
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.SUPPRESSED, status_reason=suppressed_reason(suppression, message.company)[:300],
        claim_token="", updated_at=now,
    )
    logger.info("message %s not sent: its address is on the suppression list (%s)", message.pk, suppression.reason)


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
