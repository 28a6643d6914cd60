"""Helpers of the campaign tests: past candidates as an ATS would send them (through intake, so every derived
field is what production writes), and a campaign planned and delivered."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tsunagu.intake.actions.events import record_application_event
from tsunagu.intake.events import IncomingApplicationEvent
from tsunagu.messaging.actions import campaigns as campaign_actions
from tsunagu.messaging.campaigns import Audience
from tsunagu.messaging.models import Campaign, MessageKind
from tsunagu.talent.data import CandidateData, JobData
from tsunagu.talent.models import Application


def past(company, number: int, *, status: str = "rejected", days_ago: int = 200, email: str | None = None,
         name: str | None = None, category: str = "エンジニア", title: str = "バックエンドエンジニア",
         external_id: str | None = None) -> Application:
    """An application of the person `number` (their e-mail p<number>@example.jp) decided `days_ago` days ago,
    recorded as history (no rejection notice planned)."""
    at = timezone.now() - timedelta(days=days_ago)
    result = record_application_event(company, IncomingApplicationEvent(
        external_id=external_id or f"A-{number}-{days_ago}", status=status, occurred_at=at,
        applied_at=at - timedelta(days=20),
        candidate=CandidateData(name=name or f"候補者{number}", email=email or f"p{number}@example.jp"),
        job=JobData(title=title, category=category), notify=False))
    return result.application


def applies_again(company, number: int, *, status: str = "active", title: str = "データエンジニア",
                  external_id: str | None = None) -> Application:
    """The person `number` applies today (a new application, as the ATS sends it)."""
    now = timezone.now()
    result = record_application_event(company, IncomingApplicationEvent(
        external_id=external_id or f"NEW-{number}-{status}", status=status, occurred_at=now, applied_at=now,
        candidate=CandidateData(name=f"候補者{number}", email=f"p{number}@example.jp"),
        job=JobData(title=title, category="エンジニア"), notify=False))
    return result.application


def campaign_for(company, candidates, *, kind=MessageKind.INVITATION, job=None, per_hour=200, send_at=None,
                 name="再応募のご案内") -> Campaign:
    return campaign_actions.create_campaign(
        company, name=name, kind=kind, job=job, per_hour=per_hour, send_at=send_at,
        audience=Audience(candidate_ids=tuple(sorted(c.pk for c in candidates))))
