"""Keeps each company's DailyCount rows current.

`refresh(company)` finds the company-local days whose figures may have changed since the last refresh (rows
of the source tables written after the watermark, each pointing at the days it is counted on), adds today
and yesterday (follow-ups fall due with time alone), records them as pending together with the new
watermark, then recounts the pending days a run of days at a time, each run replacing its rows in one
transaction. An interrupted or time-boxed refresh leaves the rest pending for the next one, so nothing is
lost; a day recounted twice gives the same rows, so nothing is counted twice. `rebuild(company)` recounts
the company's whole history (after a change of time zone, or to start).

The scheduler refreshes every company every few minutes (core/runtime.py); the pages refresh their company
with a small time budget before reading (`catch_up=False`), so what HR just did shows at once. That refresh
looks only at rows written since the watermark, and when there are none it writes nothing: a page view must
not recount the last minutes' rows and today again each time (with a busy company that cost more than the page
itself). Rows committed late and the days that change with time alone (follow-ups falling due today) are the
scheduler's: it looks back OVERLAP before the watermark and recounts today and yesterday on every run.
"""

from __future__ import annotations

import time as clock
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import F, Min, Sum
from django.utils import timezone

from tsunagu.analytics.daily import MONTHLY_DIMENSIONS, count_days, monthly
from tsunagu.analytics.models import DailyCount, RollupState
from tsunagu.analytics.periods import add_months
from tsunagu.companies.models import Company
from tsunagu.messaging.models import Message, MessageEvent
from tsunagu.relay.models import Click, LedgerEntry, Registration, RegistrationRequest
from tsunagu.talent.models import Application

# Rows committed a little after they were stamped (a long transaction) are still found: each refresh looks
# back this far before the watermark.
OVERLAP = timedelta(minutes=10)
RUN_DAYS = 31  # days recounted per transaction
SCHEDULER_BUDGET_SECONDS = 20.0
# What a page or an API call may spend bringing the counts up to date before it reads them.
READING_BUDGET_SECONDS = 1.5


def _local_days(zone: ZoneInfo, *moments) -> set[date]:
    return {timezone.localtime(moment, zone).date() for moment in moments if moment}


def written_since(company: Company, since) -> bool:
    """Whether any row counted on the dashboard was written at or after `since` (a few indexed look-ups)."""
    return any(rows.exists() for rows in (
        Application.objects.filter(company=company, updated_at__gte=since),
        Message.objects.filter(company=company, updated_at__gte=since),
        MessageEvent.objects.filter(company=company, recorded_at__gte=since),
        *(model.objects.filter(company=company, created_at__gte=since)
          for model in (Click, RegistrationRequest, Registration, LedgerEntry)),
    ))


def changed_days(company: Company, since) -> set[date]:
    """The local days on which rows written since `since` are counted."""
    zone = ZoneInfo(company.time_zone)
    days: set[date] = set()
    applications = Application.objects.filter(company=company, updated_at__gte=since)
    for applied_at, created_at, rejected_at in applications.values_list("applied_at", "created_at", "rejected_at"):
        days |= _local_days(zone, applied_at or created_at, rejected_at)
    messages = Message.objects.filter(company=company, updated_at__gte=since)
    for sent_at, send_at, updated_at in messages.values_list("sent_at", "send_at", "updated_at"):
        days |= _local_days(zone, sent_at, send_at, updated_at)
    events = MessageEvent.objects.filter(company=company, recorded_at__gte=since)
    for occurred_at, sent_at in events.values_list("occurred_at", "message__sent_at"):
        days |= _local_days(zone, occurred_at, sent_at)
    # The notice a click, a form or a registration came from is counted on its sending day.
    for model in (Click, RegistrationRequest):
        days |= _local_days(zone, *model.objects.filter(company=company, created_at__gte=since)
                            .values_list("message__sent_at", flat=True))
    for created_at, sent_at in (Registration.objects.filter(company=company, created_at__gte=since)
                                .values_list("created_at", "request__message__sent_at")):
        days |= _local_days(zone, created_at, sent_at)
    days |= _local_days(zone, *LedgerEntry.objects.filter(company=company, created_at__gte=since)
                        .values_list("created_at", flat=True))
    return days


def _first_day(company: Company) -> date | None:
    zone = ZoneInfo(company.time_zone)
    firsts = [
        *Application.objects.filter(company=company).aggregate(
            a=Min("applied_at"), c=Min("created_at"), r=Min("rejected_at")).values(),
        Message.objects.filter(company=company).aggregate(m=Min("created_at"))["m"],
    ]
    days = _local_days(zone, *firsts)
    return min(days) if days else None


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive days, none longer than RUN_DAYS."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and day == runs[-1][1] + timedelta(days=1) and (day - runs[-1][0]).days < RUN_DAYS:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


@transaction.atomic
def _mark_pending(company: Company, *, everything: bool = False, catch_up: bool = True) -> RollupState:
    state, _created = RollupState.objects.get_or_create(company=company)
    state = RollupState.objects.select_for_update().get(pk=state.pk)
    started = timezone.now()
    zone = ZoneInfo(company.time_zone)
    today = timezone.localtime(started, zone).date()
    pending = {date.fromisoformat(day) for day in state.pending_days}
    if everything or state.watermark is None or state.time_zone != company.time_zone:
        first = _first_day(company)
        if first:
            pending |= {first + timedelta(days=n) for n in range((today - first).days + 1)}
        DailyCount.objects.filter(company=company).exclude(day__in=pending).delete()
    elif catch_up:
        pending |= changed_days(company, state.watermark - OVERLAP)
    else:
        pending |= changed_days(company, state.watermark)
    if catch_up or everything:
        pending |= {today, today - timedelta(days=1)}
    state.pending_days = sorted(day.isoformat() for day in pending if day <= today + timedelta(days=1))
    state.watermark = started
    state.time_zone = company.time_zone
    state.save()
    return state


@transaction.atomic
def _recount(company: Company, first: date, last: date) -> None:
    # One recount per company at a time: the lock orders concurrent refreshes (scheduler and dashboard).
    state = RollupState.objects.select_for_update().get(company=company)
    counts = count_days(company, first, last)
    DailyCount.objects.filter(company=company, day__gte=first, day__lte=last).delete()
    DailyCount.objects.bulk_create(
        [DailyCount(company=company, day=day, metric=metric, dimension=dimension, value=value, count=n)
         for (day, metric, dimension, value), n in counts.items() if n],
        batch_size=2000)
    _sum_months(company, first, last)
    done = {(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)}
    state.pending_days = [day for day in state.pending_days if day not in done]
    if not state.pending_days:
        state.refreshed_at = timezone.now()
    state.save(update_fields=["pending_days", "refreshed_at"])


def _sum_months(company: Company, first: date, last: date) -> None:
    """Re-sum the monthly rows of the months that [first, last] touches from their daily rows (the recount
    has just deleted those whose first day falls in the range; the others are replaced here)."""
    month = first.replace(day=1)
    while month <= last:
        following = add_months(month, 1)
        DailyCount.objects.filter(company=company, day=month,
                                  dimension__in=[monthly(d) for d in MONTHLY_DIMENSIONS]).delete()
        sums = (DailyCount.objects.filter(company=company, dimension__in=MONTHLY_DIMENSIONS, day__gte=month,
                                          day__lt=following)
                .values_list("metric", "dimension", "value").annotate(n=Sum("count")).order_by())
        DailyCount.objects.bulk_create(
            [DailyCount(company=company, day=month, metric=metric, dimension=monthly(dimension), value=value, count=n)
             for metric, dimension, value, n in sums if n],
            batch_size=2000)
        month = following


def refresh(company: Company, *, budget_seconds: float | None = None, everything: bool = False,
            catch_up: bool = True) -> bool:
    """Bring the company's counts up to date; True when nothing is left pending. With catch_up=False (the
    pages' refresh) only rows written since the last refresh are looked at, and nothing is written when there
    are none."""
    deadline = None if budget_seconds is None else clock.monotonic() + budget_seconds
    if not catch_up and not everything:
        state = RollupState.objects.filter(company=company).first()
        if state and state.watermark and not state.pending_days and not written_since(company, state.watermark):
            return True
    state = _mark_pending(company, everything=everything, catch_up=catch_up)
    for first, last in _runs([date.fromisoformat(day) for day in state.pending_days]):
        if deadline is not None and clock.monotonic() > deadline:
            return False
        _recount(company, first, last)
    return True


def refresh_for_reading(company: Company) -> RollupState:
    """What the pages and the API do before they read: the rows written since the last refresh, within
    READING_BUDGET_SECONDS (the scheduler does the rest; `pending_days` says what is still being counted)."""
    refresh(company, budget_seconds=READING_BUDGET_SECONDS, catch_up=False)
    return RollupState.objects.get(company=company)


def rebuild(company: Company) -> None:
    refresh(company, everything=True)


def refresh_all(budget_seconds: float = SCHEDULER_BUDGET_SECONDS) -> None:
    """The scheduler's job: every company in turn, within the budget; the rest next time."""
    deadline = clock.monotonic() + budget_seconds
    companies = Company.objects.tenants().order_by(F("rollup_state__refreshed_at").asc(nulls_first=True), "pk")
    for company in companies:
        left = deadline - clock.monotonic()
        if left <= 0:
            return
        refresh(company, budget_seconds=left)
