"""The relay's tables of a company's data export, exactly as the company sees them on its own pages and through
its API (relay/views/company.py, relay/api.py):

- registrations of its candidates: that one happened, when, and whether it earned a credit; never what the
  person entered on the operator's form (the relay's consent text promises the company learns only that);
- registrations counted by month (in the company's time zone);
- the ledger, every entry; the operator's staff are never named;
- referral requests, their introductions (the person's profile and the recommendation only once the person
  consented to this introduction) and their history as relay.selectors.request_history tells it.
Read-only.
"""

from __future__ import annotations

from collections.abc import Iterator
from zoneinfo import ZoneInfo

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth

from tsunagu.companies.models import Company
from tsunagu.privacy.company_export import CHUNK_SIZE, Row, Table
from tsunagu.relay.introduction_consent import PROFILE_FIELDS
from tsunagu.relay.models import (
    CreditStatus,
    Introduction,
    IntroductionStatus,
    LedgerEntry,
    ReferralRequest,
    Registration,
)
from tsunagu.relay.selectors import request_history, request_slot_state

REGISTRATION_COLUMNS = ("candidate_id", "registered_at", "credit_status")


def registration_rows(company: Company) -> Iterator[Row]:
    registrations = (Registration.objects.filter(company=company).order_by("created_at", "pk")
                     .values_list("candidate_id", "created_at", "credit_status"))
    for values in registrations.iterator(chunk_size=CHUNK_SIZE):
        yield dict(zip(REGISTRATION_COLUMNS, values, strict=True))


MONTH_COLUMNS = ("month", "registrations", *CreditStatus.values)


def registration_month_rows(company: Company) -> Iterator[Row]:
    months = (Registration.objects.filter(company=company)
              .annotate(month=TruncMonth("created_at", tzinfo=ZoneInfo(company.time_zone)))
              .values("month").order_by("month")
              .annotate(registrations=Count("pk"),
                        **{status: Count("pk", filter=Q(credit_status=status)) for status in CreditStatus.values}))
    for row in months.iterator(chunk_size=CHUNK_SIZE):
        yield {**{column: row[column] for column in MONTH_COLUMNS}, "month": f"{row['month']:%Y-%m}"}


LEDGER_COLUMNS = ("id", "kind", "number", "progress_after", "candidate_id", "reverses_id", "referral_request_id",
                  "introduction_id", "note", "created_at")


def ledger_rows(company: Company) -> Iterator[Row]:
    entries = (LedgerEntry.objects.filter(company=company).order_by("created_at", "pk")
               .values_list("id", "kind", "number", "progress_after", "registration__candidate_id", "reverses_id",
                            "request_id", "introduction_id", "note", "created_at"))
    for values in entries.iterator(chunk_size=CHUNK_SIZE):
        yield dict(zip(LEDGER_COLUMNS, values, strict=True))


REQUEST_COLUMNS = ("id", "title", "description", "location", "salary_min_yen", "salary_max_yen", "employment_type",
                   "headcount", "deadline", "status", "slot", "created_at", "closed_at")


def _company_requests(company: Company):
    return ReferralRequest.objects.filter(company=company).order_by("pk")


def referral_request_rows(company: Company) -> Iterator[Row]:
    for referral in _company_requests(company).iterator(chunk_size=CHUNK_SIZE):
        yield {
            "id": referral.pk, "title": referral.title, "description": referral.description,
            "location": referral.location, "salary_min_yen": referral.salary_min,
            "salary_max_yen": referral.salary_max, "employment_type": referral.employment_type,
            "headcount": referral.headcount, "deadline": referral.deadline, "status": referral.status,
            "slot": request_slot_state(referral), "created_at": referral.created_at, "closed_at": referral.closed_at,
        }


INTRODUCTION_COLUMNS = ("id", "referral_request_id", "status", "outcome", "consented_at", *PROFILE_FIELDS,
                        "recommendation", "created_at")


def introduction_rows(company: Company) -> Iterator[Row]:
    introductions = (Introduction.objects.filter(request__company=company).select_related("registrant")
                     .order_by("pk"))
    for introduction in introductions.iterator(chunk_size=CHUNK_SIZE):
        # The profile only once the person consented to this introduction, as on the request's page.
        introduced = introduction.status == IntroductionStatus.INTRODUCED
        registrant = introduction.registrant
        yield {
            "id": introduction.pk, "referral_request_id": introduction.request_id, "status": introduction.status,
            "outcome": introduction.outcome, "consented_at": introduction.consented_at,
            **{field: getattr(registrant, field) if introduced else "" for field in PROFILE_FIELDS},
            "recommendation": introduction.recommendation if introduced else "",
            "created_at": introduction.created_at,
        }


REQUEST_HISTORY_COLUMNS = ("referral_request_id", "at", "kind", "actor", "detail", "introduction_id")


def request_history_rows(company: Company) -> Iterator[Row]:
    for referral in _company_requests(company).iterator(chunk_size=CHUNK_SIZE):
        for line in request_history(referral):
            yield {"referral_request_id": referral.pk, "at": line.at, "kind": line.kind, "actor": line.actor,
                   "detail": line.detail, "introduction_id": line.introduction_id}


RELAY_TABLES = (
    Table("registrations", REGISTRATION_COLUMNS, registration_rows),
    Table("registrations_by_month", MONTH_COLUMNS, registration_month_rows),
    Table("ledger", LEDGER_COLUMNS, ledger_rows),
    Table("referral_requests", REQUEST_COLUMNS, referral_request_rows),
    Table("introductions", INTRODUCTION_COLUMNS, introduction_rows),
    Table("referral_request_history", REQUEST_HISTORY_COLUMNS, request_history_rows),
)
