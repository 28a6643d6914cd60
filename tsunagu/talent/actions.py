"""Every change to jobs, candidates and applications."""

from __future__ import annotations

from datetime import datetime

from tsunagu.companies.models import Company
from tsunagu.intake.events import CandidateData, JobData
from tsunagu.talent import normalize
from tsunagu.talent.models import Application, ApplicationStatus, Candidate, Job
from tsunagu.talent.stages import Stage


def upsert_job(company: Company, data: JobData) -> Job:
    title = normalize.clean_text(data.title)
    category = normalize.clean_text(data.category)
    external_id = (data.external_id or "").strip()
    if external_id:
        job, created = Job.objects.get_or_create(
            company=company, external_id=external_id, defaults={"title": title, "category": category}
        )
    else:
        job = Job.objects.filter(company=company, external_id="", title=title).first()
        created = job is None
        if created:
            job = Job.objects.create(company=company, title=title, category=category)
    if not created and (job.title != title or (category and job.category != category)):
        job.title = title
        job.category = category or job.category
        job.save(update_fields=["title", "category", "updated_at"])
    return job


def upsert_candidate(company: Company, data: CandidateData) -> Candidate:
    """Find the company's candidate by normalised e-mail, refreshing what the source now says."""
    email_key = normalize.email_key(data.email)
    values = {
        "name": normalize.clean_text(data.name),
        "email": data.email.strip(),
        "name_key": normalize.name_key(data.name),
    }
    if data.name_kana:
        values["name_kana"] = normalize.clean_text(data.name_kana)
        values["kana_key"] = normalize.kana_key(data.name_kana)
    if data.phone:
        values["phone"] = data.phone.strip()
        values["phone_e164"] = normalize.phone_e164(data.phone)
    candidate, created = Candidate.objects.get_or_create(company=company, email_key=email_key, defaults=values)
    if not created:
        changed = [key for key, value in values.items() if getattr(candidate, key) != value]
        if changed:
            for key in changed:
                setattr(candidate, key, values[key])
            candidate.save(update_fields=[*changed, "updated_at"])
    return candidate


def lock_or_create_application(company: Company, *, external_id: str, candidate: Candidate, job: Job,
                               source: str) -> tuple[Application, bool]:
    """The application row, locked for this transaction so concurrent events on it apply one at a time."""
    application = Application.objects.select_for_update().filter(company=company, external_id=external_id).first()
    if application is not None:
        return application, False
    application = Application.objects.create(
        company=company, external_id=external_id, candidate=candidate, job=job, source=source
    )
    return application, True


def apply_status(application: Application, *, status: str, stage: Stage, stage_raw: str, rejection_reason: str,
                 occurred_at: datetime, candidate: Candidate, job: Job) -> None:
    application.candidate = candidate
    application.job = job
    # The newest event by its own clock wins; older ones are recorded but not applied.
    application.status_changed_at = occurred_at
    newly_rejected = status == ApplicationStatus.REJECTED and application.status != ApplicationStatus.REJECTED
    application.status = status
    if stage_raw:
        application.stage = stage
        application.stage_raw = normalize.clean_text(stage_raw)
        application.stage_reached = max(application.stage_reached, stage)
    if status == ApplicationStatus.REJECTED:
        application.rejection_reason = normalize.clean_text(rejection_reason) or application.rejection_reason
        if newly_rejected or application.rejected_at is None:
            application.rejected_at = occurred_at
    application.save()
