from dataclasses import dataclass

from django.db.models import Count, Q

from tsunagu.companies.models import Company
from tsunagu.relay.models import LedgerEntry, LedgerKind


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
