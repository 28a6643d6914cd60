from dataclasses import dataclass

from django.db.models import Count, Q

from tsunagu.companies.models import Company
from tsunagu.messaging.models import Message, MessageKind, MessageStatus
from tsunagu.relay.models import Click, Registration
from tsunagu.relay.selectors import LedgerSummary, ledger_summary
from tsunagu.talent.models import Application, ApplicationStatus


@dataclass(frozen=True)
class LoopCounts:
    rejections: int
    scheduled: int
    sent: int
    failed: int
    cancelled: int
    clicks: int
    clicked_candidates: int
    registrations: int
    ledger: LedgerSummary

    @property
    def click_rate(self) -> float | None:
        return self.clicked_candidates / self.sent if self.sent else None

    @property
    def registration_rate(self) -> float | None:
        return self.registrations / self.sent if self.sent else None


def loop_counts(company: Company) -> LoopCounts:
    notices = Message.objects.filter(company=company, kind=MessageKind.REJECTION).aggregate(
        scheduled=Count("pk", filter=Q(status__in=[MessageStatus.SCHEDULED, MessageStatus.SENDING])),
        sent=Count("pk", filter=Q(status=MessageStatus.SENT)),
        failed=Count("pk", filter=Q(status=MessageStatus.FAILED)),
        cancelled=Count("pk", filter=Q(status=MessageStatus.CANCELLED)),
    )
    clicks = Click.objects.filter(company=company).aggregate(
        clicks=Count("pk"), candidates=Count("message", distinct=True)
    )
    return LoopCounts(
        rejections=Application.objects.filter(company=company, status=ApplicationStatus.REJECTED).count(),
        scheduled=notices["scheduled"],
        sent=notices["sent"],
        failed=notices["failed"],
        cancelled=notices["cancelled"],
        clicks=clicks["clicks"],
        clicked_candidates=clicks["candidates"],
        registrations=Registration.objects.filter(company=company).count(),
        ledger=ledger_summary(company),
    )
