"""Re-contact campaigns, the writes: scheduling one, planning its mail in batches, stopping mail at send time,
cancelling. (The audience, samples and statistics are read in messaging/campaigns.py.)

Planning. The scheduler calls plan_due_campaigns() on every tick. A campaign whose send_at has come is planned
in batches of PLAN_BATCH people in candidate id order, up to PLAN_BATCHES_PER_RUN batches a run (a large
audience takes a few ticks; the rest of the scheduler's work is not held up). Each batch re-reads the audience
with its exclusions (messaging/campaigns.py), so someone who unsubscribed or was hired before their batch is
simply not planned. Each person gets one outbox row keyed `campaign:<campaign id>:<candidate id>`, unique per
company: however often, late or concurrently the planner runs, nobody gets a campaign twice. The row is about
the person's latest rejected application (Message.application: job_title, the referral link, the slot of the
template), and an invitation's job is its `new_job_title` (Message.context).

Timing. A person's mail goes out no sooner than the campaign's send_at, no sooner than
Company.frequency_cap_days after the latest mail the company sent or scheduled to them (any kind, as
follow-ups), always inside the send window (schedule.next_send_time), and at most `per_hour` mails of the
campaign fall in any one clock hour: within an hour they are spaced 3600 / per_hour seconds apart, and a full
hour passes the rest to the next hour of the window.

At send time (delivery calls campaign_stop_reasons for every batch it claims) a campaign mail is cancelled,
with the reason in the outbox, when the campaign was cancelled, or the person has since been hired, applied
again after the campaign was created, has an application in selection, was marked "do not contact", or their
data would be past the retention period. An unsubscribed address is held back by delivery's suppression check
like every advertising mail.

Done. A fully planned campaign without pending mail is marked done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, Max, OuterRef
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tsunagu.companies.models import Company
from tsunagu.messaging.actions.notices import request_delivery_on_commit
from tsunagu.messaging.campaigns import (
    MAX_AUDIENCE,
    Audience,
    audience_candidates,
    campaign_context,
    eligible_candidates,
    is_new_application,
    summarize,
)
from tsunagu.messaging.models import CAMPAIGN_KINDS, Campaign, CampaignStatus, Message, MessageStatus
from tsunagu.messaging.schedule import next_send_time
from tsunagu.talent.models import Application, ApplicationStatus, Candidate, Job
from tsunagu.talent.normalize import clean_text

PLAN_BATCH = 500
PLAN_BATCHES_PER_RUN = 20
DEFAULT_PER_HOUR = 200
MAX_PER_HOUR = 5000
MAX_NAME_LENGTH = 200
# How far ahead a campaign may be scheduled, and how far in the past "now" may be (a form left open a while).
MAX_AHEAD = timedelta(days=365)
PAST_GRACE = timedelta(minutes=10)
HOUR = timedelta(hours=1)

STOP_CANCELLED = "cancelled"
STOP_HIRED = "hired"
STOP_REAPPLIED = "reapplied"
STOP_IN_SELECTION = "in_selection"
STOP_NO_CONTACT = "no_contact"
STOP_RETENTION = "retention"


def campaign_key(campaign_id: int, candidate_id: int) -> str:
    return f"campaign:{campaign_id}:{candidate_id}"


def stop_text(rule: str) -> str:
    """What the outbox says about a campaign mail a stop rule held back (stored in the site's language)."""
    with translation.override(settings.LANGUAGE_CODE):
        return {
            STOP_CANCELLED: _("キャンペーン停止: キャンペーンが取り消されたため送りません。"),
            STOP_HIRED: _("キャンペーン停止: 採用済みのため送りません。"),
            STOP_REAPPLIED: _("キャンペーン停止: キャンペーンの作成後に再応募があったため送りません。"),
            STOP_IN_SELECTION: _("キャンペーン停止: 選考中の応募があるため送りません。"),
            STOP_NO_CONTACT: _("キャンペーン停止: 再連絡しない設定になったため送りません。"),
            STOP_RETENTION: _("キャンペーン停止: 個人情報の保存期間を過ぎるため送りません。"),
        }[rule]


# --- scheduling and cancelling ---------------------------------------------------------------------

def create_campaign(company: Company, *, name: str, kind: str, audience: Audience, job: Job | None = None,
                    send_at: datetime | None = None, per_hour=DEFAULT_PER_HOUR, created_by=None,
                    now: datetime | None = None) -> Campaign:
    """Schedule a campaign (send_at None: now). ValidationError (Japanese, by field) on a bad name, kind, time
    or throttle, an audience with nobody to mail or more than MAX_AUDIENCE; nothing is written then. Ticked
    ids are kept only for the company's own candidates."""
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    name = clean_text(name or "")
    if not name:
        errors["name"] = [_("キャンペーン名を入力してください。")]
    elif len(name) > MAX_NAME_LENGTH:
        errors["name"] = [_("キャンペーン名は%(limit)d文字以内で入力してください。") % {"limit": MAX_NAME_LENGTH}]
    if kind not in CAMPAIGN_KINDS:
        errors["kind"] = [_("テンプレートの種類は「新しい求人のご案内」か「フォローアップ」を選んでください。")]
    try:
        per_hour = int(per_hour)
    except (TypeError, ValueError):
        per_hour = 0
    if not 1 <= per_hour <= MAX_PER_HOUR:
        errors["per_hour"] = [_("1時間あたりの送信数は1〜%(max)s通で入力してください。") % {"max": f"{MAX_PER_HOUR:,}"}]
    send_at = send_at or now
    if send_at < now - PAST_GRACE:
        errors["send_at"] = [_("送信開始日時は現在より後にしてください。")]
    elif send_at > now + MAX_AHEAD:
        errors["send_at"] = [_("送信開始日時は1年以内にしてください。")]
    if job is not None and job.company_id != company.pk:
        raise Job.DoesNotExist
    if errors:
        raise ValidationError(errors)
    summary = summarize(company, audience, now)
    if not summary.eligible:
        raise ValidationError({"audience": [_("送信できる方がいません(対象外の理由は上の表をご覧ください)。")]})
    if summary.too_large:
        raise ValidationError({"audience": [
            _("対象者が%(count)s人います。1つのキャンペーンで送れるのは%(limit)s人までです。検索条件で絞り込んでください。")
            % {"count": f"{summary.eligible:,}", "limit": f"{MAX_AUDIENCE:,}"}]})
    ids: list[int] = []
    if not audience.is_search:
        ids = sorted(audience_candidates(company, audience).values_list("pk", flat=True))
    return Campaign.objects.create(
        company=company, name=name, kind=kind, job=job,
        audience_params=dict(audience.params) if audience.is_search else {}, candidate_ids=ids,
        audience_size=summary.eligible, excluded=summary.excluded, status=CampaignStatus.SCHEDULED,
        send_at=max(send_at, now), per_hour=per_hour, created_by=created_by)


@transaction.atomic
def cancel_campaign(company: Company, campaign_id: int, *, by: str = "") -> int:
    """Stop a campaign: nothing more is planned and its mail not yet sent is cancelled. Returns how many mails
    were cancelled. Campaign.DoesNotExist for another company's; ValidationError once it is done or cancelled."""
    campaign = Campaign.objects.select_for_update().get(company=company, pk=campaign_id)
    if not campaign.is_open:
        raise ValidationError(_("このキャンペーンは取り消せません(現在の状態: %(status)s)。")
                              % {"status": campaign.get_status_display()})
    now = timezone.now()
    reason = stop_text(STOP_CANCELLED)
    if by:
        reason = f"{reason}({by})"
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.CANCELLED, cancelled_at=now,
                                                   cancel_reason=reason[:200], updated_at=now)
    return Message.objects.filter(company=company, campaign=campaign, status=MessageStatus.SCHEDULED).update(
        status=MessageStatus.CANCELLED, cancelled_at=now, cancel_reason=reason[:200], updated_at=now)


# --- planning --------------------------------------------------------------------------------------

@dataclass
class PlanReport:
    planned: int = 0
    campaigns: list[int] = field(default_factory=list)
    finished: list[int] = field(default_factory=list)


def plan_due_campaigns(now: datetime | None = None, *, batches: int = PLAN_BATCHES_PER_RUN) -> PlanReport:
    """The scheduler's campaign tick (see the module's docstring). `now` lets tests move through time."""
    now = now or timezone.now()
    report = PlanReport()
    due = (Campaign.objects.filter(status__in=[CampaignStatus.SCHEDULED, CampaignStatus.SENDING],
                                   planned_at__isnull=True, send_at__lte=now)
           .select_related("company", "job").order_by("send_at", "pk"))
    for campaign in due:
        report.planned += plan_campaign(campaign, now, batches=batches)
        report.campaigns.append(campaign.pk)
    report.finished = finish_campaigns(now)
    return report


def plan_campaign(campaign: Campaign, now: datetime, *, batches: int = PLAN_BATCHES_PER_RUN) -> int:
    """Plan up to `batches` batches of the campaign's people; returns how many mails were written."""
    company = campaign.company
    Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SCHEDULED).update(
        status=CampaignStatus.SENDING, updated_at=now)
    audience = Audience.of(campaign)
    throttle = Throttle(campaign)
    written = 0
    for _batch in range(batches):
        cursor = campaign.planned_through
        people = list(eligible_candidates(company, audience, now).filter(pk__gt=cursor)
                      .values("pk", "name", "email", "latest_rejection_id")[:PLAN_BATCH])
        if people:
            written += _plan_batch(campaign, people, throttle, now)
            campaign.planned_through = people[-1]["pk"]
            # Another planner that got here first moved the cursor already: its rows and ours share keys.
            Campaign.objects.filter(pk=campaign.pk, planned_through__lt=campaign.planned_through).update(
                planned_through=campaign.planned_through, updated_at=now)
        if len(people) < PLAN_BATCH:
            Campaign.objects.filter(pk=campaign.pk, planned_at__isnull=True).update(planned_at=now, updated_at=now)
            break
    return written


def _plan_batch(campaign: Campaign, people: list[dict], throttle: Throttle, now: datetime) -> int:
    company = campaign.company
    candidate_ids = [person["pk"] for person in people]
    # The frequency cap: the latest mail of any kind to each person, this campaign's own left out.
    last_mail = dict(
        Message.objects.filter(company=company, application__candidate_id__in=candidate_ids,
                               status__in=[MessageStatus.SENT, MessageStatus.SENDING, MessageStatus.SCHEDULED])
        .exclude(campaign=campaign)
        .values("application__candidate_id").annotate(last=Max(Coalesce("sent_at", "send_at")))
        .values_list("application__candidate_id", "last"))
    cap = timedelta(days=company.frequency_cap_days)
    start = max(now, campaign.send_at)
    context = campaign_context(campaign.kind, campaign.job)
    rows = []
    for person in people:
        earliest = start
        last = last_mail.get(person["pk"])
        if cap and last is not None and last + cap > earliest:
            earliest = last + cap
        rows.append(Message(
            company=company, kind=campaign.kind, key=campaign_key(campaign.pk, person["pk"]), campaign=campaign,
            application_id=person["latest_rejection_id"], to_email=person["email"], to_name=person["name"],
            send_at=throttle.slot(earliest), context=context))
    # The unique (company, key) makes a concurrent or repeated run a no-op for people already planned.
    created = Message.objects.bulk_create(rows, ignore_conflicts=True)
    if any(row.send_at <= timezone.now() for row in rows):
        request_delivery_on_commit()
    return len(created)


class Throttle:
    """Send times for a campaign's mail: at most `per_hour` in any clock hour (counting what is already in the
    outbox for it), at least 3600 / per_hour seconds apart within the hour, inside the company's send window."""

    def __init__(self, campaign: Campaign):
        self.campaign = campaign
        self.company = campaign.company
        self.per_hour = max(1, campaign.per_hour)
        self.spacing = HOUR / self.per_hour
        # clock hour -> (mails in it, the latest of them)
        self.hours: dict[datetime, tuple[int, datetime | None]] = {}

    def _hour(self, hour: datetime) -> tuple[int, datetime | None]:
        if hour not in self.hours:
            found = Message.objects.filter(campaign=self.campaign, send_at__gte=hour, send_at__lt=hour + HOUR) \
                .aggregate(n=Count("pk"), last=Max("send_at"))
            self.hours[hour] = (found["n"], found["last"])
        return self.hours[hour]

    def slot(self, earliest: datetime) -> datetime:
        at = next_send_time(self.company, earliest)
        while True:
            hour = at.replace(minute=0, second=0, microsecond=0)
            used, last = self._hour(hour)
            candidate = at if last is None else max(at, last + self.spacing)
            if used < self.per_hour and candidate < hour + HOUR:
                inside = next_send_time(self.company, candidate)
                if inside == candidate:
                    self.hours[hour] = (used + 1, candidate)
                    return candidate
                at = inside  # the window closed within the hour: on to its next opening
                continue
            at = next_send_time(self.company, hour + HOUR)


def finish_campaigns(now: datetime) -> list[int]:
    """Campaigns fully planned with nothing left to send are done."""
    pending = Message.objects.filter(campaign=OuterRef("pk"),
                                     status__in=[MessageStatus.SCHEDULED, MessageStatus.SENDING])
    done = list(Campaign.objects.filter(status=CampaignStatus.SENDING, planned_at__isnull=False)
                .exclude(Exists(pending)).values_list("pk", flat=True))
    if done:
        Campaign.objects.filter(pk__in=done, status=CampaignStatus.SENDING).update(
            status=CampaignStatus.DONE, finished_at=now, updated_at=now)
    return done


# --- at send time ----------------------------------------------------------------------------------

def campaign_stop_reasons(messages: list[Message]) -> dict[int, str]:
    """For a delivery batch: the campaign mails a stop rule now holds back (see the module's docstring), by
    message id, with the outbox's text. A few queries for the whole batch."""
    ours = [m for m in messages if m.campaign_id is not None and m.application_id is not None]
    if not ours:
        return {}
    campaigns = Campaign.objects.in_bulk({m.campaign_id for m in ours})
    candidate_ids = {m.application.candidate_id for m in ours}
    applications: dict[int, list[dict]] = {}
    for row in Application.objects.filter(candidate_id__in=candidate_ids).values(
            "candidate_id", "status", "created_at", "applied_at"):
        applications.setdefault(row["candidate_id"], []).append(row)
    may_contact = dict(Candidate.objects.filter(pk__in=candidate_ids).values_list("pk", "contact_allowed"))
    now = timezone.now()
    reasons = {}
    for message in ours:
        campaign = campaigns.get(message.campaign_id)
        rule = _stop_rule(message, campaign, applications.get(message.application.candidate_id, []),
                          may_contact.get(message.application.candidate_id, False), now)
        if rule is not None:
            reasons[message.pk] = stop_text(rule)
    return reasons


def _stop_rule(message: Message, campaign: Campaign | None, applications: list[dict], may_contact: bool,
               now: datetime) -> str | None:
    if campaign is None or campaign.status == CampaignStatus.CANCELLED:
        return STOP_CANCELLED
    if any(row["status"] == ApplicationStatus.HIRED for row in applications):
        return STOP_HIRED
    if any(is_new_application(row, campaign.created_at) for row in applications):
        return STOP_REAPPLIED
    if any(row["status"] == ApplicationStatus.ACTIVE for row in applications):
        return STOP_IN_SELECTION
    if not may_contact:
        return STOP_NO_CONTACT
    rejected_at = message.application.rejected_at
    if rejected_at and rejected_at + timedelta(days=message.company.retention_days) <= now:
        return STOP_RETENTION
    return None
