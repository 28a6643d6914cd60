"""The candidates resource of the REST API: search the talent pool, read a person, edit their tags, skills,
region, desired job, note and consent to be contacted."""

from datetime import datetime
from typing import Annotated, Literal

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from ninja import Path, Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from tsunagu.companies.access_log import filter_names, log_api
from tsunagu.companies.models import AccessAction
from tsunagu.lib.api_schemas import (
    NO_NUL,
    InputSchema,
    IsoDate,
    django_validation_error_body,
    error_responses,
    refuse_unknown_query,
)
from tsunagu.talent.actions import pool as pool_actions
from tsunagu.talent.models import ApplicationStatus, Candidate, PoolState, TagKind
from tsunagu.talent.pool_page import search_page
from tsunagu.talent.pool_query import MAX_QUERY_LENGTH, MAX_QUERY_TAGS, MAX_TAG_LENGTH, PoolQuery
from tsunagu.talent.regions import region_code
from tsunagu.talent.search import match_reasons
from tsunagu.talent.search_reasons import TagRow, tags_of
from tsunagu.talent.stages import Stage

router = Router()

MAX_OFFSET = 10**9
MAX_ID = 2**63 - 1
StageName = Literal[tuple(stage.name.lower() for stage in Stage)]
# "Reached at least": a stage's name or its value (a larger value is a later stage).
StageFilter = Literal[tuple([stage.name.lower() for stage in Stage] + [str(stage.value) for stage in Stage])]
PoolStateName = Literal[tuple([*PoolState.values, ""])]
Tag = Annotated[str, Field(max_length=MAX_TAG_LENGTH, pattern=NO_NUL)]
_STAGE_VALUES = {stage.name.lower(): stage.value for stage in Stage} | {str(stage.value): stage.value for stage in Stage}


class CandidateFilter(Schema):
    q: str = Field("", max_length=MAX_QUERY_LENGTH, pattern=NO_NUL, description=(
        "Words separated by spaces, all of which must match: a name or part of one (高橋 also finds 髙橋), a "
        "reading in hiragana, katakana or half-width katakana, an e-mail address or a phone number (exact), or "
        "words of skills, tags, the note, the desired job and past jobs."))
    tag: list[Tag] = Field([], max_length=MAX_QUERY_TAGS, description="A tag or skill the person has (repeatable: all)")
    stage_at_least: StageFilter | None = Field(None, description="Furthest stage reached, at least (name or value)")
    evaluation: str = Field("", max_length=100, pattern=NO_NUL, description="The latest evaluation, exactly")
    region: str = Field("", max_length=100, pattern=NO_NUL,
                        description="A prefecture (JIS code 13, or 東京都 / 東京 / Tokyo) or words of the free region text")
    job_category: str = Field("", max_length=200, pattern=NO_NUL, description="Applied once to a job of this category")
    rejection_reason: str = Field("", max_length=300, pattern=NO_NUL,
                                  description="Rejected once for a reason containing this text")
    state: PoolState | None = Field(None, description="Where the person stands now")
    rejected_from: IsoDate | None = Field(None, description="Last rejected on or after this day (company's time zone)")
    rejected_to: IsoDate | None = Field(None, description="Last rejected on or before this day")
    applied_from: IsoDate | None = Field(None, description="Last applied on or after this day")
    applied_to: IsoDate | None = Field(None, description="Last applied on or before this day")
    contactable: bool | None = Field(None, description="true: HR may contact the person and there is an address "
                                                       "(suppressed addresses are skipped when mail is sent)")
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)

    def pool_query(self) -> PoolQuery:
        return PoolQuery(
            q=self.q.strip(), tags=tuple(dict.fromkeys(tag.strip() for tag in self.tag if tag.strip())),
            stage_at_least=_STAGE_VALUES[self.stage_at_least] if self.stage_at_least else 0,
            evaluation=self.evaluation.strip(), region=region_code(self.region) or self.region.strip(),
            job_category=self.job_category.strip(), rejection_reason=self.rejection_reason.strip(),
            state=self.state or "", rejected_from=self.rejected_from, rejected_to=self.rejected_to,
            applied_from=self.applied_from, applied_to=self.applied_to, contactable=self.contactable,
        )


class CandidateSummaryOut(Schema):
    id: int = Field(description="The id the candidate endpoints take")
    name: str
    name_kana: str
    email: str
    stage_reached: StageName
    evaluation: str
    region_code: str = Field(description="JIS X 0401 prefecture code (13 is 東京都), or empty")
    region_text: str
    skills: list[str]
    tags: list[str] = Field(description="Tags HR or the API gave")
    automatic_tags: list[str] = Field(description="Tags from the applications: job category, stage reached, "
                                                  "rejection reason, channel, year")
    pool_state: PoolStateName
    last_applied_at: datetime | None
    matched: list[str] = Field(description="Why the person matched the query, e.g. 氏名, フリガナ, スキル: Python")


class CandidateListOut(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"total": 1, "total_exact": True, "results": [{
        "id": 42, "name": "髙橋 𠮷子", "name_kana": "タカハシ ヨシコ", "email": "yoshiko@example.jp",
        "stage_reached": "final_interview", "evaluation": "A", "region_code": "13", "region_text": "",
        "skills": ["Python"], "tags": ["リーダー経験"], "automatic_tags": ["最終面接まで", "2025年応募"],
        "pool_state": "rejected", "last_applied_at": "2025-10-01T00:00:00Z", "matched": ["氏名(異体字を同一視)"],
    }]}]})

    total: int = Field(description="How many people match (all pages), counted up to 1,000")
    total_exact: bool = Field(description="False when more than 1,000 people match: `total` is then 1,000, and pages reach the first 1,000")
    results: list[CandidateSummaryOut]


class CandidateApplicationOut(Schema):
    external_id: str
    job_title: str
    job_category: str
    status: ApplicationStatus
    stage_reached: StageName
    rejection_reason: str
    applied_at: datetime | None
    rejected_at: datetime | None


class CandidateDetailOut(CandidateSummaryOut):
    phone: str
    desired_job: str
    note: str
    contact_allowed: bool = Field(description="false: HR marked the person \"do not contact\"")
    channel: str
    last_rejected_at: datetime | None
    merged_into: int | None = Field(description="Set when this record was merged into another (a duplicate)")
    applications: list[CandidateApplicationOut]


class CandidatePatch(InputSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "skills": ["Python", "AWS"], "tags": ["リーダー経験"], "region": "東京都", "desired_job": "バックエンドエンジニア",
        "note": "2025年の最終面接で高評価。", "contact_allowed": True,
    }]})

    skills: list[Tag] | None = Field(None, max_length=pool_actions.MAX_TAGS_PER_CANDIDATE,
                                     description="Replaces the person's skills")
    tags: list[Tag] | None = Field(None, max_length=pool_actions.MAX_TAGS_PER_CANDIDATE,
                                   description="Replaces the tags HR gave (automatic tags stay)")
    region: str | None = Field(None, max_length=pool_actions.MAX_REGION_TEXT, pattern=NO_NUL,
                               description="A prefecture (13, 東京都, 東京, Tokyo) or free text such as リモート; "
                                           "empty clears it")
    desired_job: str | None = Field(None, max_length=pool_actions.MAX_DESIRED_JOB, pattern=NO_NUL)
    note: str | None = Field(None, max_length=pool_actions.MAX_NOTE, pattern=NO_NUL)
    contact_allowed: bool | None = Field(None, strict=True)


def _tag_lists(tags: dict[int, list[TagRow]]) -> dict[int, dict[str, list[str]]]:
    lists = {}
    for pk, rows in tags.items():
        lists[pk] = {"skills": [], "tags": [], "automatic_tags": []}
        for row in rows:
            key = "skills" if row.kind == TagKind.SKILL else "automatic_tags" if row.automatic else "tags"
            lists[pk][key].append(row.label)
    return lists


def _summary(candidate: Candidate, tags: dict[str, list[str]], matched: list[str]) -> dict:
    return {
        "id": candidate.pk, "name": candidate.name, "name_kana": candidate.name_kana, "email": candidate.email,
        "stage_reached": Stage(candidate.stage_reached).name.lower(), "evaluation": candidate.evaluation,
        "region_code": candidate.region_code, "region_text": candidate.region_text, **tags,
        "pool_state": candidate.pool_state, "last_applied_at": candidate.last_applied_at, "matched": matched,
    }


def candidate_detail(candidate: Candidate) -> dict:
    applications = [{
        "external_id": a.external_id, "job_title": a.job.title, "job_category": a.job.category, "status": a.status,
        "stage_reached": Stage(a.stage_reached).name.lower(), "rejection_reason": a.rejection_reason,
        "applied_at": a.applied_at, "rejected_at": a.rejected_at,
    } for a in candidate.applications.select_related("job").order_by("pk")]
    return {
        **_summary(candidate, _tag_lists(tags_of([candidate.pk]))[candidate.pk], []),
        "phone": candidate.phone, "desired_job": candidate.desired_job, "note": candidate.note,
        "contact_allowed": candidate.contact_allowed, "channel": candidate.channel,
        "last_rejected_at": candidate.last_rejected_at, "merged_into": candidate.merged_into_id,
        "applications": applications,
    }


@router.get("", response={200: CandidateListOut, **error_responses(401, 422)},
            summary="Search the talent pool")
def list_candidates(request, filters: Query[CandidateFilter]):
    """Most recently applied first. Every filter given must hold; each result says why it matched the query
    (`matched`). Records merged into another are never listed."""
    refuse_unknown_query(request, CandidateFilter)
    query = filters.pool_query()
    found = search_page(request.auth, query, offset=filters.offset, limit=filters.limit)
    log_api(request, AccessAction.SEARCH, "candidate", subject_count=found.total,
            detail=filter_names(query.to_params()))
    page = found.candidates
    page_tags = tags_of([candidate.pk for candidate in page])
    reasons = match_reasons(page, query, page_tags)
    tags = _tag_lists(page_tags)
    return {"total": found.total, "total_exact": found.exact,
            "results": [_summary(c, tags[c.pk], reasons.get(c.pk, [])) for c in page]}


@router.get("/{candidate_id}", response={200: CandidateDetailOut, **error_responses(401, 404, 422)},
            summary="Read a candidate of the talent pool")
def get_candidate(request, candidate_id: int = Path(..., ge=1, le=MAX_ID)):
    candidate = get_object_or_404(Candidate, company=request.auth, pk=candidate_id, erased_at__isnull=True)
    log_api(request, AccessAction.VIEW, "candidate", candidate.pk)
    return candidate_detail(candidate)


@router.patch("/{candidate_id}", response={200: CandidateDetailOut, **error_responses(400, 401, 404, 422)},
              summary="Edit a candidate's skills, tags, region, desired job, note and consent to be contacted")
def patch_candidate(request, payload: CandidatePatch, candidate_id: int = Path(..., ge=1, le=MAX_ID)):
    """Fields left out (or null) stay as they are. `skills` and `tags` are full lists: they replace what was
    there (tags from the applications stay). A 422 changes nothing."""
    candidate = get_object_or_404(Candidate, company=request.auth, pk=candidate_id, erased_at__isnull=True)
    changes = payload.model_dump(exclude_none=True)
    region = changes.pop("region", None)
    if region is not None:
        code = region_code(region)
        changes["region_code"], changes["region_text"] = (code, "") if code else ("", region)
    try:
        candidate = pool_actions.update_candidate_profile(request.auth, candidate, **changes)
    except ValidationError as exc:
        return Status(422, django_validation_error_body(exc))
    log_api(request, AccessAction.CHANGE, "candidate", candidate.pk, detail=",".join(payload.model_dump(
        exclude_none=True)))
    return candidate_detail(candidate)
