"""What the relay was worth in a period, in yen, with the assumptions said (read only).

- Cost saved: free referral slots used in the period × the contract's referral fee (what a hire through the
  relay would have cost without the slot). Projected: slots earned in the period × the same fee, were they
  all used.
- 採用単価: HR's hiring cost for the months of the period over its hires (as HR entered them), and the same
  without the relay: the fees the used slots saved added back to the cost.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Sum

from tsunagu.analytics.models import HiringCost
from tsunagu.analytics.periods import Period
from tsunagu.analytics.report import Summary
from tsunagu.companies.models import Company
from tsunagu.relay.selectors import contract_terms


@dataclass(frozen=True)
class Money:
    fee_yen: int
    slots_earned: int
    slots_reserved: int
    slots_used: int
    months: int  # calendar months the period touches
    months_entered: int  # of those, the months HR entered costs for
    cost_yen: int | None
    hires: int | None

    @property
    def saved_yen(self) -> int:
        return self.slots_used * self.fee_yen

    @property
    def projected_yen(self) -> int:
        return self.slots_earned * self.fee_yen

    @property
    def complete(self) -> bool:
        """Costs are known for every month of the period."""
        return self.months_entered == self.months and self.months > 0

    @property
    def cost_per_hire(self) -> float | None:
        if not self.complete or not self.hires:
            return None
        return self.cost_yen / self.hires

    @property
    def cost_per_hire_without_relay(self) -> float | None:
        if not self.complete or not self.hires:
            return None
        return (self.cost_yen + self.saved_yen) / self.hires


def money(company: Company, period: Period, summary: Summary) -> Money:
    _ratio, fee_yen = contract_terms(company)
    months = period.months()
    entered = HiringCost.objects.filter(company=company, month__in=months)
    sums = entered.aggregate(cost=Sum("cost_yen"), hires=Sum("hires"))
    return Money(
        fee_yen=fee_yen,
        slots_earned=summary.slots_earned_net,
        slots_reserved=summary.slots_reserved,
        slots_used=summary.slots_used,
        months=len(months),
        months_entered=entered.count(),
        cost_yen=sums["cost"],
        hires=sums["hires"],
    )
