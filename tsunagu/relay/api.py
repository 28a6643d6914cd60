from datetime import date, datetime
from typing import Literal

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from tsunagu.lib.api_schemas import (
    NOT_BLANK,
    InputSchema,
    IsoDate,
    django_validation_error_body,
    error_responses,
    json_int,
    refuse_unknown_query,
)
from tsunagu.relay.actions import introductions as introduction_actions
from tsunagu.relay.actions import requests as request_actions
from tsunagu.relay.actions.requests import (
    MAX_DESCRIPTION,
    MAX_HEADCOUNT,
    MAX_LOCATION,
    MAX_SALARY_YEN,
    MAX_TITLE,
)
from tsunagu.relay.introduction_consent import PROFILE_FIELDS
from tsunagu.relay.models import (
    EmploymentType,
    Introduction,
    IntroductionStatus,
    Outcome,
    ReferralRequest,
    RequestStatus,
)
from tsunagu.relay.selectors import ledger_summary, request_history, request_slot_state

router = Router()

# Past any company's list, and within what the database takes as an offset.
MAX_OFFSET = 10**9
# An answer to an introduction: every outcome but "no answer yet".
OutcomeName = Literal[tuple(value for value in Outcome.values if value)]


class LedgerOut(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "credits": 23, "credits_held": 1, "slots_earned": 2, "slots_redeemed": 1, "slots_available": 1,
        "ratio": 10, "credits_to_next_slot": 7,
    }]})

    credits: int = Field(description="Registrations credited to the company (less any the operator reversed)")
    credits_held: int = Field(description="Verified registrations held for the relay operator's review (a fraud "
                                          "signal fired): credited if the operator approves, nothing if voided")
    slots_earned: int
    slots_redeemed: int
    slots_available: int
    ratio: int = Field(description="Credits per free referral slot: the relay operator's contract with the company")
    credits_to_next_slot: int


@router.get("/ledger", response={200: LedgerOut, **error_responses(401)},
            summary="The Career Relay ledger: credits and free referral slots")
def get_ledger(request):
    """One credit per distinct candidate who registered and verified; one slot per `ratio` credits."""
    summary = ledger_summary(request.auth)
    return {**summary.__dict__, "credits_to_next_slot": summary.credits_to_next_slot}


# --- referral requests (紹介依頼) and the introductions received ------------------------------------------

Salary = json_int(ge=0, le=MAX_SALARY_YEN)


class RequestIn(InputSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "title": "法人営業", "description": "既存顧客へのソリューション提案。", "location": "東京都",
        "salary_min": 4_500_000, "salary_max": 6_000_000, "employment_type": "full_time", "headcount": 1,
        "deadline": "2026-12-25",
    }]})

    # The limits the action checks (relay/actions/requests.py), declared so that the document states them.
    title: str = Field(min_length=1, max_length=MAX_TITLE, pattern=NOT_BLANK, description="The position (職種)")
    description: str = Field("", max_length=MAX_DESCRIPTION, description="What the job is (仕事内容)")
    location: str = Field("", max_length=MAX_LOCATION, description="Where (勤務地)")
    salary_min: Salary | None = Field(None, description="Yearly salary from, in yen")
    salary_max: Salary | None = Field(None, description="Yearly salary up to, in yen (not below salary_min: 422 "
                                                        "otherwise)")
    employment_type: EmploymentType = Field(EmploymentType.FULL_TIME,
                                            description="The kind of employment (雇用形態)")
    headcount: json_int(ge=1, le=MAX_HEADCOUNT) = Field(1, description="How many people (採用人数)")
    deadline: IsoDate | None = Field(None, description="Optional; not in the past in the company's time zone "
                                                       "(422 otherwise)")


class ProfileOut(Schema):
    name: str
    email: str
    phone: str
    desired_job: str
    desired_region: str


class IntroductionOut(Schema):
    id: int
    request: int
    status: IntroductionStatus = Field(description="consent_requested (waiting for the person's consent: nothing "
                                                   "about them is shown), introduced, declined or withdrawn")
    outcome: OutcomeName | None = Field(description="document_passed, interview, rejected, offered, hired; null "
                                                    "before the company answers")
    consented_at: datetime | None
    profile: ProfileOut | None = Field(description="What the person consented to provide; null before consent")
    recommendation: str | None = Field(description="The operator's recommendation; null before consent")


class HistoryOut(Schema):
    at: datetime
    kind: str = Field(description="filed, proposed, consent_requested, consented, declined, withdrawn, outcome, "
                                  "slot_used, filled, closed")
    actor: str
    detail: str
    introduction: int | None


class RequestOut(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 7, "title": "法人営業", "description": "", "location": "東京都", "salary_min": 4_500_000,
        "salary_max": 6_000_000, "employment_type": "full_time", "headcount": 1, "deadline": None,
        "status": "open", "slot": "reserved", "created_at": "2026-11-24T01:02:03Z", "closed_at": None,
        "introductions": [{"id": 3, "request": 7, "status": "consent_requested", "outcome": None,
                           "consented_at": None, "profile": None, "recommendation": None}],
        "history": [{"at": "2026-11-24T01:02:03Z", "kind": "filed", "actor": "API",
                     "detail": "無料紹介枠を1つ確保しました", "introduction": None}],
    }]})

    id: int
    title: str
    description: str
    location: str
    salary_min: int | None
    salary_max: int | None
    employment_type: EmploymentType
    headcount: int
    deadline: date | None
    status: RequestStatus = Field(description="open, filled (hired up to the headcount) or closed (ended without "
                                              "a hire)")
    slot: Literal["reserved", "used", "released", "none"] = Field(
        description="The free slot the request holds: reserved, used (by a hire), released, or none")
    created_at: datetime
    closed_at: datetime | None
    introductions: list[IntroductionOut]
    history: list[HistoryOut]


class OutcomeIn(InputSchema):
    outcome: OutcomeName = Field(description="document_passed (書類選考通過), interview (面接), rejected (見送り), "
                                             "offered (内定) or hired (入社: uses the request's free slot; final)")


def introduction_out(introduction: Introduction) -> dict:
    introduced = introduction.status == IntroductionStatus.INTRODUCED
    registrant = introduction.registrant
    return {
        "id": introduction.pk, "request": introduction.request_id, "status": introduction.status,
        "outcome": introduction.outcome or None, "consented_at": introduction.consented_at,
        "profile": {field: getattr(registrant, field) for field in PROFILE_FIELDS} if introduced else None,
        "recommendation": introduction.recommendation if introduced else None,
    }


def request_out(referral: ReferralRequest) -> dict:
    fields = ("id", "title", "description", "location", "salary_min", "salary_max", "employment_type",
              "headcount", "deadline", "status", "created_at", "closed_at")
    return {
        **{field: getattr(referral, field) for field in fields},
        "slot": request_slot_state(referral),
        "introductions": [introduction_out(introduction) for introduction in
                          referral.introductions.select_related("registrant").order_by("created_at", "pk")],
        "history": [{"at": line.at, "kind": line.kind, "actor": line.actor, "detail": line.detail,
                     "introduction": line.introduction_id} for line in request_history(referral)],
    }


def _conflict(exc: ValidationError) -> Status:
    return Status(409, {"detail": " ".join(exc.messages)})


@router.post("/requests", response={201: RequestOut, **error_responses(400, 401, 409, 422)},
             summary="File a referral request (uses one available free slot)")
def file_request(request, payload: RequestIn):
    """Reserves one of the company's available free slots for the request (409 when none is available; 422
    names each field that is wrong, and nothing is changed). The operator then proposes registrants; each is
    asked to consent before the company sees anything about them."""
    try:
        referral = request_actions.file_request(
            request.auth, request_actions.RequestForm(**payload.model_dump()), actor_label="api")
    except request_actions.NoSlotAvailable as exc:
        return _conflict(exc)
    except ValidationError as exc:
        return Status(422, django_validation_error_body(exc))
    return Status(201, request_out(referral))


class RequestFilter(Schema):
    status: RequestStatus | None = Field(None, description="open, filled or closed; all when absent")
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


@router.get("/requests", response={200: list[RequestOut], **error_responses(401, 422)},
            summary="List the company's referral requests")
def list_requests(request, filters: Query[RequestFilter]):
    """Newest first."""
    refuse_unknown_query(request, RequestFilter)
    referrals = ReferralRequest.objects.filter(company=request.auth)
    if filters.status is not None:
        referrals = referrals.filter(status=filters.status)
    referrals = referrals[filters.offset:filters.offset + filters.limit]
    return [request_out(referral) for referral in referrals]


@router.get("/requests/{request_id}", response={200: RequestOut, **error_responses(401, 404, 422)},
            summary="Read a referral request, its introductions and its history")
def get_request(request, request_id: int):
    """An introduction shows the person's profile and the recommendation only once they consented."""
    return request_out(get_object_or_404(ReferralRequest, company=request.auth, pk=request_id))


@router.post("/requests/{request_id}/close",
             response={200: RequestOut, **error_responses(401, 404, 409, 422)},
             summary="Close a referral request (without a hire, its slot is released)")
def close_request(request, request_id: int):
    referral = get_object_or_404(ReferralRequest, company=request.auth, pk=request_id)
    try:
        referral = request_actions.close_request(referral, actor_label="api")
    except request_actions.RequestNotOpen as exc:
        return _conflict(exc)
    return request_out(referral)


@router.post("/introductions/{introduction_id}/outcome",
             response={200: IntroductionOut, **error_responses(400, 401, 404, 409, 422)},
             summary="Answer an introduction: document_passed, interview, rejected, offered or hired")
def record_outcome(request, introduction_id: int, payload: OutcomeIn):
    """409 before the person consented, once the request is closed, or to change a hire; `hired` uses the
    request's free slot and fills the request when its headcount is reached."""
    introduction = get_object_or_404(Introduction.objects.select_related("registrant"),
                                     request__company=request.auth, pk=introduction_id)
    try:
        introduction = introduction_actions.record_outcome(introduction, payload.outcome, actor_label="api")
    except (introduction_actions.NotIntroduced, request_actions.RequestNotOpen) as exc:
        return _conflict(exc)
    except ValidationError as exc:
        return Status(422, django_validation_error_body(exc))
    return introduction_out(introduction)
