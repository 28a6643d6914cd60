"""Recording application events: the single write path shared by the API, webhooks and CSV."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from tsunagu.companies.models import Company
from tsunagu.intake.events import IncomingApplicationEvent
from tsunagu.messaging import actions as messaging
from tsunagu.talent import actions as talent
from tsunagu.talent.models import Application, ApplicationEvent, ApplicationStatus
from tsunagu.talent.stages import map_stage


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
            .select_related("application")
            .first()
        )
        if seen is not None:
            return EventResult(seen.application, created=False, duplicate=True, outcome="duplicate")

    job = talent.upsert_job(company, event.job)
    candidate = talent.upsert_candidate(company, event.candidate)
    application, created = talent.lock_or_create_application(
        company, external_id=event.external_id, candidate=candidate, job=job, source=event.source
    )

    stale = application.status_changed_at is not None and event.occurred_at < application.status_changed_at
    outcome = "stale: a newer event already set the status" if stale else ""
    if not stale:
        previous_status = application.status
        talent.apply_status(
            application,
            status=event.status,
            stage=map_stage(event.stage),
            stage_raw=event.stage,
            rejection_reason=event.rejection_reason,
            occurred_at=event.occurred_at,
            candidate=candidate,
            job=job,
        )
        outcome = _plan_or_cancel_notice(application, previous_status, created, event)

    ApplicationEvent.objects.create(
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
    return EventResult(application, created=created, duplicate=False, outcome=outcome)


def _plan_or_cancel_notice(application: Application, previous_status: str, created: bool,
                           event: IncomingApplicationEvent) -> str:
    if application.status == ApplicationStatus.REJECTED:
        if not event.notify:
            return "recorded without notice"
        if previous_status == ApplicationStatus.REJECTED and not created:
            return "already rejected"
        message = messaging.plan_rejection_notice(application)
        return f"notice {message.status}" if message else "no notice"
    cancelled = messaging.cancel_pending_notices(application, reason=f"application {application.status}")
    return f"cancelled {cancelled} notice(s)" if cancelled else ""
