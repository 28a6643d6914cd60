"""Jobs from the ATS's job events (webhook deliveries): stored with talent's save_job.

De-duplicated like application events: a delivery is stored once per event id (WebhookDelivery's unique key),
and save_job is an idempotent upsert, so a repeat with another id changes nothing and never "opens" twice.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from tsunagu.companies.models import Company
from tsunagu.intake.events import IncomingJob
from tsunagu.talent.actions.jobs import MAX_LENGTHS, save_job
from tsunagu.talent.models import Job, JobStatus

FIELDS = ("title", "category", "description", "location", "requirements", "status")


def record_job(company: Company, incoming: IncomingJob) -> str:
    """Store one job the ATS described; what happened, for the delivery log."""
    existing = Job.objects.filter(company=company, external_id=incoming.external_id).first()
    values = {}
    for name in FIELDS:
        given = getattr(incoming, name)
        if given is None:
            given = getattr(existing, name) if existing is not None else ""
        values[name] = given
    values["status"] = values["status"] or JobStatus.OPEN
    # What the vendor sends may be longer than we keep (a long posting): cut, not refused.
    for name in ("title", "category", "location", "description", "requirements"):
        values[name] = (values[name] or "")[:MAX_LENGTHS[name]]
    if not values["title"].strip():
        values["title"] = incoming.fallback_title or incoming.external_id
    try:
        job, created, opened = save_job(company, external_id=incoming.external_id[:MAX_LENGTHS["external_id"]],
                                        **values)
    except ValidationError as exc:
        return f"job {incoming.external_id} refused: {' '.join(exc.messages)}"
    if opened:
        return f"job {job.external_id} opened"
    return f"job {job.external_id} {'created' if created else 'updated'} ({job.status})"


def record_jobs(company: Company, jobs: list[IncomingJob]) -> str:
    return "; ".join(record_job(company, job) for job in jobs)
