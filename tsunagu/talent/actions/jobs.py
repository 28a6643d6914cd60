"""Jobs as HR and the ATS describe them: upsert by external id (the API, ATS job events, the console), open and
close, follow.

A job "opens" when it is new and open, or goes from closed to open: `opened_at` is then set to now, and the
caller may show HR the rediscovery shortlist (messaging.rediscovery). Nothing is mailed because a job opened.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tsunagu.companies.models import Company
from tsunagu.talent import normalize
from tsunagu.talent.models import Job, JobStatus
from tsunagu.talent.search_index import job_document

# Characters kept per field (the model's limits; long texts capped so one job cannot fill the index).
MAX_LENGTHS = {"external_id": 200, "title": 300, "category": 200, "location": 200, "description": 20000,
               "requirements": 20000}
TEXT_FIELDS = ("title", "category", "description", "location", "requirements")


def clean_job_fields(*, external_id: str = "", title: str, category: str = "", description: str = "",
                     location: str = "", requirements: str = "", status: str = JobStatus.OPEN) -> dict:
    """The job's fields as stored; ValidationError (Japanese messages, by field) on bad input."""
    values = {
        "external_id": (external_id or "").strip(),
        "title": normalize.clean_text(title or ""),
        "category": normalize.clean_text(category or ""),
        "location": normalize.clean_text(location or ""),
        # Paragraphs are kept in the long texts: only the ends are trimmed.
        "description": (description or "").replace("\r\n", "\n").strip(),
        "requirements": (requirements or "").replace("\r\n", "\n").strip(),
        "status": status,
    }
    errors: dict[str, list[str]] = {}
    if not values["title"]:
        errors.setdefault("title", []).append(_("職種名を入力してください。"))
    for field, limit in MAX_LENGTHS.items():
        if len(values[field]) > limit:
            errors.setdefault(field, []).append(_("%(limit)d文字以内で入力してください。") % {"limit": limit})
    if any("\x00" in value for value in values.values()):
        errors.setdefault("__all__", []).append(_("使えない文字(NUL)が含まれています。"))
    if status not in JobStatus.values:
        errors.setdefault("status", []).append(_("募集状況は open か closed を指定してください。"))
    if errors:
        raise ValidationError(errors)
    return values


def _tokens(values: dict) -> str:
    return job_document(title=values["title"], category=values["category"], description=values["description"],
                        requirements=values["requirements"], location=values["location"])


def save_job(company: Company, *, external_id: str, title: str, category: str = "", description: str = "",
             location: str = "", requirements: str = "", status: str = JobStatus.OPEN) -> tuple[Job, bool, bool]:
    """Create or update the company's job with this external id (a blank id always creates a new job, as the
    console's form does). Returns (job, created, opened): `opened` when the job is new and open, or went
    from closed to open; opened_at is then set to now. Safe to repeat: the same call changes nothing twice."""
    values = clean_job_fields(external_id=external_id, title=title, category=category, description=description,
                              location=location, requirements=requirements, status=status)
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _save(company, values)
        except IntegrityError:
            # Two first deliveries raced to create the job: the loser retries and updates the winner's row.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _save(company: Company, values: dict) -> tuple[Job, bool, bool]:
    job = None
    if values["external_id"]:
        job = Job.objects.select_for_update().filter(company=company, external_id=values["external_id"]).first()
    if job is None:
        job = Job(company=company, **values, search_tokens=_tokens(values))
        opened = job.status == JobStatus.OPEN
        if opened:
            job.opened_at = timezone.now()
        job.save(force_insert=True)
        return job, True, opened
    return job, False, _update(job, values)


def _update(job: Job, values: dict) -> bool:
    """Write what changed (in place); True when the job went from closed to open."""
    opened = job.status != JobStatus.OPEN and values["status"] == JobStatus.OPEN
    changed = [field for field, value in values.items() if getattr(job, field) != value]
    if not changed and job.search_tokens:
        return False
    for field in changed:
        setattr(job, field, values[field])
    if set(changed) & set(TEXT_FIELDS) or not job.search_tokens:
        job.search_tokens = _tokens(values)
        changed.append("search_tokens")
    if opened:
        job.opened_at = timezone.now()
        changed.append("opened_at")
    job.save(update_fields=[*changed, "updated_at"])
    return opened


def update_job(company: Company, job: Job, *, title: str, category: str = "", description: str = "",
               location: str = "", requirements: str = "", status: str | None = None) -> tuple[Job, bool]:
    """The console's edit of one job (its external id, the ATS's, is kept). Returns (job, opened)."""
    if job.company_id != company.pk:
        raise Job.DoesNotExist
    values = clean_job_fields(external_id=job.external_id, title=title, category=category,
                              description=description, location=location, requirements=requirements,
                              status=status or job.status)
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk, company=company)
        opened = _update(locked, values)
    return locked, opened


def set_job_status(company: Company, job: Job, status: str) -> bool:
    """Open or close a job (the console's button). True when it opened (was closed)."""
    if status not in JobStatus.values:
        raise ValidationError({"status": [_("募集状況は open か closed を指定してください。")]})
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk, company=company)
        if locked.status == status:
            return False
        opened = status == JobStatus.OPEN
        locked.status = status
        fields = ["status", "updated_at"]
        if opened:
            locked.opened_at = timezone.now()
            fields.append("opened_at")
        locked.save(update_fields=fields)
    return opened


def open_job(company: Company, job: Job) -> bool:
    return set_job_status(company, job, JobStatus.OPEN)


def close_job(company: Company, job: Job) -> bool:
    set_job_status(company, job, JobStatus.CLOSED)
    return False


def follow_job(company: Company, job: Job, user) -> None:
    """The user gets re-application alerts for this job (besides any company-wide ones)."""
    if job.company_id != company.pk:
        raise Job.DoesNotExist
    job.followers.add(user)


def unfollow_job(company: Company, job: Job, user) -> None:
    if job.company_id != company.pk:
        raise Job.DoesNotExist
    job.followers.remove(user)
