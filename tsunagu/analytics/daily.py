"""What happened on each company-local day, counted from the source tables (read only).

`count_days(company, first, last)` returns {(day, metric, dimension, value): count} for every day in
[first, last]; the rollup stores it as DailyCount rows. Each thing is counted on the day it happened in the
company's time zone:

- applications (applied_at, else when Tsunagu learnt of it) and the stage each reached (`reached_<stage>`),
  by 応募経路, job category and job;
- rejections (status 不採用, by rejected_at), by the same dimensions, by reason and by the stage rejected at;
- rejection notices sent (sent_at), by the same dimensions and by template variant, with the outcome of each
  notice counted on its sending day (a cohort): clicked by a person, registered, opened (indicative only);
  the time from the ATS decision to the notice as a histogram of buckets, and whether it went out by the
  time the company promised (its delay, moved into its send window);
- follow-ups: sent, and those due that day (send_at passed) with how many were covered (sent, or stopped by
  a stop rule);
- failures (any mail to the company's people); bounces, complaints and unsubscribes of notices and
  follow-ups (the mail the rates are over);
- registrations, and the ledger: credits, reversals, slots earned / revoked / reserved / released / used.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from tsunagu.companies.models import Company
from tsunagu.messaging.models import (
    OPERATOR_KINDS,
    EventKind,
    Message,
    MessageEvent,
    MessageKind,
    MessageStatus,
)
from tsunagu.messaging.schedule import next_send_time
from tsunagu.messaging.tracking.rules import human_referral_clicks
from tsunagu.relay.models import Click, LedgerEntry, Registration, RegistrationRequest
from tsunagu.talent.models import Application, ApplicationStatus
from tsunagu.talent.stages import Stage

TOTAL = ""
CHANNEL, CATEGORY, JOB, REASON, STAGE, VARIANT, DELAY = "channel", "category", "job", "reason", "stage", "variant", "delay"
FUNNEL_DIMENSIONS = (CHANNEL, CATEGORY, JOB)
# The funnel's dimensions are also stored per month (the day column holds the month's first day, the dimension
# is prefixed): a year's table by job reads ~20 thousand monthly rows instead of ~700 thousand daily ones.
MONTHLY_DIMENSIONS = (CHANNEL, CATEGORY, JOB, REASON, STAGE)
MONTHLY_PREFIX = "month:"
# A notice counts as on time when sent within this of the promised moment (the send loop's own latency).
ON_TIME_GRACE = timedelta(minutes=15)
FAILURE_KINDS = [kind for kind in MessageKind.values if kind not in OPERATOR_KINDS]
LEDGER_METRICS = {"credit": "credits", "credit_reversed": "credits_reversed", "slot_earned": "slots_earned",
                  "slot_revoked": "slots_revoked", "slot_reserved": "slots_reserved",
                  "slot_released": "slots_released", "slot_redeemed": "slots_used"}
CHUNK = 5000


def monthly(dimension: str) -> str:
    return MONTHLY_PREFIX + dimension


def reached_metric(stage: int) -> str:
    return f"reached_{stage}"


def delay_bucket(minutes: float) -> int:
    """The histogram bucket (its lower bound in minutes) of a delay: per minute below an hour, per quarter
    hour below a day, per hour below a week, per day beyond."""
    minutes = max(0, int(minutes))
    if minutes < 60:
        return minutes
    if minutes < 24 * 60:
        return minutes - minutes % 15
    if minutes < 7 * 24 * 60:
        return minutes - minutes % 60
    return minutes - minutes % (24 * 60)


class DayCounter:
    def __init__(self, zone: ZoneInfo):
        self.zone = zone
        self.counts: Counter = Counter()

    def day(self, moment: datetime) -> date:
        return timezone.localtime(moment, self.zone).date()

    def add(self, day: date, metric: str, dimension: str = TOTAL, value="", n: int = 1) -> None:
        self.counts[(day, metric, dimension, str(value)[:200])] += n

    def add_by_dimensions(self, day: date, metric: str, dimensions: dict, n: int = 1) -> None:
        self.add(day, metric, n=n)
        for dimension, value in dimensions.items():
            self.add(day, metric, dimension, value, n)


def count_days(company: Company, first: date, last: date, *, now: datetime | None = None) -> Counter:
    zone = ZoneInfo(company.time_zone)
    start = datetime.combine(first, time.min, zone)
    end = datetime.combine(last + timedelta(days=1), time.min, zone)
    now = now or timezone.now()
    counter = DayCounter(zone)
    _applications(company, start, end, counter)
    _rejections(company, start, end, counter)
    _notices(company, start, end, counter)
    _follow_ups(company, start, end, now, counter)
    _failures(company, start, end, counter)
    _machine_clicks(company, start, end, counter)
    _registrations_and_ledger(company, start, end, counter)
    return counter.counts


def _funnel_dimensions(channel: str, job_id, category: str) -> dict:
    return {CHANNEL: channel, CATEGORY: category, JOB: job_id or ""}


def _applications(company, start, end, counter: DayCounter) -> None:
    in_range = Q(applied_at__gte=start, applied_at__lt=end) | Q(
        applied_at__isnull=True, created_at__gte=start, created_at__lt=end)
    rows = (Application.objects.filter(company=company).filter(in_range)
            .values_list("applied_at", "created_at", "channel", "job_id", "job__category", "stage_reached"))
    for applied_at, created_at, channel, job_id, category, reached in rows.iterator(chunk_size=CHUNK):
        day = counter.day(applied_at or created_at)
        dimensions = _funnel_dimensions(channel, job_id, category)
        counter.add_by_dimensions(day, "applications", dimensions)
        counter.add_by_dimensions(day, reached_metric(reached), dimensions)


def _rejections(company, start, end, counter: DayCounter) -> None:
    rows = (Application.objects.filter(company=company, status=ApplicationStatus.REJECTED,
                                       rejected_at__gte=start, rejected_at__lt=end)
            .values_list("rejected_at", "channel", "job_id", "job__category", "rejection_reason", "stage"))
    for rejected_at, channel, job_id, category, reason, stage in rows.iterator(chunk_size=CHUNK):
        day = counter.day(rejected_at)
        counter.add_by_dimensions(day, "rejections", _funnel_dimensions(channel, job_id, category))
        counter.add(day, "rejections", REASON, reason.strip())
        counter.add(day, "rejections", STAGE, stage)


def _clicked_by_a_person():
    tracked = MessageEvent.objects.filter(message=OuterRef("pk"), kind=EventKind.CLICKED, machine=False)
    relay = human_referral_clicks(Click.objects.filter(message=OuterRef("pk")), sent_at=OuterRef("sent_at"))
    # Whoever filled in the registration form opened the link, however automated the click looked.
    requested = RegistrationRequest.objects.filter(message=OuterRef("pk"))
    return Exists(tracked) | Exists(relay) | Exists(requested)


def _notices(company, start, end, counter: DayCounter) -> None:
    rows = (Message.objects.filter(company=company, kind=MessageKind.REJECTION, status=MessageStatus.SENT,
                                   sent_at__gte=start, sent_at__lt=end)
            .annotate(clicked=_clicked_by_a_person(),
                      registered=Exists(Registration.objects.filter(request__message=OuterRef("pk"))),
                      opened=Exists(MessageEvent.objects.filter(message=OuterRef("pk"), kind=EventKind.OPENED)))
            .values_list("sent_at", "application__rejected_at", "application__channel", "application__job_id",
                         "application__job__category", "template_id", "variant", "clicked", "registered", "opened"))
    for (sent_at, rejected_at, channel, job_id, category, template_id, variant, clicked, registered,
         opened) in rows.iterator(chunk_size=CHUNK):
        day = counter.day(sent_at)
        dimensions = _funnel_dimensions(channel or "", job_id, category or "")
        dimensions[VARIANT] = f"{template_id or ''}:{variant}"
        counter.add_by_dimensions(day, "notices_sent", dimensions)
        for metric, happened in (("notices_clicked", clicked), ("notices_registered", registered),
                                 ("notices_opened", opened)):
            if happened:
                counter.add_by_dimensions(day, metric, dimensions)
        if rejected_at:
            counter.add(day, "notice_delay", DELAY, delay_bucket((sent_at - rejected_at).total_seconds() / 60))
            counter.add(day, "notices_timed")
            promised = next_send_time(company, rejected_at + timedelta(minutes=company.delay_minutes))
            if sent_at <= promised + ON_TIME_GRACE:
                counter.add(day, "notices_on_time")


def _follow_ups(company, start, end, now, counter: DayCounter) -> None:
    sent = (Message.objects.filter(company=company, step__gt=0, status=MessageStatus.SENT,
                                   sent_at__gte=start, sent_at__lt=end).values_list("sent_at", flat=True))
    for sent_at in sent.iterator(chunk_size=CHUNK):
        counter.add(counter.day(sent_at), "followups_sent")
    due = (Message.objects.filter(company=company, step__gt=0, send_at__gte=start, send_at__lt=min(end, now))
           .values_list("send_at", "status"))
    covered = {MessageStatus.SENT, MessageStatus.CANCELLED, MessageStatus.SUPPRESSED}
    for send_at, status in due.iterator(chunk_size=CHUNK):
        day = counter.day(send_at)
        counter.add(day, "followups_due")
        if status in covered:
            counter.add(day, "followups_covered")


def _failures(company, start, end, counter: DayCounter) -> None:
    failed = (Message.objects.filter(company=company, status=MessageStatus.FAILED, kind__in=FAILURE_KINDS,
                                     updated_at__gte=start, updated_at__lt=end).values_list("updated_at", flat=True))
    for moment in failed.iterator(chunk_size=CHUNK):
        counter.add(counter.day(moment), "failed")
    kinds = {EventKind.BOUNCED: "bounced", EventKind.COMPLAINED: "complained", EventKind.UNSUBSCRIBED: "unsubscribed"}
    # Of notices and follow-ups only: the mail the rates are over (campaigns have their own page).
    events = (MessageEvent.objects.filter(company=company, kind__in=list(kinds), occurred_at__gte=start,
                                          occurred_at__lt=end)
              .filter(Q(message__kind=MessageKind.REJECTION) | Q(message__step__gt=0))
              .values_list("kind", "occurred_at", "message_id"))
    seen = set()
    for kind, occurred_at, message_id in events.iterator(chunk_size=CHUNK):
        day = counter.day(occurred_at)
        if (kind, day, message_id) not in seen:  # a message counts once per kind and day
            seen.add((kind, day, message_id))
            counter.add(day, kinds[kind])


def _machine_clicks(company, start, end, counter: DayCounter) -> None:
    """Clicks recorded but not counted as a person's (scanners, previews, right after sending)."""
    tracked = MessageEvent.objects.filter(company=company, kind=EventKind.CLICKED, machine=True,
                                          occurred_at__gte=start, occurred_at__lt=end)
    relay = Click.objects.filter(company=company, created_at__gte=start, created_at__lt=end)
    machine_relay = relay.exclude(pk__in=human_referral_clicks(relay).values("pk"))
    for moment in [*tracked.values_list("occurred_at", flat=True), *machine_relay.values_list("created_at", flat=True)]:
        counter.add(counter.day(moment), "machine_clicks")


def _registrations_and_ledger(company, start, end, counter: DayCounter) -> None:
    registrations = Registration.objects.filter(company=company, created_at__gte=start, created_at__lt=end)
    for created_at in registrations.values_list("created_at", flat=True).iterator(chunk_size=CHUNK):
        counter.add(counter.day(created_at), "registrations")
    entries = LedgerEntry.objects.filter(company=company, created_at__gte=start, created_at__lt=end)
    for kind, created_at in entries.values_list("kind", "created_at").iterator(chunk_size=CHUNK):
        if kind in LEDGER_METRICS:
            counter.add(counter.day(created_at), LEDGER_METRICS[kind])


STAGES = [stage for stage in Stage.values if stage]
