"""Every change to templates and the outbox: planning, cancelling and delivering mail."""

from __future__ import annotations

import logging
import secrets
import smtplib
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
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
from tsunagu.messaging import rendering, template_sets, tracking
from tsunagu.messaging.defaults import DEFAULT_STEP_TEMPLATES, DEFAULT_TEMPLATES
from tsunagu.messaging.mime import NoticeEmail
from tsunagu.messaging.models import Message, MessageKind, MessageStatus, MessageTemplate, Suppression
from tsunagu.messaging.schedule import next_send_time
from tsunagu.messaging.suppression import suppression_for
from tsunagu.messaging.unsubscribe import (
    is_advertising,
    suppressed_reason,
    unsubscribe_mailto,
    unsubscribe_url,
)
from tsunagu.talent.models import Application
from tsunagu.talent.normalize import clean_text, email_key
from tsunagu.talent.stages import Stage

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
    """Give the company every default template it lacks (the kinds' defaults and the follow-up steps'
    wording) and, when it has no follow-up sequence yet, the default sequence. Idempotent."""
    from tsunagu.messaging.followups import install_default_follow_up_steps

    present = set(MessageTemplate.objects.filter(company=company, variant="", job_category="", stage=0,
                                                 rejection_reason="").values_list("kind", "step").distinct())
    wanted = [((kind, 0), template) for kind, template in DEFAULT_TEMPLATES.items()]
    wanted += list(DEFAULT_STEP_TEMPLATES.items())
    MessageTemplate.objects.bulk_create(
        [MessageTemplate(company=company, kind=kind, step=step, version=1, **template)
         for (kind, step), template in wanted if (kind, step) not in present],
        ignore_conflicts=True,
    )
    install_default_follow_up_steps(company)


def template_set(company: Company, kind: str) -> template_sets.TemplateSet:
    """The current templates of the company's kind (installing the defaults if the company predates them)."""
    found = template_sets.load_template_set(company.pk, kind)
    if not found.has_default and not found.latest.get(template_sets.Slot()):
        install_default_templates(company)
        found = template_sets.load_template_set(company.pk, kind)
    return found


def template_for(company: Company, kind: str, *, job_category: str = "", stage: int = 0, rejection_reason: str = "",
                 step: int = 0, variant: str | None = None, key=0) -> MessageTemplate:
    """The template a message with these facts gets: the most specific matching slot down the fallback chain
    (stage, then job category, then rejection reason; a follow-up step's own slots before the kind's; see
    template_sets), and in it the given variant, or one drawn by `key` (the message id)."""
    facts = template_sets.Slot(job_category or "", int(stage or 0), rejection_reason or "", int(step or 0))
    template = template_set(company, kind).pick(facts, key=key, variant=variant)
    if template is None:
        raise ValidationError(_("このテンプレートの既定の文面がありません。"))
    return template


def current_template(company: Company, kind: str) -> MessageTemplate:
    """The kind's default template (its first variant)."""
    return template_for(company, kind, variant="")


def _slot_fields(kind: str, slot: template_sets.Slot) -> dict:
    """Check a slot HR entered and return it as model fields."""
    if kind not in rendering.VARIABLES:
        raise ValidationError(_("不明なテンプレートの種類です。"))
    fields = {"job_category": clean_text(slot.job_category)[:100], "stage": int(slot.stage or 0),
              "rejection_reason": clean_text(slot.rejection_reason)[:300], "step": int(slot.step or 0)}
    if fields["stage"] not in Stage.values:
        raise ValidationError({"stage": _("不明な選考ステップです。")})
    if kind not in template_sets.SLOTTED_KINDS and template_sets.Slot(**fields) != template_sets.Slot():
        raise ValidationError(_("この種類のテンプレートは職種・選考ステップ・理由で分けられません。"))
    if fields["step"] and kind not in template_sets.STEP_KINDS:
        raise ValidationError({"step": _("フォローアップの回は、フォローアップと求人のご案内にだけ指定できます。")})
    return fields


def clean_slot(kind: str, slot: template_sets.Slot) -> template_sets.Slot:
    """The slot as it is stored (trimmed text), or ValidationError if the kind cannot have it."""
    return template_sets.Slot(**_slot_fields(kind, slot))


def clean_variant(variant: str) -> str:
    """A variant's stored name: "" for A (the first), otherwise B, C, ... (letters and digits)."""
    variant = (variant or "").strip().upper()
    if variant == "A":
        return ""
    if variant and not (variant.isascii() and variant.isalnum() and len(variant) <= 20):
        raise ValidationError(_("パターン名は英数字で入力してください。"))
    return variant


@transaction.atomic
def save_template(company: Company, kind: str, *, subject: str, body_text: str, user=None,
                  slot: template_sets.Slot | None = None, variant: str = "") -> MessageTemplate:
    """Add a new version to a slot's variant (the kind's default when no slot is given). A template with a
    syntax error, an unknown variable or an unsafe construct is refused whole, naming the line."""
    fields = _slot_fields(kind, slot or template_sets.Slot())
    variant = clean_variant(variant)
    subject = subject.strip()
    body_text = body_text.replace("\r\n", "\n")
    rendering.validate_template(kind, subject, body_text)
    latest = (MessageTemplate.objects.select_for_update()
              .filter(company=company, kind=kind, variant=variant, **fields).order_by("-version").first())
    if latest and not latest.retired and latest.subject == subject and latest.body_text == body_text:
        return latest
    return MessageTemplate.objects.create(
        company=company, kind=kind, variant=variant, version=(latest.version + 1 if latest else 1),
        subject=subject, body_text=body_text, created_by=user, **fields,
    )


@transaction.atomic
def add_variant(company: Company, kind: str, *, slot: template_sets.Slot | None = None,
                user=None) -> MessageTemplate:
    """Start an A/B test in a slot: a new variant (the next letter) with the wording the slot uses now."""
    slot = slot or template_sets.Slot()
    fields = _slot_fields(kind, slot)
    current = template_set(company, kind)
    variants = current.slots.get(template_sets.Slot(**fields), {})
    source = (next(iter(variants.values())) if variants
              else current.pick(template_sets.Slot(**fields), variant=""))
    # A name once used in the slot is not reused (its numbers would mix with the new wording's).
    taken = set(MessageTemplate.objects.filter(company=company, kind=kind, **fields).values_list("variant", flat=True))
    name = next((letter for letter in "BCDEFGHIJKLMNOPQRSTUVWXYZ" if letter not in taken), None)
    if name is None:
        raise ValidationError(_("これ以上パターンを増やせません。"))
    if not variants:
        # The slot had no wording of its own: A gets the wording it fell back to, so both are compared.
        save_template(company, kind, subject=source.subject, body_text=source.body_text, user=user, slot=slot)
    return save_template(company, kind, subject=source.subject, body_text=source.body_text, user=user, slot=slot,
                         variant=name)


@transaction.atomic
def retire_template(company: Company, kind: str, *, slot: template_sets.Slot | None = None,
                    variant: str | None = None, user=None) -> int:
    """Take a variant (or, with variant None, the whole slot) out of use: a retired version is added, the
    history stays. Messages fall back as if it had never existed. The kind's default cannot be retired whole,
    nor its last variant. Returns how many variants were retired."""
    slot = slot or template_sets.Slot()
    fields = _slot_fields(kind, slot)
    live = template_set(company, kind).slots.get(template_sets.Slot(**fields), {})
    names = list(live) if variant is None else [clean_variant(variant)]
    names = [name for name in names if name in live]
    if template_sets.Slot(**fields).is_default and len(names) >= len(live):
        raise ValidationError(_("既定の文面は削除できません(ほかのすべての組み合わせの行き先です)。"))
    for name in names:
        template = live[name]
        MessageTemplate.objects.create(
            company=company, kind=kind, variant=name, version=template.version + 1, subject=template.subject,
            body_text=template.body_text, retired=True, created_by=user, **fields,
        )
    return len(names)


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


def email_for_display(message: Message) -> NoticeEmail:
    """The mail as it was sent (its stored subject and text) or, before sending, as it would be sent
    now; for the console's message page. Nothing is saved."""
    draft = Message.objects.select_related("company", "application__job").get(pk=message.pk)
    email = build_email(draft)
    if message.body_text:
        email.subject, email.body = message.subject, message.body_text
        email.html = rendering.text_to_html(message.body_text, message.subject)
    return email


FAILURE_ALERT_SOURCE = "failure-alert"


def alert_failures() -> int:
    """For companies that asked for it, one mail to their admins listing messages that failed since the
    last alert. Each failure is alerted once: a MessageEvent marks it (unique per message)."""
    from django.core.mail import send_mail
    from django.db.models import Exists, OuterRef

    from tsunagu.companies.models import Membership, Role
    from tsunagu.messaging.models import EventKind, MessageEvent

    alerted = MessageEvent.objects.filter(message=OuterRef("pk"), source=FAILURE_ALERT_SOURCE)
    failed = list(Message.objects.filter(company__failure_alerts=True, status=MessageStatus.FAILED)
                  .filter(~Exists(alerted)).select_related("company").order_by("company_id", "pk")[:500])
    by_company: dict[int, list[Message]] = {}
    for message in failed:
        by_company.setdefault(message.company_id, []).append(message)
    for messages in by_company.values():
        company = messages[0].company
        admins = list(Membership.objects.filter(company=company, role=Role.ADMIN, user__is_active=True)
                      .exclude(user__email="").values_list("user__email", flat=True))
        if admins:
            lines = [f"- {m.get_kind_display()} → {m.to_email}: {m.last_error[:200]}\n  "
                     f"{settings.BASE_URL}{reverse('console:message', args=[m.pk])}" for m in messages]
            send_mail(
                subject=_("【Tsunagu】メールの送信に失敗しました(%(count)d件)") % {"count": len(messages)},
                message=_("%(company)sのメールのうち、次の%(count)d件が送信できませんでした。送信箱で内容を確認し、"
                          "必要なら再送信してください。") % {"company": company.name, "count": len(messages)}
                        + "\n\n" + "\n".join(lines) + "\n",
                from_email=company.from_email, recipient_list=admins,
            )
        now = timezone.now()
        MessageEvent.objects.bulk_create([
            MessageEvent(company=company, message=m, kind=EventKind.FAILED, occurred_at=now,
                         source=FAILURE_ALERT_SOURCE, source_event_id=f"message-{m.pk}",
                         detail=_("管理者に通知しました") if admins else _("通知先の管理者がいません"))
            for m in messages
        ], ignore_conflicts=True)
    return len(failed)


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
    from tsunagu.messaging import followups
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
    suppressions = _suppressions_for(messages)
    follow_up_stops = followups.stop_reasons(messages)
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
    keys = {m.pk: (m.company_id, email_key(m.to_email)) for m in messages if is_advertising(m.kind)}
    if not keys:
        return {}
    found = {
        (s.company_id, s.email_key): s
        for s in Suppression.objects.filter(company_id__in={company for company, _key in keys.values()},
                                            email_key__in={key for _company, key in keys.values()})
    }
    return {pk: found[key] for pk, key in keys.items() if key in found}


def _send(connection, email: NoticeEmail, message: Message | None = None) -> None:
    from tsunagu.lib import dkim_signing
    from tsunagu.messaging import provider_backends

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


def build_email(message: Message, template_cache: dict | None = None, *, track: bool = False) -> NoticeEmail:
    """Render the message (filling its stored content) and build the MIME mail."""
    company = message.company
    cache = template_cache if template_cache is not None else {}
    template = _template_for_message(message, cache)
    context = message_context(message, cache)
    advertising = is_advertising(message.kind)
    footer, mailto = _footer_and_mailto(company, cache) if advertising else (None, "")
    try:
        rendered = rendering.render(template.subject, template.body_text, context, footer=footer)
    except rendering.RenderError as exc:
        raise PermanentFailure(_("テンプレートを表示できません: %(reason)s") % {"reason": exc}) from exc
    message.template, message.variant = template, template.variant
    message.subject, message.body_text = rendered.subject, rendered.text
    if not message.message_id:
        domain = company.from_email.rsplit("@", 1)[-1]
        # Unique by the row id plus 48 random bits; shorter than make_msgid's (whose time, process id and
        # 64-bit number made the header longer than a 78-character line with a long row id or domain).
        message.message_id = f"<{secrets.token_hex(6)}.tsunagu.{message.pk}@{domain}>"
    return NoticeEmail(
        subject=rendered.subject,
        text=rendered.text,
        # Links are rewritten only for mail really sent: a click in the console's preview is not a candidate's.
        html=tracking.tracked_html(rendered.html, message_id=message.pk, company_id=company.pk, sent_at=timezone.now())
        if track and message.kind != MessageKind.VERIFICATION else rendered.html,
        from_name=company.display_sender_name,
        from_email=company.from_email,
        to_name=message.to_name,
        to_email=message.to_email,
        reply_to=company.reply_to,
        message_id=message.message_id,
        list_unsubscribe=[context["unsubscribe_url"], mailto] if advertising else None,
    )


def _template_for_message(message: Message, cache: dict) -> MessageTemplate:
    """The message's template down the fallback chain, with its variant drawn from the message id. The
    company's template set is read once per delivery batch and kind; the choice per slot is remembered."""
    company = message.company
    set_key = ("templates", company.pk, message.kind)
    if set_key not in cache:
        cache[set_key] = template_set(company, message.kind)
    facts = template_sets.Slot.for_message(message)
    template = cache[set_key].pick(facts, key=message.pk)
    if template is None:
        raise PermanentFailure(_("このテンプレートの既定の文面がありません。"))
    return template


def _footer_and_mailto(company: Company, cache: dict) -> tuple[rendering.Footer, str]:
    """The company's footer and List-Unsubscribe mailto, made once per delivery batch."""
    key = ("footer", company.pk)
    if key not in cache:
        cache[key] = (
            rendering.make_footer(company_name=company.name, postal_address=company.postal_address,
                                  contact=company.reply_to or company.from_email),
            unsubscribe_mailto(company),
        )
    return cache[key]


def message_context(message: Message, cache: dict | None = None) -> dict:
    """The variables of the message's kind (rendering.VARIABLES), from its application and company."""
    company = message.company
    relay = settings.TSUNAGU_RELAY
    variables = rendering.VARIABLES[message.kind]
    context = {
        "candidate_name": message.to_name,
        "company_name": company.name,
        "signature": company.display_signature,
        "service_name": relay["service_name"],
        "operator_name": relay["operator_name"],
    }
    if is_advertising(message.kind):
        context["unsubscribe_url"] = unsubscribe_url(message.pk)
    if message.kind != MessageKind.VERIFICATION and message.application_id is not None:
        from tsunagu.lib.tokens import referral_token

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
        if "open_positions" in variables:
            context["open_positions"] = open_positions(company, cache)
    elif message.kind == MessageKind.VERIFICATION:
        context.update(
            verify_url=settings.BASE_URL + reverse("relay:verify", args=[message.context.get("verify_token", "")]),
            expires_days=VERIFICATION_DAYS,
        )
    return context


def open_positions(company: Company, cache: dict | None = None) -> rendering.OpenPositions:
    """The company's open jobs for `open_positions`: Job has no open/closed flag, so a job counts as open
    when it received an application in the last rendering.OPEN_POSITION_DAYS days; newest first, at most
    rendering.OPEN_POSITION_LIMIT. Read once per delivery batch and company."""
    from django.db.models import Max

    from tsunagu.talent.models import Job

    key = ("open_positions", company.pk)
    if cache is not None and key in cache:
        return cache[key]
    since = timezone.now() - timedelta(days=rendering.OPEN_POSITION_DAYS)
    titles = []
    for title in (Job.objects.filter(company=company, applications__created_at__gte=since)
                  .annotate(latest=Max("applications__created_at")).order_by("-latest", "title")
                  .values_list("title", flat=True)):
        if title not in titles:
            titles.append(title)
        if len(titles) >= rendering.OPEN_POSITION_LIMIT:
            break
    positions = rendering.OpenPositions(titles)
    if cache is not None:
        cache[key] = positions
    return positions


@lru_cache(maxsize=1)
def _landing_prefix() -> str:
    # reverse() is costly per message in bulk delivery; the link is this prefix plus the token.
    return reverse("relay:landing", args=["TOKEN"])[: -len("TOKEN")]


def _landing_path(token: str) -> str:
    return _landing_prefix() + token


def preview(company: Company, kind: str, *, subject: str, body_text: str,
            application: Application | None = None, step: int = 0) -> rendering.Rendered:
    """Render a draft with one of the company's real candidates (or sample data when it has none), with the
    footer every advertising mail ends with."""
    rendering.validate_template(kind, subject, body_text)
    if kind != MessageKind.VERIFICATION and application is not None:
        draft = Message(company=company, kind=kind, application=application, to_name=application.candidate.name,
                        to_email=application.candidate.email, pk=0, step=step, created_at=timezone.now())
        context = message_context(draft)
    else:
        context = rendering.sample_context(kind)
        context.update(company_name=company.name, signature=company.display_signature)
    footer = _footer_and_mailto(company, {})[0] if is_advertising(kind) else None
    return rendering.render(subject, body_text, context, footer=footer)


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
