"""Recording application events: the single write path shared by the API, webhooks and CSV."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from tsunagu.companies.models import Company
from tsunagu.intake.events import IncomingApplicationEvent
from tsunagu.messaging.actions import notices, reapplication_alerts
from tsunagu.talent import actions as talent
from tsunagu.talent.models import Application, ApplicationEvent, ApplicationStatus
from tsunagu.talent.stages import map_stage

ERASED_OUTCOME = "ignored: the candidate's data was erased"


@dataclass
class EventResult:
    application: Application
    created: bool
    duplicate: bool
    outcome: str


def record_application_event(company: Company, event: IncomingApplicationEvent) -> EventResult:
    """Apply one event; safe to repeat and to receive out of order."""
    for attempt in range(3):
        try:
            return _record(company, event)
        except IntegrityError:
            # Two first deliveries raced to create the same application or event row:
            # the loser retries and then sees the winner's row (as a duplicate or an update).
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@transaction.atomic
def _record(company: Company, event: IncomingApplicationEvent) -> EventResult:
    if event.event_id:
        seen = (
            ApplicationEvent.objects.filter(company=company, source=event.source, event_id=event.event_id)
            # The unique index on (company, source, event_id) is partial (event_id not ""): SQLite uses it only
            # when the query says so too, and otherwise reads every event of the company.
            .exclude(event_id="")
            .select_related("application")
            .first()
        )
        if seen is not None:
            return EventResult(seen.application, created=False, duplicate=True, outcome="duplicate")

    erased = (Application.objects.filter(company=company, external_id=event.external_id,
                                         candidate__erased_at__isnull=False).first())
    if erased is not None:  # the person's data was erased: what the ATS says of them now is not taken back in
        return EventResult(erased, created=False, duplicate=False, outcome=ERASED_OUTCOME)

    job = talent.upsert_job(company, event.job)
    candidate = talent.upsert_candidate(company, event.candidate)
    application, created = talent.lock_or_create_application(
        company, external_id=event.external_id, candidate=candidate, job=job, source=event.source
    )

    stale = is_stale(application, event)
    outcome = "stale: a newer event already set the status" if stale else ""
    if not stale:
        previous_status = application.status
        talent.apply_status(application, **status_changes(event, candidate, job))
        if created and event.notify:  # someone the company knew applies again: HR is told, once per application
            reapplication_alerts.on_new_application(company, application)
        outcome = plan_or_cancel_notice(application, previous_status, created, event)

    event_row(company, application, event, stale=stale, outcome=outcome).save(force_insert=True)
    return EventResult(application, created=created, duplicate=False, outcome=outcome)


def status_changes(event: IncomingApplicationEvent, candidate, job) -> dict:
    """The keyword arguments of talent.apply_status for an event."""
    return {
        "status": event.status,
        "stage": event.stage_code if event.stage_code is not None else map_stage(event.stage),
        "stage_raw": event.stage,
        "rejection_reason": event.rejection_reason,
        "occurred_at": event.occurred_at,
        "candidate": candidate,
        "job": job,
        "applied_at": event.applied_at,
        "channel": event.channel,
        "evaluation": event.evaluation,
        "tags": event.tags,
    }


def event_row(company: Company, application: Application, event: IncomingApplicationEvent, *, stale: bool,
               outcome: str) -> ApplicationEvent:
    return ApplicationEvent(
        company=company,
        application=application,
        source=event.source,
        event_id=event.event_id,
        status=event.status,
        stage_raw=event.stage,
        rejection_reason=event.rejection_reason,
        occurred_at=event.occurred_at,
        applied=not stale,
        outcome=outcome,
    )


def is_stale(application: Application | None, event: IncomingApplicationEvent) -> bool:
    return (application is not None and application.status_changed_at is not None
            and event.occurred_at < application.status_changed_at)


def plan_or_cancel_notice(application: Application, previous_status: str, created: bool,
                           event: IncomingApplicationEvent) -> str:
    if application.status == ApplicationStatus.REJECTED:
        if not event.notify:
            return "recorded without notice"
        if previous_status == ApplicationStatus.REJECTED and not created:
            return "already rejected"
        message = notices.plan_rejection_notice(application)
        return f"notice {message.status}" if message else "no notice"
    cancelled = notices.cancel_pending_notices(application, reason=f"application {application.status}")
    return f"cancelled {cancelled} notice(s)" if cancelled else ""
