"""The relay operator's API under /api/v1/operator/ (the agency's own CRM): registrations across every
company and their review, and the registrants. Only a key of the operator's party opens it (tsunagu/api.py);
a company's key is refused (401), and the operator's key opens nothing of the company API."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from tsunagu.companies.access_log import log_api
from tsunagu.companies.models import AccessAction, Company
from tsunagu.lib.api_schemas import (
    NO_NUL,
    NOT_BLANK,
    InputSchema,
    IsoDateTime,
    error_responses,
    refuse_unknown_query,
)
from tsunagu.relay import fraud
from tsunagu.relay.actions import review
from tsunagu.relay.models import CreditStatus, Registrant, RegistrantStatus, Registration
from tsunagu.relay.selectors import registrations_by_credit_status

router = Router()

MAX_PAGE = 500
# Past any list's size, and within what the database takes as an offset.
MAX_OFFSET = 10**9
# The total number of matching rows (the list itself is one page of limit/offset).
TOTAL_HEADER = "X-Total-Count"
LIST_RESPONSE_HEADERS = {"responses": {200: {"headers": {TOTAL_HEADER: {
    "description": "How many match in all (the body is one page of limit/offset)",
    "schema": {"type": "integer", "minimum": 0}}}}}}


class RegistrationOut(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 812, "company": "acme", "registrant": 301, "name": "髙橋 𠮷子", "email": "yoshiko@example.jp",
        "credit_status": "held", "reasons": ["address_differs"],
        "reason_labels": ["通知を送ったアドレスと違うアドレスで登録されました"], "review_note": "",
        "reviewed_at": None, "created_at": "2026-11-24T01:02:03Z",
    }]})

    id: int
    company: str = Field(description="The slug of the company whose referral link the person registered through")
    registrant: int = Field(description="The registrant's id (one person across the relay)")
    name: str
    email: str
    credit_status: CreditStatus = Field(description="credited, held (waiting for review), voided, or duplicate "
                                                    "(the person was credited through an earlier registration)")
    reasons: list[str] = Field(description="Why it is held or was voided: fraud-signal codes, and reviewers' words")
    reason_labels: list[str] = Field(description="The reasons in words (a code's label where one is known)")
    review_note: str = Field(description="The reviewer's reason for the last decision")
    reviewed_at: datetime | None
    created_at: datetime


class RegistrationFilter(Schema):
    status: CreditStatus | None = Field(None, description="held, credited, voided or duplicate; all when absent")
    company: str | None = Field(None, pattern=NO_NUL, description="A company's slug")
    limit: int = Field(100, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class ReasonIn(InputSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "本人に電話で確認済み"}]})

    reason: str = Field("", max_length=300, description="Why (optional to approve)")


def _required_not_blank(schema: dict) -> None:
    schema.pop("default", None)
    schema.update(minLength=1, pattern=NOT_BLANK)


class RequiredReasonIn(ReasonIn):
    # The reason is required, but its absence answers 400 with the reviewer's message (not 422): the document
    # states the rule, the review action enforces it.
    model_config = ConfigDict(json_schema_extra={"required": ["reason"],
                                                 "examples": [{"reason": "使い捨てアドレス"}]})

    reason: str = Field("", max_length=300, json_schema_extra=_required_not_blank,
                        description="Why: required, not blank (400 otherwise)")


class RegistrantOut(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 301, "name": "髙橋 𠮷子", "name_kana": "タカハシ ヨシコ", "email": "yoshiko@example.jp",
        "phone": "090-1234-5678", "desired_job": "バックエンドエンジニア", "desired_region": "東京都",
        "status": "new", "open_to_former_companies": False, "first_company": "acme", "companies": ["acme"],
        "created_at": "2026-11-24T01:02:03Z", "updated_at": "2026-11-25T09:00:00Z",
    }]})

    id: int
    name: str
    name_kana: str
    email: str
    phone: str
    desired_job: str
    desired_region: str
    status: RegistrantStatus = Field(description="The pipeline: new, scheduling, interviewed, introducing, "
                                                 "offered, joined; or paused, withdrawn")
    open_to_former_companies: bool
    first_company: str | None = Field(description="The slug of the company credited for bringing them")
    companies: list[str] = Field(description="The slugs of every company whose link they registered through")
    created_at: datetime
    updated_at: datetime


class RegistrantFilter(Schema):
    since: IsoDateTime | None = Field(None, description="ISO 8601: registrants created or changed at or after "
                                                        "this time, or who registered through another company "
                                                        "since (without a time zone: Asia/Tokyo)")
    status: RegistrantStatus | None = None
    limit: int = Field(100, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


def registration_out(registration: Registration) -> dict:
    return {
        "id": registration.pk, "company": registration.company.slug, "registrant": registration.registrant_id,
        "name": registration.name, "email": registration.email, "credit_status": registration.credit_status,
        "reasons": [str(reason) for reason in registration.reasons or []],
        "reason_labels": [fraud.label(str(reason)) for reason in registration.reasons or []],
        "review_note": registration.review_note, "reviewed_at": registration.reviewed_at,
        "created_at": registration.created_at,
    }


@router.get("/registrations", response={200: list[RegistrationOut], **error_responses(401, 422)},
            summary="List registrations across every company (e.g. the ones held for review)",
            openapi_extra=LIST_RESPONSE_HEADERS)
def list_registrations(request, response: HttpResponse, filters: Query[RegistrationFilter]):
    """Held ones oldest first (a queue), the others newest first; `?status=held` is the review queue. The
    total number of matches is in the `X-Total-Count` header. An unknown status answers 422."""
    refuse_unknown_query(request, RegistrationFilter)
    if filters.status is not None:
        company = None
        if filters.company:
            company = Company.objects.tenants().filter(slug=filters.company).first()
            if company is None:
                response[TOTAL_HEADER] = "0"
                return []
        found = registrations_by_credit_status(filters.status, company=company)
    else:
        found = Registration.objects.select_related("company").order_by("-created_at", "-pk")
        if filters.company:
            found = found.filter(company__slug=filters.company, company__is_operator=False)
    response[TOTAL_HEADER] = str(found.count())
    return [registration_out(r) for r in found[filters.offset:filters.offset + filters.limit]]


def _decide(pk: int, decision, payload: ReasonIn | None):
    registration = get_object_or_404(Registration.objects.select_related("company"), pk=pk)
    try:
        decided = decision(registration, user=None, reason=payload.reason if payload else "")
    except ValidationError as exc:
        # Input the decision cannot take (no reason) is keyed by its field; a registration not in the state the
        # decision needs (already decided, not credited) is a conflict.
        status = 400 if hasattr(exc, "error_dict") else 409
        return Status(status, {"detail": " ".join(exc.messages)})
    return Status(200, registration_out(decided))


DECISION_RESPONSES = {200: RegistrationOut, **error_responses(400, 401, 404, 409, 422)}


@router.post("/registrations/{registration_id}/approve", response=DECISION_RESPONSES,
             summary="Approve a held registration: its company gets the credit")
def approve_registration(request, registration_id: int, payload: ReasonIn | None = None):
    """Only a held registration can be approved (409 otherwise). If the same person was credited through
    another registration meanwhile, it becomes `duplicate` and earns nothing (one person, one credit)."""
    return _decide(registration_id, review.approve, payload)


@router.post("/registrations/{registration_id}/void", response=DECISION_RESPONSES,
             summary="Void a held registration: it earns nothing")
def void_registration(request, registration_id: int, payload: RequiredReasonIn):
    """`reason` is required (400 without one); only a held registration can be voided (409 otherwise: a credit
    already granted is taken back with `/reverse`)."""
    return _decide(registration_id, review.void, payload)


@router.post("/registrations/{registration_id}/reverse", response=DECISION_RESPONSES,
             summary="Take back a credit granted earlier")
def reverse_registration(request, registration_id: int, payload: RequiredReasonIn):
    """`reason` is required (400 without one); only a credited registration can be reversed (409 otherwise).
    The ledger gets a reversal entry (nothing is edited or deleted), and the slot it completed is revoked when
    the count toward the next slot cannot absorb it."""
    return _decide(registration_id, review.reverse, payload)


def registrant_out(registrant: Registrant) -> dict:
    companies = []
    for registration in registrant.registrations.all():
        if registration.company.slug not in companies:
            companies.append(registration.company.slug)
    return {
        "id": registrant.pk, "name": registrant.name, "name_kana": registrant.name_kana, "email": registrant.email,
        "phone": registrant.phone, "desired_job": registrant.desired_job,
        "desired_region": registrant.desired_region, "status": registrant.status,
        "open_to_former_companies": registrant.open_to_former_companies,
        "first_company": registrant.first_company.slug if registrant.first_company else None,
        "companies": companies, "created_at": registrant.created_at, "updated_at": registrant.updated_at,
    }


@router.get("/registrants", response={200: list[RegistrantOut], **error_responses(401, 422)},
            summary="List registrants (for syncing a CRM)", openapi_extra=LIST_RESPONSE_HEADERS)
def list_registrants(request, response: HttpResponse, filters: Query[RegistrantFilter]):
    """In id order, so paging with limit/offset is stable. To sync, remember when a run started and pass it as
    `since` next time. The total number of matches is in the `X-Total-Count` header. A `since` that is not an
    ISO 8601 date-time answers 422."""
    refuse_unknown_query(request, RegistrantFilter)
    found = Registrant.objects.select_related("first_company").prefetch_related(
        Prefetch("registrations", queryset=Registration.objects.select_related("company").order_by("created_at")))
    if filters.since is not None:
        since = filters.since
        if timezone.is_naive(since):
            since = timezone.make_aware(since, timezone.get_default_timezone())
        found = found.filter(Q(created_at__gte=since) | Q(updated_at__gte=since)
                             | Q(pk__in=Registration.objects.filter(created_at__gte=since).values("registrant_id")))
    if filters.status is not None:
        found = found.filter(status=filters.status)
    found = found.order_by("pk")
    total = found.count()
    response[TOTAL_HEADER] = str(total)
    log_api(request, AccessAction.SEARCH, "registrant", subject_count=total, detail=",".join(
        name for name in ("since", "status") if getattr(filters, name) is not None))
    return [registrant_out(r) for r in found[filters.offset:filters.offset + filters.limit]]
