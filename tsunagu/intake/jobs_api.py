"""The jobs resource of the REST API: upsert a job by external_id, list jobs, and a job's rediscovery shortlist
(past candidates worth inviting, best first, with the reasons)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Path, Query, Router, Schema, Status
from pydantic import ConfigDict, Field, field_validator

from tsunagu.lib.api_schemas import (
    NO_NUL,
    NOT_BLANK,
    InputSchema,
    django_validation_error_body,
    error_responses,
    refuse_unknown_query,
)
from tsunagu.messaging.rediscovery import rank_for_job
from tsunagu.talent.actions.jobs import MAX_LENGTHS, save_job
from tsunagu.talent.models import Job, JobStatus

router = Router()

MAX_PAGE = 500
MAX_OFFSET = 10**9
MAX_SHORTLIST = 200
TOTAL_HEADER = "X-Total-Count"
LIST_RESPONSE_HEADERS = {"responses": {200: {"headers": {TOTAL_HEADER: {
    "description": "How many jobs match in all (the body is one page of limit/offset)",
    "schema": {"type": "integer", "minimum": 0}}}}}}

JOB_EXAMPLE = {
    "external_id": "J-42", "title": "バックエンドエンジニア", "category": "エンジニア",
    "description": "決済基盤の開発", "location": "東京都(リモート可)", "requirements": "Python, AWS の実務経験",
    "status": "open",
}


class JobUpsertIn(InputSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [JOB_EXAMPLE]})

    external_id: str = Field(..., min_length=1, max_length=MAX_LENGTHS["external_id"], pattern=NOT_BLANK,
                             description="Your ATS's id for the job (trimmed): the key of the upsert")
    title: str = Field(..., min_length=1, max_length=MAX_LENGTHS["title"], pattern=NOT_BLANK)
    category: str = Field("", max_length=MAX_LENGTHS["category"], description="職種カテゴリ, e.g. エンジニア")
    description: str = Field("", max_length=MAX_LENGTHS["description"])
    location: str = Field("", max_length=MAX_LENGTHS["location"])
    requirements: str = Field("", max_length=MAX_LENGTHS["requirements"],
                              description="Skills and experience asked for (used by rediscovery)")
    status: Literal["open", "closed"] = Field("open", description="A job going from closed to open (or new and "
                                                                  "open) gets opened_at = now")

    @field_validator("external_id")
    @classmethod
    def external_id_trimmed(cls, value: str) -> str:
        return value.strip()


class JobDetailOut(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        **JOB_EXAMPLE, "id": 7, "opened_at": "2026-11-21T01:00:00Z"}]})

    id: int
    external_id: str
    title: str
    category: str
    description: str
    location: str
    requirements: str
    status: JobStatus
    opened_at: datetime | None


class JobFilter(Schema):
    status: JobStatus | None = Field(None, description="open or closed; all when absent")
    limit: int = Field(100, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class ShortlistFilter(Schema):
    limit: int = Field(50, ge=1, le=MAX_SHORTLIST)


class RediscoveredOut(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 301, "name": "髙橋 𠮷子", "score": 71.5,
        "reasons": ["2023年に最終面接まで進んだ(+20点)", "スキル一致: Python, AWS(+31点)", "評価: A(+10点)"]}]})

    id: int = Field(description="The candidate's id (the id the candidate endpoints take)")
    name: str
    score: float = Field(description="The sum of the reasons' points; higher is better")
    reasons: list[str] = Field(description="Why the person is listed, each with its points, largest first")


def job_out(job: Job) -> dict:
    return {"id": job.pk, "external_id": job.external_id, "title": job.title, "category": job.category,
            "description": job.description, "location": job.location, "requirements": job.requirements,
            "status": job.status, "opened_at": job.opened_at}


@router.post("", response={200: JobDetailOut, 201: JobDetailOut, **error_responses(400, 401, 422)},
             summary="Create or update a job (upsert by external_id)")
def upsert_job(request, payload: JobUpsertIn):
    """Answers 201 when the job is new, 200 when it existed. Nothing is mailed when a job opens: HR sees the
    rediscovery shortlist on the job's console page (and `GET /jobs/{external_id}/rediscovery`)."""
    try:
        job, created, _opened = save_job(request.auth, **payload.model_dump())
    except ValidationError as exc:
        return Status(422, django_validation_error_body(exc))
    return Status(201 if created else 200, job_out(job))


@router.get("", response={200: list[JobDetailOut], **error_responses(401, 422)}, summary="List jobs",
            openapi_extra=LIST_RESPONSE_HEADERS)
def list_jobs(request, response: HttpResponse, filters: Query[JobFilter]):
    """Most recently opened (then created) first. The total is in the `X-Total-Count` header. A query
    parameter other than these answers 422."""
    refuse_unknown_query(request, JobFilter)
    jobs = Job.objects.filter(company=request.auth)
    if filters.status is not None:
        jobs = jobs.filter(status=filters.status)
    jobs = jobs.order_by("-opened_at", "-created_at", "-pk")
    response[TOTAL_HEADER] = str(jobs.count())
    return [job_out(job) for job in jobs[filters.offset:filters.offset + filters.limit]]


@router.get("/{external_id}/rediscovery", response={200: list[RediscoveredOut], **error_responses(401, 404, 422)},
            summary="Past candidates to invite to a job, best first")
def rediscovery(request, filters: Query[ShortlistFilter], external_id: str = Path(..., pattern=NO_NUL)):
    """Ranked by relevance of their skills, notes and past jobs to the job (BM25 over Japanese tokens), the
    same job category, the furthest stage reached, evaluation and recency; each reason says its points.
    Never listed: hired, in selection, unsubscribed or suppressed, past retention, no consent to contact,
    no e-mail address, merged duplicates. A query parameter other than `limit` answers 422."""
    refuse_unknown_query(request, ShortlistFilter)
    if not external_id.strip():  # jobs made in the console have no external id: none is reachable here
        raise Http404
    job = get_object_or_404(Job.objects.select_related("company"), company=request.auth,
                            external_id=external_id.strip())
    return [{"id": candidate.pk, "name": candidate.name, "score": score, "reasons": reasons}
            for candidate, score, reasons in rank_for_job(job, limit=filters.limit)]
