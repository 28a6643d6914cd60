from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Q

from tsunagu.companies.models import Company
from tsunagu.messaging.models import EventKind, Message
from tsunagu.messaging.selectors import TimelineEvent
from tsunagu.messaging.tracking.links import referral_path
from tsunagu.messaging.tracking.rules import machine_reason, reason_label
from tsunagu.relay.models import Click, Contract, CreditStatus, LedgerEntry, LedgerKind, Registration


@dataclass(frozen=True)
class LedgerSummary:
    credits: int  # granted, less those reversed
    credits_held: int  # registrations waiting for the operator's review
    slots_earned: int  # earned, less those revoked
    slots_reserved: int  # held by open referral requests
    slots_redeemed: int  # used by hires
    slots_available: int
    ratio: int
    progress: int  # credits toward the next slot
    fee_yen: int

    @property
    def credits_to_next_slot(self) -> int:
        return max(self.ratio - self.progress, 1)


def contract_terms(company: Company) -> tuple[int, int]:
    """(ratio, fee in yen) of the company's contract; the defaults while it has none."""
    contract = Contract.objects.filter(company=company).first()
    return (contract.ratio, contract.fee_yen) if contract else (Contract.ratio.field.default, 0)


def progress_toward_slot(company: Company) -> int:
    """Credits counted toward the next slot: kept on the latest credit or reversal (relay.actions.ledger)."""
    last = (LedgerEntry.objects.filter(company=company, kind__in=[LedgerKind.CREDIT, LedgerKind.CREDIT_REVERSED])
            .order_by("-created_at", "-pk").first())
    return last.progress_after if last else 0


def ledger_summary(company: Company) -> LedgerSummary:
    counts = LedgerEntry.objects.filter(company=company).aggregate(**{
        kind: Count("pk", filter=Q(kind=kind)) for kind in LedgerKind.values
    }, redeemed_from_requests=Count("pk", filter=Q(kind=LedgerKind.SLOT_REDEEMED, request__isnull=False)))
    earned = counts[LedgerKind.SLOT_EARNED] - counts[LedgerKind.SLOT_REVOKED]
    reserved = (counts[LedgerKind.SLOT_RESERVED] - counts[LedgerKind.SLOT_RELEASED]
                - counts["redeemed_from_requests"])
    redeemed = counts[LedgerKind.SLOT_REDEEMED]
    ratio, fee_yen = contract_terms(company)
    return LedgerSummary(
        credits=counts[LedgerKind.CREDIT] - counts[LedgerKind.CREDIT_REVERSED],
        credits_held=Registration.objects.filter(company=company, credit_status=CreditStatus.HELD).count(),
        slots_earned=earned,
        slots_reserved=reserved,
        slots_redeemed=redeemed,
        slots_available=earned - reserved - redeemed,
        ratio=ratio,
        progress=progress_toward_slot(company),
        fee_yen=fee_yen,
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
