"""What followed a re-contact campaign: its mail by status, the people who clicked, and the re-applications
and hires (how a re-application is counted and attributed: see messaging/campaigns.py). Reads only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min

from tsunagu.companies.models import Company
from tsunagu.messaging.campaigns import BENCHMARK_RATE, REAPPLY_WINDOW_DAYS, is_new_application
from tsunagu.messaging.models import Campaign, EventKind, Message, MessageEvent, MessageStatus
from tsunagu.talent.models import Application, ApplicationStatus


@dataclass
class Reapplied:
    candidate_id: int
    name: str
    job_title: str
    applied_at: datetime
    status: str
    status_label: str
    by_link: bool


@dataclass
class CampaignStats:
    by_status: dict[str, int]
    clicked: int
    reapplied: list[Reapplied]

    @property
    def planned(self) -> int:
        return sum(self.by_status.values())

    @property
    def sent(self) -> int:
        return self.by_status.get(MessageStatus.SENT, 0)

    @property
    def pending(self) -> int:
        return self.by_status.get(MessageStatus.SCHEDULED, 0) + self.by_status.get(MessageStatus.SENDING, 0)

    @property
    def stopped(self) -> int:
        return self.by_status.get(MessageStatus.CANCELLED, 0)

    @property
    def suppressed(self) -> int:
        return self.by_status.get(MessageStatus.SUPPRESSED, 0)

    @property
    def failed(self) -> int:
        return self.by_status.get(MessageStatus.FAILED, 0)

    @property
    def reapplied_count(self) -> int:
        return len(self.reapplied)

    @property
    def by_link(self) -> int:
        return sum(row.by_link for row in self.reapplied)

    @property
    def by_window(self) -> int:
        return self.reapplied_count - self.by_link

    @property
    def hires(self) -> int:
        return sum(row.status == ApplicationStatus.HIRED for row in self.reapplied)

    @property
    def rate(self) -> float | None:
        """Re-applications per person mailed (None before anything was sent)."""
        return self.reapplied_count / self.sent if self.sent else None

    @property
    def rate_percent(self) -> str:
        return "—" if self.rate is None else f"{self.rate * 100:.1f}%"

    benchmark_percent = f"{BENCHMARK_RATE * 100:.0f}%"


def counts_by_campaign(company: Company, campaign_ids) -> dict[int, dict[str, int]]:
    """Each campaign's messages by status (the list page), in one query."""
    counts: dict[int, dict[str, int]] = {}
    for row in (Message.objects.filter(company=company, campaign_id__in=list(campaign_ids))
                .values("campaign_id", "status").annotate(n=Count("pk")).order_by()):
        counts.setdefault(row["campaign_id"], {})[row["status"]] = row["n"]
    return counts


def campaign_stats(campaign: Campaign) -> CampaignStats:
    """Planned and sent, the people who clicked, and the re-applications and hires that followed (see the
    module's text for how a re-application is counted and attributed)."""
    by_status = counts_by_campaign(campaign.company, [campaign.pk]).get(campaign.pk, {})
    messages = Message.objects.filter(company=campaign.company, campaign=campaign)
    first_click = dict(
        MessageEvent.objects.filter(company=campaign.company, message__in=messages, kind=EventKind.CLICKED,
                                    machine=False)
        .values("message__application__candidate_id").annotate(first=Min("occurred_at")).order_by()
        .values_list("message__application__candidate_id", "first"))
    sent_at = dict(messages.filter(status=MessageStatus.SENT).values_list("application__candidate_id", "sent_at"))
    return CampaignStats(by_status=by_status, clicked=len(first_click),
                         reapplied=_reapplications(campaign, sent_at, first_click))


def _reapplications(campaign: Campaign, sent_at: dict[int, datetime],
                    first_click: dict[int, datetime]) -> list[Reapplied]:
    if not sent_at:
        return []
    window = timedelta(days=REAPPLY_WINDOW_DAYS)
    mailed = Message.objects.filter(company=campaign.company, campaign=campaign, status=MessageStatus.SENT)
    rows = (Application.objects.filter(company=campaign.company,
                                       candidate_id__in=mailed.values("application__candidate_id"),
                                       created_at__gt=min(sent_at.values()))
            .order_by("created_at", "pk")
            .values("candidate_id", "candidate__name", "job__title", "created_at", "applied_at", "status"))
    found: dict[int, Reapplied] = {}
    labels = dict(ApplicationStatus.choices)
    for row in rows:
        candidate_id = row["candidate_id"]
        mailed_at = sent_at.get(candidate_id)
        if candidate_id in found or mailed_at is None or not is_new_application(row, mailed_at):
            continue
        if row["created_at"] > mailed_at + window:
            continue
        clicked = first_click.get(candidate_id)
        found[candidate_id] = Reapplied(
            candidate_id=candidate_id, name=row["candidate__name"], job_title=row["job__title"],
            applied_at=row["applied_at"] or row["created_at"], status=row["status"],
            status_label=str(labels.get(row["status"], row["status"])),
            by_link=clicked is not None and clicked <= row["created_at"])
    return list(found.values())
