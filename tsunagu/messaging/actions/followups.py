"""The follow-up sequence: mail months after a rejection, planned from our own tables.

Each company has steps (FollowUpStep): "`delay_days` after the rejection, send the step's wording to those
who meet its conditions". By default step 1 at about 6 months ("その後いかがお過ごしでしょうか") and step 2
at 12 months (the open positions); HR edits delays, conditions and wording in the console.

The scheduler calls plan_due_follow_ups() about once a minute. For every active step it reads the rejected
applications whose `rejected_at + delay_days` has passed, within the last CATCH_UP_DAYS, that meet the step's
conditions and have no row for the step yet, and writes one outbox row each, keyed
`follow_up:<application id>:<step>` (unique per company, so however often or late the planner runs, and
even if two run at once, a step is planned at most once per application). Because the due rows are found
from the applications' own dates, a follow-up that fell due while nothing ran (an outage, a lost queue) is
planned when the planner next runs, once; after CATCH_UP_DAYS the moment has passed and it is not sent late
(this also keeps a newly added step from mailing the whole history at once).

Conditions (the step's, any left empty means "no condition"): the stage reached is at least `min_stage`,
the application has one of `tags`, its rejection reason is one of `rejection_reasons` (compared like
template slots: NFKC, trimmed, case-folded).

Stop rules (the row is written as cancelled, or suppressed, with the reason HR sees in the outbox):
- the candidate applied to the company again after this rejection, or has an application in selection;
- the candidate was hired by the company;
- the address is on the company's suppression list (unsubscribed, bounced, complained, or stopped by HR);
- the application's data would be past the company's retention period when the mail goes out;
- the candidate already gets this step for another application (one per person and step).
The same rules are checked again when the mail is sent (stop_reasons), since a capped mail can wait weeks.

Timing: the mail goes out when due, but no sooner than `Company.frequency_cap_days` after the latest mail
the company sent or scheduled to the candidate (any kind), and always inside the company's send window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tsunagu.companies.models import Company
from tsunagu.messaging.actions.notices import request_delivery_on_commit
from tsunagu.messaging.actions.suppression import suppressed_reason
from tsunagu.messaging.defaults import DEFAULT_FOLLOW_UP_STEPS
from tsunagu.messaging.models import FollowUpStep, Message, MessageKind, MessageStatus, Suppression
from tsunagu.messaging.schedule import next_send_time
from tsunagu.messaging.template_sets import STEP_KINDS, fold
from tsunagu.talent.models import Application, ApplicationStatus
from tsunagu.talent.normalize import clean_tags, clean_text, email_key
from tsunagu.talent.stages import Stage

# A step that fell due longer ago than this (the planner did not run, or the step was just added) is not
# sent late.
CATCH_UP_DAYS = 60
# Applications read and written per round trip.
BATCH = 500
MAX_DELAY_DAYS = 365 * 5

STOP_REAPPLIED = "reapplied"
STOP_IN_SELECTION = "in_selection"
STOP_HIRED = "hired"
STOP_RETENTION = "retention"
STOP_DUPLICATE = "duplicate"
STOP_NOT_REJECTED = "not_rejected"


def stop_text(rule: str) -> str:
    """What the outbox says about a follow-up a stop rule held back (stored in the site's language)."""
    with translation.override(settings.LANGUAGE_CODE):
        return {
            STOP_REAPPLIED: _("フォローアップ停止: 不採用の後に再応募があったため送りません。"),
            STOP_IN_SELECTION: _("フォローアップ停止: 選考中の応募があるため送りません。"),
            STOP_HIRED: _("フォローアップ停止: 採用済みのため送りません。"),
            STOP_RETENTION: _("フォローアップ停止: 個人情報の保存期間を過ぎるため送りません。"),
            STOP_DUPLICATE: _("フォローアップ停止: 同じ方には同じ回を1通だけ送ります(別の応募の分を送ります)。"),
            STOP_NOT_REJECTED: _("フォローアップ停止: 応募が不採用ではなくなったため送りません。"),
        }[rule]


def follow_up_key(application_id: int, step: int) -> str:
    return f"follow_up:{application_id}:{step}"


# --- the sequence (console edits) ------------------------------------------------------------------

def install_default_follow_up_steps(company: Company) -> None:
    """A company without a sequence gets the default one (6 and 12 months). One that has steps, or has
    deleted them all after having some, is left alone."""
    if FollowUpStep.objects.filter(company=company).exists():
        return
    if Message.objects.filter(company=company, step__gt=0).exists():
        return  # it had a sequence and emptied it on purpose
    FollowUpStep.objects.bulk_create(
        [FollowUpStep(company=company, **step) for step in DEFAULT_FOLLOW_UP_STEPS], ignore_conflicts=True)


def _clean_step_fields(*, kind: str, delay_days, min_stage, tags, rejection_reasons, active) -> dict:
    errors = {}
    if kind not in STEP_KINDS:
        errors["kind"] = _("フォローアップか求人のご案内を選んでください。")
    try:
        delay_days = int(delay_days)
    except (TypeError, ValueError):
        delay_days = -1
    if not 1 <= delay_days <= MAX_DELAY_DAYS:
        errors["delay_days"] = _("不採用からの日数は1〜%(max)d日で入力してください。") % {"max": MAX_DELAY_DAYS}
    try:
        min_stage = int(min_stage or 0)
    except (TypeError, ValueError):
        min_stage = -1
    if min_stage not in Stage.values:
        errors["min_stage"] = _("不明な選考ステップです。")
    if errors:
        raise ValidationError(errors)
    reasons = []
    for reason in rejection_reasons or []:
        reason = clean_text(reason)[:300]
        if reason and fold(reason) not in {fold(r) for r in reasons}:
            reasons.append(reason)
    return {"kind": kind, "delay_days": delay_days, "min_stage": min_stage, "tags": clean_tags(tags or []),
            "rejection_reasons": reasons, "active": bool(active)}


@transaction.atomic
def add_follow_up_step(company: Company, *, kind: str = MessageKind.FOLLOW_UP, delay_days, min_stage=0,
                       tags=(), rejection_reasons=(), active: bool = True) -> FollowUpStep:
    """A new step at the end of the sequence. Its number is never one a deleted step used (the outbox keys
    follow-ups by number), and until it has wording of its own it uses the kind's default."""
    fields = _clean_step_fields(kind=kind, delay_days=delay_days, min_stage=min_stage, tags=list(tags),
                                rejection_reasons=list(rejection_reasons), active=active)
    Company.objects.select_for_update().filter(pk=company.pk).first()  # one number per company at a time
    used = max(FollowUpStep.objects.filter(company=company).aggregate(n=Max("step"))["n"] or 0,
               Message.objects.filter(company=company).aggregate(n=Max("step"))["n"] or 0)
    return FollowUpStep.objects.create(company=company, step=used + 1, **fields)


def update_follow_up_step(company: Company, step_id: int, *, kind: str, delay_days, min_stage=0, tags=(),
                          rejection_reasons=(), active: bool = True) -> FollowUpStep:
    step = FollowUpStep.objects.get(company=company, pk=step_id)
    for name, value in _clean_step_fields(kind=kind, delay_days=delay_days, min_stage=min_stage, tags=list(tags),
                                          rejection_reasons=list(rejection_reasons), active=active).items():
        setattr(step, name, value)
    step.save()
    return step


def delete_follow_up_step(company: Company, step_id: int) -> None:
    """Remove a step; follow-ups it planned that have not gone out are cancelled."""
    step = FollowUpStep.objects.get(company=company, pk=step_id)
    now = timezone.now()
    with translation.override(settings.LANGUAGE_CODE):
        reason = _("フォローアップの回が削除されたため送りません。")
    Message.objects.filter(company=company, step=step.step, status=MessageStatus.SCHEDULED).update(
        status=MessageStatus.CANCELLED, cancelled_at=now, cancel_reason=reason[:200], updated_at=now)
    step.delete()


# --- planning --------------------------------------------------------------------------------------

@dataclass
class FollowUpReport:
    planned: int = 0
    suppressed: int = 0
    stopped: dict[str, int] = field(default_factory=dict)
    due_now: bool = False


def plan_due_follow_ups(now: datetime | None = None, *, company: Company | None = None) -> FollowUpReport:
    """The scheduler's follow-up tick (see the module's docstring). `now` lets tests move through a year."""
    now = now or timezone.now()
    report = FollowUpReport()
    steps = FollowUpStep.objects.filter(active=True).select_related("company").order_by("company_id", "step")
    if company is not None:
        steps = steps.filter(company=company)
    for step in steps:
        _plan_step(step, now, report)
    if report.due_now:
        request_delivery_on_commit()
    return report


def _plan_step(step: FollowUpStep, now: datetime, report: FollowUpReport) -> None:
    company = step.company
    due_before = now - timedelta(days=step.delay_days)
    due = (
        Application.objects.filter(company=company, status=ApplicationStatus.REJECTED,
                                   rejected_at__lte=due_before,
                                   rejected_at__gt=due_before - timedelta(days=CATCH_UP_DAYS))
        .exclude(Exists(Message.objects.filter(application=OuterRef("pk"), step=step.step)))
        .select_related("candidate", "job")
        .order_by("pk")
    )
    if step.min_stage:
        due = due.filter(stage_reached__gte=step.min_stage)
    after = 0
    while True:
        batch = list(due.filter(pk__gt=after)[:BATCH])
        if not batch:
            return
        after = batch[-1].pk
        _plan_batch(step, [app for app in batch if _meets_conditions(step, app)], now, report)
        if len(batch) < BATCH:
            return


def _meets_conditions(step: FollowUpStep, application: Application) -> bool:
    if not application.candidate.email:
        return False
    if step.tags and not set(step.tags) & set(application.tags or []):
        return False
    if step.rejection_reasons and fold(application.rejection_reason) not in {fold(r) for r in step.rejection_reasons}:
        return False
    return True


@dataclass
class _People:
    """What the stop rules and the frequency cap need about a batch's candidates, read in a few queries."""

    others: dict[int, list[dict]]
    suppressions: dict[str, Suppression]
    last_mail: dict[int, datetime]
    has_step: set[int]


def _people(company: Company, applications: list[Application], *, step: int | None) -> _People:
    """With step None (at send time) only what the stop rules need: the candidates' other applications."""
    candidate_ids = {app.candidate_id for app in applications}
    others: dict[int, list[dict]] = {}
    for row in Application.objects.filter(company=company, candidate_id__in=candidate_ids).values(
            "pk", "candidate_id", "status", "applied_at", "created_at", "rejected_at"):
        others.setdefault(row["candidate_id"], []).append(row)
    if step is None:
        return _People(others, {}, {}, set())
    keys = {email_key(app.candidate.email) for app in applications}
    suppressions = {s.email_key: s for s in Suppression.objects.filter(company=company, email_key__in=keys)}
    last_mail = dict(
        Message.objects.filter(company=company, application__candidate_id__in=candidate_ids,
                               status__in=[MessageStatus.SENT, MessageStatus.SENDING, MessageStatus.SCHEDULED])
        .values("application__candidate_id").annotate(last=Max(Coalesce("sent_at", "send_at")))
        .values_list("application__candidate_id", "last")
    )
    has_step = set(Message.objects.filter(company=company, step=step, application__candidate_id__in=candidate_ids)
                   .exclude(status=MessageStatus.CANCELLED).values_list("application__candidate_id", flat=True))
    return _People(others, suppressions, last_mail, has_step)


def _stop_rule(application: Application, people: _People, send_at: datetime) -> str | None:
    """The first stop rule that holds for the application (suppression is separate: it is held back, not
    cancelled, so HR can still send it once the address is lifted)."""
    reapplied = in_selection = False
    for other in people.others.get(application.candidate_id, []):
        if other["status"] == ApplicationStatus.HIRED:
            return STOP_HIRED
        if other["pk"] == application.pk:
            continue
        if other["status"] == ApplicationStatus.ACTIVE:
            in_selection = True
        # When the source gave no application date, it was no later than we first heard of it or its rejection
        # (an imported history of two old rejections is not a re-application).
        applied = other["applied_at"] or min(filter(None, (other["created_at"], other["rejected_at"])))
        if application.rejected_at and applied > application.rejected_at:
            reapplied = True
    if reapplied:
        return STOP_REAPPLIED
    if in_selection:
        return STOP_IN_SELECTION
    if application.rejected_at and application.rejected_at + timedelta(days=application.company.retention_days) <= send_at:
        return STOP_RETENTION
    return None


def _plan_batch(step: FollowUpStep, applications: list[Application], now: datetime, report: FollowUpReport) -> None:
    if not applications:
        return
    company = step.company
    people = _people(company, applications, step=step.step)
    cap = timedelta(days=company.frequency_cap_days)
    rows = []
    # One per person and step: the first application to fall due; within a batch, the most recent rejection.
    applications.sort(key=lambda app: (app.candidate_id, -app.rejected_at.timestamp()))
    for application in applications:
        application.company = company
        candidate = application.candidate
        earliest = max(now, application.rejected_at + timedelta(days=step.delay_days))
        last = people.last_mail.get(candidate.pk)
        if cap and last is not None and last + cap > earliest:
            earliest = last + cap
        send_at = next_send_time(company, earliest)
        row = Message(company=company, kind=step.kind, key=follow_up_key(application.pk, step.step),
                      application=application, to_email=candidate.email, to_name=candidate.name, step=step.step,
                      send_at=send_at)
        rule = STOP_DUPLICATE if candidate.pk in people.has_step else _stop_rule(application, people, send_at)
        suppression = people.suppressions.get(email_key(candidate.email))
        if rule is not None:
            row.status, row.cancelled_at, row.cancel_reason = MessageStatus.CANCELLED, now, stop_text(rule)[:200]
            report.stopped[rule] = report.stopped.get(rule, 0) + 1
        elif suppression is not None:
            row.status, row.status_reason = MessageStatus.SUPPRESSED, suppressed_reason(suppression, company)[:300]
            report.suppressed += 1
        else:
            people.last_mail[candidate.pk] = send_at
            people.has_step.add(candidate.pk)
            report.planned += 1
            report.due_now = report.due_now or send_at <= timezone.now()
        rows.append(row)
    # The unique (company, key) makes a concurrent or repeated run a no-op for rows already written.
    Message.objects.bulk_create(rows, ignore_conflicts=True)


# --- at send time ----------------------------------------------------------------------------------

def stop_reasons(messages: list[Message]) -> dict[int, str]:
    """For a delivery batch: the follow-ups a stop rule now holds back (re-applied, hired, in selection,
    past retention, no longer rejected since they were planned), by message id, with the outbox's text."""
    follow_ups = [m for m in messages if m.step and m.kind in STEP_KINDS and m.application_id is not None]
    reasons: dict[int, str] = {}
    by_company: dict[int, list[Message]] = {}
    for message in follow_ups:
        by_company.setdefault(message.company_id, []).append(message)
    for company_messages in by_company.values():
        company = company_messages[0].company
        applications = []
        for message in company_messages:
            message.application.company = company
            applications.append(message.application)
        people = _people(company, applications, step=None)
        for message in company_messages:
            if message.application.status != ApplicationStatus.REJECTED:
                reasons[message.pk] = stop_text(STOP_NOT_REJECTED)
                continue
            rule = _stop_rule(message.application, people, timezone.now())
            if rule is not None:
                reasons[message.pk] = stop_text(rule)
    return reasons
