from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Q

from tsunagu.companies.models import Company
from tsunagu.messaging.models import EventKind, Message
from tsunagu.messaging.selectors import TimelineEvent
from tsunagu.messaging.tracking.links import referral_path
from tsunagu.messaging.tracking.rules import machine_reason, reason_label
from tsunagu.relay.models import Click, LedgerEntry, LedgerKind


@dataclass(frozen=True)
class LedgerSummary:
    credits: int
    slots_earned: int
    slots_redeemed: int
    slots_available: int
    ratio: int
    progress: int

    @property
    def credits_to_next_slot(self) -> int:
        return self.ratio - self.progress


def ledger_summary(company: Company) -> LedgerSummary:
    counts = LedgerEntry.objects.filter(company=company).aggregate(
        credits=Count("pk", filter=Q(kind=LedgerKind.CREDIT)),
        earned=Count("pk", filter=Q(kind=LedgerKind.SLOT_EARNED)),
        redeemed=Count("pk", filter=Q(kind=LedgerKind.SLOT_REDEEMED)),
    )
    last_credit = LedgerEntry.objects.filter(company=company, kind=LedgerKind.CREDIT).order_by("-number").first()
    return LedgerSummary(
        credits=counts["credits"],
        slots_earned=counts["earned"],
        slots_redeemed=counts["redeemed"],
        slots_available=counts["earned"] - counts["redeemed"],
        ratio=company.referral_ratio,
        progress=last_credit.progress_after if last_credit else 0,
    )


def referral_clicks_timeline(message: Message) -> list[TimelineEvent]:
    """The clicks on a message's referral link, for its timeline in the outbox (registered in
    messaging.selectors.TIMELINE_SOURCES by RelayConfig.ready). The landing page records its own Click (no
    flags stored): each is classified with tracking's rules, like the tracked links' events."""
    landing = settings.BASE_URL + referral_path(message.pk)
    events = []
    for click in Click.objects.filter(company_id=message.company_id, message=message).order_by("created_at", "pk"):
        since = (click.created_at - message.sent_at).total_seconds() if message.sent_at else None
        reason = machine_reason(EventKind.CLICKED, method="GET", user_agent=click.user_agent,
                                seconds_since_sent=since)
        events.append(TimelineEvent(
            occurred_at=click.created_at, kind=EventKind.CLICKED, kind_label=EventKind.CLICKED.label,
            source="relay", url=landing, user_agent=click.user_agent, machine=bool(reason), machine_reason=reason,
            reason_label=reason_label(reason),
        ))
    return events
