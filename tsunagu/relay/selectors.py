from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from tsunagu.companies.models import Company
from tsunagu.messaging.models import EventKind, Message
from tsunagu.messaging.selectors import TimelineEvent
from tsunagu.messaging.tracking.links import referral_path
from tsunagu.messaging.tracking.rules import machine_reason, reason_label
from tsunagu.relay.models import (
    Click,
    Contract,
    CreditStatus,
    Introduction,
    LedgerEntry,
    LedgerKind,
    ReferralRequest,
    Registrant,
    RegistrantStatus,
    Registration,
    RequestStatus,
)
from tsunagu.talent.models import Application
from tsunagu.talent.normalize import email_key, kana_key, name_key, phone_e164


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


# --- the operator's desk ------------------------------------------------------------------------------

def search_registrants(q: str = "", *, status: str = "", company: Company | None = None,
                       registered_from: date | None = None, registered_to: date | None = None):
    """The operator's registrants, newest first: `q` finds a name with or without the space between family
    and given name (and in half- or full-width), a reading in katakana or hiragana, part of an e-mail address,
    or a phone number; `company` keeps those who came through that company's link; the dates are days in the
    site's time zone, both included."""
    registrants = Registrant.objects.select_related("first_company")
    q = (q or "").strip()
    if q:
        # The address as written, and its key (which may fold a +tag or Gmail's dots: relay.fraud.person_key).
        match = Q(email__icontains=q) | Q(email_key__contains=email_key(q))
        if name_key(q):
            match |= Q(name_key__contains=name_key(q))
        if kana_key(q):
            match |= Q(kana_key__contains=kana_key(q))
        if phone_e164(q):
            match |= Q(phone_e164=phone_e164(q))
        registrants = registrants.filter(match)
    if status:
        registrants = registrants.filter(status=status)
    if company is not None:
        registrants = registrants.filter(pk__in=Registration.objects.filter(company=company).values("registrant_id"))
    if registered_from is not None:
        registrants = registrants.filter(created_at__date__gte=registered_from)
    if registered_to is not None:
        registrants = registrants.filter(created_at__date__lte=registered_to)
    return registrants.order_by("-created_at", "-pk")


def registrations_by_credit_status(status: str, *, company: Company | None = None):
    """Registrations in one credit status across every company, for the operator's review (held: the oldest
    first, as a queue; the others newest first)."""
    registrations = (Registration.objects.filter(credit_status=status)
                     .select_related("company", "registrant", "reviewed_by"))
    if company is not None:
        registrations = registrations.filter(company=company)
    if status == CreditStatus.HELD:
        return registrations.order_by("created_at", "pk")
    return registrations.order_by("-created_at", "-pk")


# --- referral requests and introductions (紹介依頼と推薦) ------------------------------------------------

def proposal_refusals(request: ReferralRequest, registrants) -> dict[int, str]:
    """Why each registrant cannot be proposed for the request (by registrant id; those missing can be): the
    request is no longer open, the person paused or withdrew, is already proposed for it, or once applied to
    (or registered through a link of) the company, unless they said they are open to former companies."""
    registrants = list(registrants)
    ids = [registrant.pk for registrant in registrants]
    company = request.company
    proposed = set(Introduction.objects.filter(request=request, registrant_id__in=ids)
                   .values_list("registrant_id", flat=True))
    through_link = set(Registration.objects.filter(company=company, registrant_id__in=ids)
                       .values_list("registrant_id", flat=True))
    email_keys = {registrant.email_key for registrant in registrants}
    phones = {registrant.phone_e164 for registrant in registrants if registrant.phone_e164}
    applied = Application.objects.filter(company=company).filter(
        Q(candidate__email_key__in=email_keys) | Q(candidate__phone_e164__in=phones))
    applied_emails, applied_phones = set(), set()
    for email, phone in applied.values_list("candidate__email_key", "candidate__phone_e164"):
        applied_emails.add(email)
        applied_phones.add(phone)
    refusals = {}
    for registrant in registrants:
        former = (registrant.pk in through_link or registrant.email_key in applied_emails
                  or (registrant.phone_e164 and registrant.phone_e164 in applied_phones))
        if request.status != RequestStatus.OPEN:
            refusals[registrant.pk] = _("この紹介依頼は終了しているため、推薦できません。")
        elif registrant.status in (RegistrantStatus.WITHDRAWN, RegistrantStatus.PAUSED):
            refusals[registrant.pk] = _("%(status)sの登録者は推薦できません。") % {
                "status": registrant.get_status_display()}
        elif registrant.pk in proposed:
            refusals[registrant.pk] = _("この登録者は既にこの依頼に推薦されています。")
        elif former and not registrant.open_to_former_companies:
            refusals[registrant.pk] = _(
                "この登録者は%(company)sに応募したことがあるため推薦できません"
                "(ご本人が過去の応募先への紹介を希望した場合を除きます)。") % {"company": company.name}
    return refusals


def proposal_refusal(request: ReferralRequest, registrant: Registrant) -> str | None:
    return proposal_refusals(request, [registrant]).get(registrant.pk)


def request_slot_state(request: ReferralRequest) -> str:
    """What became of the slot the request reserved: reserved, used (by a hire), released, or none."""
    kinds = set(LedgerEntry.objects.filter(company_id=request.company_id, request=request)
                .values_list("kind", flat=True))
    if LedgerKind.SLOT_REDEEMED in kinds:
        return "used"
    if LedgerKind.SLOT_RELEASED in kinds:
        return "released"
    return "reserved" if LedgerKind.SLOT_RESERVED in kinds else "none"


SLOT_STATE_LABELS = {"reserved": _lazy("確保中"), "used": _lazy("採用で利用済み"), "released": _lazy("返却済み"),
                     "none": _lazy("なし")}

# The history of a request as a company reads it (RequestEvent.kind).
EVENT_LABELS = {
    "filed": _lazy("依頼"), "proposed": _lazy("候補者の選定"), "consent_requested": _lazy("ご本人へ同意の確認"),
    "consented": _lazy("推薦(ご本人が同意)"), "declined": _lazy("ご本人が辞退"), "withdrawn": _lazy("推薦の取り下げ"),
    "outcome": _lazy("選考結果"), "slot_used": _lazy("無料紹介枠の利用"), "filled": _lazy("採用決定"),
    "closed": _lazy("終了"),
}


@dataclass(frozen=True)
class HistoryLine:
    at: object
    kind: str
    label: str
    actor: str
    detail: str
    introduction_id: int | None


def request_history(request: ReferralRequest) -> list[HistoryLine]:
    """The request's history for the company (its console page and the API): the operator's staff appear as the
    operator, never by person; the details never name a registrant."""
    operator = Company.objects.filter(is_operator=True).only("name").first()
    operator_name = operator.name if operator else settings.TSUNAGU_RELAY["operator_name"]
    named = {"operator": operator_name, "registrant": str(_lazy("ご本人")), "system": "Tsunagu", "api": "API"}
    return [
        HistoryLine(at=event.created_at, kind=event.kind, label=str(EVENT_LABELS.get(event.kind, event.kind)),
                    actor=named.get(event.actor_label) or (event.actor.email if event.actor_id else "—"),
                    detail=event.detail, introduction_id=event.introduction_id)
        for event in request.events.select_related("actor").order_by("created_at", "pk")
    ]
