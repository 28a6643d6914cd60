"""Reads used by more than one caller: whose data a mail's link is about, and the requests staff must answer."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.db.models import Case, QuerySet, Value, When
from django.utils import timezone

from tsunagu.companies.models import Company
from tsunagu.messaging.models import Message
from tsunagu.privacy.models import PrivacyRequest, RequestStatus
from tsunagu.relay.models import Registrant
from tsunagu.talent.models import Candidate
from tsunagu.talent.normalize import email_key

MAIL_INTERVAL = timedelta(hours=1)


def candidate_of_message(message: Message) -> Candidate | None:
    """The company's candidate a mail went to (by its application, or else by its address)."""
    if message.application_id is not None:
        return Candidate.objects.select_related("company").get(pk=message.application.candidate_id)
    if not message.to_email:
        return None
    return Candidate.objects.select_related("company").filter(company=message.company,
                                                             email_key=email_key(message.to_email)).first()


def retention_days_for(company: Company, candidate: Candidate) -> int:
    """The company's retention period for this person: the shorter one if they never agreed to stay."""
    if candidate.consented_at:
        return company.retention_days
    return company.retention_days_without_consent or company.retention_days


def recently_asked(company: Company, kind: str, *, candidate: Candidate | None,
                   registrant: Registrant | None) -> bool:
    """Whether the person was sent a link for this kind of request in the last hour (one mail an hour at most,
    however often the button is pressed)."""
    return PrivacyRequest.objects.filter(
        company=company, candidate=candidate, registrant=registrant, kind=kind, channel="web",
        created_at__gte=timezone.now() - MAIL_INTERVAL,
    ).exclude(status=RequestStatus.CANCELLED).exists()


def requests_of(company: Company) -> QuerySet[PrivacyRequest]:
    """The company's requests, open ones first by due date."""
    rank = Case(When(status=RequestStatus.OPEN, then=Value(0)),
                When(status=RequestStatus.AWAITING_CONFIRMATION, then=Value(1)), default=Value(2))
    return (PrivacyRequest.objects.filter(company=company).select_related("candidate", "registrant")
            .order_by(rank, "due_on", "-pk"))


def overdue_count(company: Company) -> int:
    today = timezone.localtime(timezone.now(), ZoneInfo(company.time_zone)).date()
    return PrivacyRequest.objects.filter(company=company, status=RequestStatus.OPEN, due_on__lt=today).count()
