"""The dashboard's figures. Every query is scoped by company.

Clicks count people: a person is an address with at least one click that is not flagged as a machine
(mail scanners, link previews, HEAD requests, clicks within seconds of sending; see messaging/tracking/rules.py),
whether on a tracked link (MessageEvent) or on the referral link /r/ (relay Click, classified here with the
same rules). Opens are counted separately and only as an unreliable figure.
"""

from dataclasses import dataclass

from django.db.models import Count, Q
from django.db.models.functions import Lower

from tsunagu.companies.models import Company
from tsunagu.messaging.models import EventKind, Message, MessageEvent, MessageKind, MessageStatus
from tsunagu.messaging.tracking.rules import human_referral_clicks
from tsunagu.relay.models import Click, Registration, RegistrationRequest
from tsunagu.relay.selectors import LedgerSummary, ledger_summary
from tsunagu.talent.models import Application, ApplicationStatus


@dataclass(frozen=True)
class LoopCounts:
    rejections: int
    scheduled: int
    sent: int
    failed: int  # mail of any kind
    cancelled: int
    clicks: int  # clicks by people (tracked links and the referral link), not flagged
    clicked_candidates: int  # addresses with at least one such click on any of their mails: the people
    machine_clicks: int  # recorded, flagged as machine, not counted above
    registrations: int
    ledger: LedgerSummary
    opens: int = 0  # every pixel load, flagged or not: unreliable (Apple MPP, image proxies)
    opened_messages: int = 0
    machine_opens: int = 0  # loads by known proxies / prefetchers, HEAD, or right after sending

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
        cancelled=Count("pk", filter=Q(status=MessageStatus.CANCELLED)),
    )
    events = MessageEvent.objects.filter(company=company, kind__in=[EventKind.CLICKED, EventKind.OPENED]).aggregate(
        clicks=Count("pk", filter=Q(kind=EventKind.CLICKED, machine=False)),
        machine_clicks=Count("pk", filter=Q(kind=EventKind.CLICKED, machine=True)),
        opens=Count("pk", filter=Q(kind=EventKind.OPENED)),
        opened=Count("message", filter=Q(kind=EventKind.OPENED), distinct=True),
        machine_opens=Count("pk", filter=Q(kind=EventKind.OPENED, machine=True)),
    )
    human_relay = human_referral_clicks(Click.objects.filter(company=company))
    relay_total = Click.objects.filter(company=company).count()
    relay_human = human_relay.count()
    tracked_clickers = MessageEvent.objects.filter(company=company, kind=EventKind.CLICKED, machine=False)
    clicked_candidates = (
        Message.objects.filter(company=company)
        .filter(Q(pk__in=tracked_clickers.values("message_id")) | Q(pk__in=human_relay.values("message_id"))
                # Whoever filled in the registration form opened the link, even if their click looked
                # automated (e.g. tapped within seconds of the mail arriving).
                | Q(pk__in=RegistrationRequest.objects.filter(company=company).values("message_id")))
        .values(address=Lower("to_email")).distinct().count()
    )
    return LoopCounts(
        rejections=Application.objects.filter(company=company, status=ApplicationStatus.REJECTED).count(),
        scheduled=notices["scheduled"],
        sent=notices["sent"],
        # Any kind: the card is where HR notices that mail (a follow-up too) did not go out.
        failed=Message.objects.filter(company=company, status=MessageStatus.FAILED).count(),
        cancelled=notices["cancelled"],
        clicks=events["clicks"] + relay_human,
        clicked_candidates=clicked_candidates,
        machine_clicks=events["machine_clicks"] + relay_total - relay_human,
        registrations=Registration.objects.filter(company=company).count(),
        ledger=ledger_summary(company),
        opens=events["opens"],
        opened_messages=events["opened"],
        machine_opens=events["machine_opens"],
    )
