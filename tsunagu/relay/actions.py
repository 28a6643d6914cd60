"""Every change in the relay: clicks, registrations, and the ledger of credits and slots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tsunagu.companies.models import Company
from tsunagu.lib import tokens
from tsunagu.messaging.actions.notices import plan_verification_mail
from tsunagu.messaging.compose import VERIFICATION_DAYS
from tsunagu.messaging.models import Message, MessageKind
from tsunagu.relay.consent import CONSENT_VERSION
from tsunagu.relay.models import Click, LedgerEntry, LedgerKind, Registration, RegistrationRequest
from tsunagu.relay.selectors import ledger_summary
from tsunagu.talent.normalize import clean_text

# A referral link can start at most this many registrations a day (stops a link being used to mail-bomb).
MAX_REQUESTS_PER_LINK_PER_DAY = 5
REFERRAL_KINDS = (MessageKind.REJECTION, MessageKind.FOLLOW_UP, MessageKind.INVITATION)


def message_for_referral(token: str) -> Message | None:
    message_id = tokens.message_id_from_referral(token)
    if message_id is None:
        return None
    return (
        Message.objects.select_related("company", "application__candidate", "application__job")
        # Every mail about a rejected application carries the personal link: the notice and its follow-ups.
        .filter(pk=message_id, kind__in=REFERRAL_KINDS, application__isnull=False)
        .first()
    )


def record_click(message: Message, *, user_agent: str = "") -> Click:
    return Click.objects.create(company_id=message.company_id, message=message, user_agent=user_agent[:300])


@dataclass(frozen=True)
class RegistrationForm:
    name: str
    email: str
    desired_job: str = ""
    desired_region: str = ""
    consent_purpose: bool = False
    consent_provision: bool = False


@transaction.atomic
def request_registration(message: Message, form: RegistrationForm) -> RegistrationRequest:
    """Keep the form and send the verification mail; nothing counts until the address is verified."""
    from email_validator import EmailNotValidError, validate_email

    errors = {}
    name = clean_text(form.name)
    if not name:
        errors["name"] = _("氏名を入力してください。")
    try:
        email = validate_email(form.email.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        errors["email"] = _("メールアドレスの形式が正しくありません。")
        email = ""
    if not form.consent_purpose:
        errors["consent_purpose"] = _("個人情報の利用目的への同意が必要です。")
    if not form.consent_provision:
        errors["consent_provision"] = _("提携企業への情報提供への同意が必要です。")
    if errors:
        raise ValidationError(errors)
    since = timezone.now() - timedelta(days=1)
    if RegistrationRequest.objects.filter(message=message, created_at__gte=since).count() >= MAX_REQUESTS_PER_LINK_PER_DAY:
        raise ValidationError(_("お申し込みが多すぎます。しばらくしてからもう一度お試しください。"))
    request = RegistrationRequest.objects.create(
        company_id=message.company_id,
        message=message,
        candidate=message.application.candidate,
        name=name,
        email=email,
        desired_job=clean_text(form.desired_job)[:200],
        desired_region=clean_text(form.desired_region)[:100],
        consent_version=CONSENT_VERSION,
        consented_at=timezone.now(),
    )
    plan_verification_mail(
        message.company,
        key=f"{MessageKind.VERIFICATION}:{request.pk}",
        to_email=email,
        to_name=name,
        verify_token=tokens.verify_token(request.pk),
    )
    return request


class InvalidVerification(Exception):
    pass


class ExpiredVerification(Exception):
    pass


def request_for_verification(token: str) -> RegistrationRequest:
    try:
        request_id = tokens.request_id_from_verify(token, max_age_days=VERIFICATION_DAYS)
    except tokens.ExpiredToken as exc:
        raise ExpiredVerification from exc
    request = (
        RegistrationRequest.objects.select_related("company").filter(pk=request_id).first() if request_id else None
    )
    if request is None:
        raise InvalidVerification
    return request


@dataclass
class VerificationResult:
    registration: Registration
    credited: bool


def verify_registration(token: str) -> VerificationResult:
    """Double opt-in complete: one Registration and one credit per distinct candidate, exactly."""
    request = request_for_verification(token)
    with transaction.atomic():
        # Serialise ledger writes per company (a row lock on PostgreSQL; SQLite's IMMEDIATE transactions
        # already serialise writers). The unique numbers on LedgerEntry back this up.
        company = Company.objects.select_for_update().get(pk=request.company_id)
        request = RegistrationRequest.objects.select_for_update().get(pk=request.pk)
        existing = Registration.objects.filter(company=company, candidate_id=request.candidate_id).first()
        if existing is not None:
            if request.verified_at is None:
                request.verified_at = timezone.now()
                request.save(update_fields=["verified_at"])
            return VerificationResult(existing, credited=False)
        request.verified_at = timezone.now()
        request.save(update_fields=["verified_at"])
        registration = Registration.objects.create(
            company=company, candidate_id=request.candidate_id, request=request, **request.details()
        )
        _credit(company, registration)
    return VerificationResult(registration, credited=True)


def _next_number(company: Company, kind: str) -> tuple[int, LedgerEntry | None]:
    last = LedgerEntry.objects.filter(company=company, kind=kind).order_by("-number").first()
    return (last.number + 1 if last else 1), last


def _credit(company: Company, registration: Registration) -> None:
    """Append a credit; every `referral_ratio`-th credit since the last slot also appends a slot."""
    number, last = _next_number(company, LedgerKind.CREDIT)
    progress = (last.progress_after if last else 0) + 1
    earned = progress >= company.referral_ratio
    LedgerEntry.objects.create(
        company=company, kind=LedgerKind.CREDIT, number=number, registration=registration,
        progress_after=0 if earned else progress,
    )
    if earned:
        slot_number, _last = _next_number(company, LedgerKind.SLOT_EARNED)
        LedgerEntry.objects.create(
            company=company, kind=LedgerKind.SLOT_EARNED, number=slot_number, registration=registration,
            note=_("登録%(count)d件で無料紹介枠を1つ獲得") % {"count": progress},
        )


@transaction.atomic
def redeem_slot(company: Company, *, user=None, note: str = "") -> LedgerEntry:
    """The relay operator records that a free referral slot was used."""
    company = Company.objects.select_for_update().get(pk=company.pk)
    if ledger_summary(company).slots_available < 1:
        raise ValidationError(_("利用できる無料紹介枠がありません。"))
    number, _last = _next_number(company, LedgerKind.SLOT_REDEEMED)
    return LedgerEntry.objects.create(
        company=company, kind=LedgerKind.SLOT_REDEEMED, number=number, note=clean_text(note)[:300], created_by=user
    )
