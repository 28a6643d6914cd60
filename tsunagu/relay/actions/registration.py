"""The candidate's path through the relay: the personal link, the registration form, the double opt-in, and
what a verified registration earns.

A link earns only if it is real: it works (page, click, form) only while its notice was delivered (sent, and
no bounce reported) and the company's retention period since sending has not passed (link_state). The form
is rate-limited per network and per link (RateLimited, before anything is stored), and checked field by field
(bad input stores nothing). The verification mail is the relay operator's (operator_party()), never a
message of the company. On verification: one Registrant per person across the relay (fraud.person_key), one
Registration per candidate and company, and a credit only for a person the relay meets for the first time,
at once when no fraud signal fires (relay.fraud), else held for the operator's review.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tsunagu.companies.actions import operator_party
from tsunagu.companies.models import Company
from tsunagu.lib import tokens
from tsunagu.messaging.actions.notices import plan_verification_mail
from tsunagu.messaging.compose import VERIFICATION_DAYS
from tsunagu.messaging.models import Message, MessageKind, MessageStatus
from tsunagu.relay import fraud
from tsunagu.relay.actions import ledger
from tsunagu.relay.consent import CONSENT_VERSION, PURPOSES, consent_texts, text_hash, texts_digest
from tsunagu.relay.models import (
    Click,
    ConsentKind,
    ConsentRecord,
    CreditStatus,
    Registrant,
    Registration,
    RegistrationRequest,
)
from tsunagu.talent.normalize import clean_text, email_key, name_key, nfkc, phone_e164

REFERRAL_KINDS = (MessageKind.REJECTION, MessageKind.FOLLOW_UP, MessageKind.INVITATION)

# Rate limits, checked before anything is stored (HTTP 429). A link can start at most this many registrations
# a day: its owner needs one, and more would let it mail-bomb whatever addresses are typed in.
MAX_REQUESTS_PER_LINK_PER_DAY = 5
# One network (IPv4 /24, IPv6 /64: fraud.network_hash) can send at most this many forms in the window, across
# all links: a household or office registers a few people, not dozens, and a mail bomber with many links is
# slowed to a trickle.
MAX_REQUESTS_PER_NETWORK = 10
NETWORK_RATE_WINDOW = timedelta(minutes=10)

# The form's limits (the registrant's columns hold 100 characters).
NAME_MAX = 100
DESIRED_JOB_MAX = 100
PHONE_MAX = 30
REGIONS = (
    "北海道 青森県 岩手県 宮城県 秋田県 山形県 福島県 茨城県 栃木県 群馬県 埼玉県 千葉県 東京都 神奈川県 新潟県 富山県 "
    "石川県 福井県 山梨県 長野県 岐阜県 静岡県 愛知県 三重県 滋賀県 京都府 大阪府 兵庫県 奈良県 和歌山県 鳥取県 島根県 "
    "岡山県 広島県 山口県 徳島県 香川県 愛媛県 高知県 福岡県 佐賀県 長崎県 熊本県 大分県 宮崎県 鹿児島県 沖縄県"
).split() + [gettext_lazy("リモート")]
# Text that reads as a link or an address: refused in a name or a desired job, so that what a stranger types
# into the form can never become a link or an address in a mail the relay sends (the phishing relay of
# issue 10). Checked after NFKC, so full-width ｈｔｔｐ and ＠ are caught too.
_LINKISH = re.compile(r"@|://|www\.|[a-z0-9-]\.[a-z]{2,}\b", re.IGNORECASE | re.ASCII)
# Control characters (NUL cannot be stored at all by PostgreSQL); tabs and line breaks become spaces.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class LinkState:
    ACTIVE = "active"
    NOT_DELIVERED = "not_delivered"  # scheduled, cancelled, suppressed, failed, or bounced
    EXPIRED = "expired"  # the company's retention period since sending has passed


def message_for_referral(token: str) -> Message | None:
    message_id = tokens.message_id_from_referral(token)
    if message_id is None:
        return None
    # The company and the application only (the pages need no more): the candidate's landing page is the
    # relay's busiest, and each joined table costs query compilation (measured: `python -m bench registrations`).
    return (
        Message.objects.select_related("company", "application")
        # Every mail about a rejected application carries the personal link: the notice and its follow-ups.
        .filter(pk=message_id, kind__in=REFERRAL_KINDS, application__isnull=False)
        .order_by().first()
    )


def link_state(message: Message) -> str:
    """Whether the personal link of this message may be used: only once its mail was delivered, and until
    the company's retention period since sending has passed."""
    if message.status != MessageStatus.SENT or message.sent_at is None or fraud.bounced(message):
        return LinkState.NOT_DELIVERED
    if timezone.now() >= message.sent_at + timedelta(days=message.company.retention_days):
        return LinkState.EXPIRED
    return LinkState.ACTIVE


def record_click(message: Message, *, user_agent: str = "", state: str | None = None) -> Click | None:
    """A person opened the link: recorded only for a link that works (link_state; `state` when the caller
    has just checked it)."""
    if (state or link_state(message)) != LinkState.ACTIVE:
        return None
    return Click.objects.create(company_id=message.company_id, message=message, user_agent=user_agent[:300])


@dataclass(frozen=True)
class RegistrationForm:
    name: str
    email: str
    desired_job: str = ""
    desired_region: str = ""
    phone: str = ""
    consent_purpose: bool = False
    consent_provision: bool = False
    # consent.texts_digest of the consent texts the page showed (a hidden field); None for a caller that
    # shows no page (the demo, tests): the current texts are then what is recorded.
    consent_digest: str | None = None


class ConsentTextChanged(Exception):
    """The consent texts changed between showing the form and sending it: nothing is stored, and the page
    shows the current texts to be agreed to again (HTTP 409)."""


class InactiveLink(Exception):
    def __init__(self, state: str):
        super().__init__(state)
        self.state = state


class RateLimited(Exception):
    """Too many forms from one network or through one link: answered with HTTP 429, nothing stored."""

    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.retry_after = retry_after


def _text(value: str) -> str:
    return clean_text(_CONTROL.sub(" ", value or ""))


def clean_form(form: RegistrationForm) -> dict:
    """The form's fields as they are stored, or ValidationError naming each bad field (in Japanese)."""
    from email_validator import EmailNotValidError, validate_email

    errors = {}
    name = _text(form.name)
    if not name:
        errors["name"] = _("氏名を入力してください。")
    elif len(name) > NAME_MAX:
        errors["name"] = _("氏名は%(max)d文字以内で入力してください。") % {"max": NAME_MAX}
    elif _LINKISH.search(nfkc(name)):
        errors["name"] = _("氏名にURLやメールアドレスは入力できません。")
    email = ""
    try:
        email = validate_email(_text(form.email), check_deliverability=False).normalized
    except EmailNotValidError:
        errors["email"] = _("メールアドレスの形式が正しくありません。")
    desired_job = _text(form.desired_job)
    if len(desired_job) > DESIRED_JOB_MAX:
        errors["desired_job"] = _("希望職種は%(max)d文字以内で入力してください。") % {"max": DESIRED_JOB_MAX}
    elif _LINKISH.search(nfkc(desired_job)):
        errors["desired_job"] = _("希望職種にURLやメールアドレスは入力できません。")
    desired_region = _text(form.desired_region)
    if desired_region and desired_region not in [str(region) for region in REGIONS]:
        errors["desired_region"] = _("希望勤務地は一覧から選んでください。")
    phone = _text(form.phone)
    if phone and (len(phone) > PHONE_MAX or not phone_e164(phone)):
        errors["phone"] = _("電話番号の形式が正しくありません(例: 090-1234-5678)。")
    if not form.consent_purpose:
        errors["consent_purpose"] = _("個人情報の利用目的への同意が必要です。")
    if not form.consent_provision:
        errors["consent_provision"] = _("提携企業への情報提供への同意が必要です。")
    if errors:
        raise ValidationError(errors)
    return {"name": name, "email": email, "desired_job": desired_job, "desired_region": desired_region,
            "phone": phone}


def check_rate_limits(message: Message, *, network_hash: str) -> None:
    """RateLimited when the link or the network has sent too many forms lately (nothing is stored)."""
    now = timezone.now()
    if network_hash and RegistrationRequest.objects.filter(
            network_hash=network_hash, created_at__gte=now - NETWORK_RATE_WINDOW).count() >= MAX_REQUESTS_PER_NETWORK:
        raise RateLimited(int(NETWORK_RATE_WINDOW.total_seconds()))
    if RegistrationRequest.objects.filter(
            message=message, created_at__gte=now - timedelta(days=1)).count() >= MAX_REQUESTS_PER_LINK_PER_DAY:
        raise RateLimited(24 * 3600)


@transaction.atomic
def request_registration(message: Message, form: RegistrationForm, *, network_hash: str = "",
                         browser_hash: str = "", ip_hash: str = "") -> RegistrationRequest:
    """Keep the form, with the consent texts exactly as the page showed them, and have the relay operator send
    the verification mail; nothing counts until the address is verified. InactiveLink for a link that does
    not work, RateLimited, ValidationError, or ConsentTextChanged: nothing stored."""
    state = link_state(message)
    if state != LinkState.ACTIVE:
        raise InactiveLink(state)
    # One form at a time per link (a row lock on PostgreSQL; SQLite serialises writers): the count is exact.
    Message.objects.select_for_update().filter(pk=message.pk).first()
    check_rate_limits(message, network_hash=network_hash)
    fields = clean_form(form)
    texts = consent_texts(message.company, operator_party())
    if form.consent_digest is not None and form.consent_digest != texts_digest(texts):
        raise ConsentTextChanged
    request = RegistrationRequest.objects.create(
        company_id=message.company_id, message=message, candidate_id=message.application.candidate_id,
        consent_version=CONSENT_VERSION, consented_at=timezone.now(), consent_texts=texts,
        network_hash=network_hash, browser_hash=browser_hash, ip_hash=ip_hash, **fields,
    )
    plan_verification_mail(
        operator_party(),
        key=f"{MessageKind.VERIFICATION}:{request.pk}",
        to_email=fields["email"],
        to_name=fields["name"],
        verify_token=tokens.verify_token(request.pk),
        via_company=message.company.name,
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
    the relay, and one credit per registrant, for the company whose link brought them first: at once when no
    fraud signal fires, otherwise held (with the signals' codes as reasons) for the operator."""
    request = request_for_verification(token)
    with transaction.atomic():
        # Serialise per company (a row lock on PostgreSQL; SQLite's IMMEDIATE transactions already serialise
        # writers); the registrant's unique e-mail key makes one person one registrant across companies.
        company = Company.objects.select_for_update().get(pk=request.company_id)
        request = (RegistrationRequest.objects.select_for_update().select_related("message", "company")
                   .get(pk=request.pk))
        existing = Registration.objects.filter(company=company, candidate_id=request.candidate_id).first()
        if existing is not None:
            if request.verified_at is None:
                request.verified_at = timezone.now()
                request.save(update_fields=["verified_at"])
            return VerificationResult(existing, credited=False)
        request.verified_at = timezone.now()
        request.save(update_fields=["verified_at"])
        registrant, new_person = _registrant_for(request)
        _record_consents(registrant, request)
        reasons = fraud.signals_for(request) if new_person else []
        status = CreditStatus.DUPLICATE if not new_person else CreditStatus.HELD if reasons else CreditStatus.CREDITED
        registration = Registration.objects.create(
            company=company, candidate_id=request.candidate_id, request=request, registrant=registrant,
            credit_status=status, reasons=reasons, **request.details()
        )
        if status == CreditStatus.CREDITED:
            ledger.credit(registration)
    return VerificationResult(registration, credited=status == CreditStatus.CREDITED)


def _registrant_for(request: RegistrationRequest) -> tuple[Registrant, bool]:
    """The person behind a verified form, and whether the relay meets them for the first time. One person is
    one mailbox (fraud.person_key; registrants from before this key are found by their plain key too), and
    one phone number where the form gave one: a second address with the same number is the same person."""
    key = fraud.person_key(request.email)
    phone = phone_e164(request.phone)
    same = Q(email_key__in={key, email_key(request.email)})
    if phone:
        same |= Q(phone_e164=phone)
    found = Registrant.objects.filter(same).order_by("pk").first()
    if found is not None:
        if phone and not found.phone_e164:
            Registrant.objects.filter(pk=found.pk).update(phone=request.phone, phone_e164=phone)
        return found, False
    try:
        with transaction.atomic():  # a savepoint: the same person verifying through another company right now
            return Registrant.objects.create(
                email_key=key, email=request.email, name=request.name[:100], name_key=name_key(request.name)[:100],
                desired_job=request.desired_job[:100], desired_region=request.desired_region[:50],
                phone=request.phone, phone_e164=phone, first_company_id=request.company_id,
            ), True
    except IntegrityError:
        return Registrant.objects.get(email_key=key), False


def _record_consents(registrant: Registrant, request: RegistrationRequest) -> None:
    """The two consents of the form, word for word as the page showed them (kept with the form), with their
    hash, purpose, version, time and the keyed hash of the address that sent it. A form from before the texts
    were kept gets the wording of today."""
    texts = request.consent_texts or consent_texts(request.company, operator_party())
    records = []
    for kind, key in ((ConsentKind.PURPOSE, "purpose"), (ConsentKind.PROVISION, "provision")):
        code, label = PURPOSES[key]
        records.append(ConsentRecord(
            registrant=registrant, kind=kind, version=request.consent_version, text=texts[key],
            text_hash=text_hash(texts[key]), purpose=code, purpose_label=str(label), ip_hash=request.ip_hash,
            company_id=request.company_id, given_at=request.consented_at))
    ConsentRecord.objects.bulk_create(records)
