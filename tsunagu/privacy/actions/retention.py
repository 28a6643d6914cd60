"""Retention enforced: a person's data is erased when the period the company (or the relay operator) set has
run out since their latest activity or consent. HR sees what will go in the next 30 days and may ask those
people to stay (privacy.actions.consent); `purge` erases what is past its deadline, in bounded batches, so the
scheduler's hourly run and `tsunagu privacy purge` never hold a long transaction.

A candidate's deadline: the latest of when they were first recorded, last applied, last rejected and last
agreed to stay, plus `Company.retention_days` (or `retention_days_without_consent` for people who never
agreed). A registrant's: their record's last change plus the operator's `retention_days`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import DateTimeField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from tsunagu.companies.models import Company
from tsunagu.privacy.actions.erasure import erase_candidate, erase_registrant
from tsunagu.privacy.models import ErasureReason
from tsunagu.privacy.selectors import retention_days_for
from tsunagu.relay.models import Registrant
from tsunagu.talent.models import Candidate

PREVIEW_DAYS = 30
BATCH = 200  # people erased per company per run: each erasure is its own short transaction
SYSTEM_ACTOR = "system (retention)"
SCHEDULER_BUDGET_SECONDS = 20


def _latest_activity():
    # Greatest() is NULL on SQLite as soon as one argument is: each falls back to the creation time.
    return Greatest(F("created_at"), Coalesce("last_applied_at", "created_at"),
                    Coalesce("last_rejected_at", "created_at"), Coalesce("consented_at", "created_at"))


def candidates_due(company: Company, by: datetime) -> QuerySet[Candidate]:
    """The company's live candidates whose retention ends before `by`, annotated with `deadline`-ready
    `latest_activity`, earliest first."""
    consented_days = company.retention_days
    other_days = company.retention_days_without_consent or company.retention_days
    return (Candidate.objects.filter(company=company, erased_at__isnull=True)
            .annotate(latest_activity=ExpressionWrapper(_latest_activity(), output_field=DateTimeField()))
            .filter(Q(consented_at__isnull=False, latest_activity__lt=by - timedelta(days=consented_days))
                    | Q(consented_at__isnull=True, latest_activity__lt=by - timedelta(days=other_days)))
            .order_by("latest_activity", "pk"))


def deadline_of(company: Company, candidate: Candidate) -> datetime:
    """A candidate of candidates_due (annotated with latest_activity): when their retention ends."""
    return candidate.latest_activity + timedelta(days=retention_days_for(company, candidate))


def registrants_due(operator: Company, by: datetime) -> QuerySet[Registrant]:
    return (Registrant.objects.exclude(email_key__startswith="erased:")
            .filter(updated_at__lt=by - timedelta(days=operator.retention_days)).order_by("updated_at", "pk"))


@dataclass
class PurgeReport:
    dry_run: bool
    # Company slug -> people erased (or, in a dry run, who would be).
    candidates: dict[str, int] = field(default_factory=dict)
    registrants: int = 0
    # Whether some were left for the next run (a batch was full).
    more: bool = False

    def as_dict(self) -> dict:
        return {"dry_run": self.dry_run, "candidates": self.candidates, "registrants": self.registrants,
                "erased": sum(self.candidates.values()) + self.registrants, "more": self.more}


def purge(*, now: datetime | None = None, dry_run: bool = False, batch: int = BATCH) -> PurgeReport:
    """Erase every person past their deadline (at most `batch` per party per call); a dry run counts them all."""
    now = now or timezone.now()
    report = PurgeReport(dry_run=dry_run)
    for company in Company.objects.filter(is_operator=False).order_by("pk"):
        due = candidates_due(company, now)
        if dry_run:
            count = due.count()
        else:
            people = list(due[:batch])
            report.more |= len(people) == batch
            for candidate in people:
                erase_candidate(candidate, reason=ErasureReason.RETENTION, actor=SYSTEM_ACTOR)
            count = len(people)
        if count:
            report.candidates[company.slug] = count
    operator = Company.objects.filter(is_operator=True).first()
    if operator is not None:
        due = registrants_due(operator, now)
        if dry_run:
            report.registrants = due.count()
        else:
            people = list(due[:batch])
            report.more |= len(people) == batch
            for registrant in people:
                erase_registrant(registrant, operator=operator, reason=ErasureReason.RETENTION, actor=SYSTEM_ACTOR)
            report.registrants = len(people)
    return report


def purge_past_retention(*, budget_seconds: float = SCHEDULER_BUDGET_SECONDS) -> None:
    """The scheduler's hourly job: erase what is past its deadline, batch after batch, for at most about
    `budget_seconds` (the scheduler's other jobs wait meanwhile); what is left waits for the next hour."""
    started = time.monotonic()
    while purge().more and time.monotonic() - started < budget_seconds:
        pass
