"""Past candidates for the rediscovery tests: a job, an application and the pool fields as the pool's refresh
would derive them, written directly so each test states exactly the facts it ranks on."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from tsunagu.talent import normalize
from tsunagu.talent.models import (
    Application,
    ApplicationStatus,
    Candidate,
    CandidateTag,
    Job,
    PoolState,
    TagKind,
)
from tsunagu.talent.search_index import candidate_document
from tsunagu.talent.stages import Stage


def past_job(company, title="バックエンドエンジニア", category="エンジニア", external_id="") -> Job:
    job, _ = Job.objects.get_or_create(company=company, title=title, category=category, external_id=external_id)
    return job


def person(company, name: str, email: str, *, skills=(), note="", stage=Stage.DOCUMENT_SCREENING, evaluation="",
           state=PoolState.REJECTED, when: datetime | None = None, job: Job | None = None,
           contact_allowed=True, merged_into=None) -> Candidate:
    when = when or timezone.now() - timedelta(days=200)
    job = job or past_job(company)
    candidate = Candidate.objects.create(
        company=company, name=name, email=email, email_key=normalize.email_key(email) or f"blank-{name}",
        name_key=normalize.name_key(name), stage_reached=stage, evaluation=evaluation, pool_state=state,
        last_applied_at=when - timedelta(days=30),
        last_rejected_at=when if state == PoolState.REJECTED else None, note=note,
        contact_allowed=contact_allowed, merged_into=merged_into,
        search_tokens=candidate_document(name=name, name_kana="", skills=list(skills), tags=[], note=note,
                                         desired_job="", region_text="", job_titles=[job.title],
                                         job_categories=[job.category]),
    )
    for skill in skills:
        CandidateTag.objects.create(company=company, candidate=candidate, kind=TagKind.SKILL, label=skill,
                                    key=normalize.nfkc(skill).casefold())
    status = {PoolState.HIRED: ApplicationStatus.HIRED, PoolState.IN_SELECTION: ApplicationStatus.ACTIVE,
              PoolState.WITHDRAWN: ApplicationStatus.WITHDRAWN}.get(state, ApplicationStatus.REJECTED)
    Application.objects.create(
        company=company, external_id=f"A-{email}", candidate=candidate, job=job, status=status, stage=stage,
        stage_reached=stage, evaluation=evaluation, applied_at=when - timedelta(days=30),
        rejected_at=when if status == ApplicationStatus.REJECTED else None, status_changed_at=when,
    )
    return candidate
