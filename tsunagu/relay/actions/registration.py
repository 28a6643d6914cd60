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
from tsunagu.relay.actions import ledger
from tsunagu.relay.consent import CONSENT_VERSION
from tsunagu.relay.models import Click, CreditStatus, Registrant, Registration, RegistrationRequest
from tsunagu.talent.normalize import clean_text, email_key, name_key

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
    """Double opt-in complete: one Registration per candidate and company, one Registrant per person across
    the relay, and one credit per registrant, for the company whose link brought them first."""
    request = request_for_verification(token)
    with transaction.atomic():
        # Serialise per company (a row lock on PostgreSQL; SQLite's IMMEDIATE transactions already serialise
        # writers); the registrant's unique e-mail key makes one person one registrant across companies.
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
        registrant, new_person = _registrant_for(request)
        registration = Registration.objects.create(
            company=company, candidate_id=request.candidate_id, request=request, registrant=registrant,
            credit_status=CreditStatus.CREDITED if new_person else CreditStatus.DUPLICATE, **request.details()
        )
        if new_person:
            ledger.credit(registration)
    return VerificationResult(registration, credited=new_person)


def _registrant_for(request: RegistrationRequest) -> tuple[Registrant, bool]:
    """The person behind a verified form, and whether the relay meets them for the first time."""
    registrant, created = Registrant.objects.get_or_create(email_key=email_key(request.email), defaults={
        "email": request.email, "name": request.name[:100], "name_key": name_key(request.name)[:100],
        "desired_job": request.desired_job[:100], "desired_region": request.desired_region[:50],
        "first_company_id": request.company_id,
    })
    return registrant, created
