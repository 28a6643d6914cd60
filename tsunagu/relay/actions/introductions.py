"""Introductions (推薦, an agency's submissions): the operator proposes a registrant for a company's referral
request; the registrant is asked by mail to consent to this one provision (第三者提供の同意) and answers on a
public page; only then does the company see the profile, and it answers with outcomes. A hire uses the
request's slot (a ledger entry tied to the introduction) and fills the request once its headcount is reached.
Every step is in the request's history; the registrant's place in the operator's pipeline follows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tsunagu.companies.actions import operator_party
from tsunagu.lib import tokens
from tsunagu.relay.actions import ledger, notifications, provisions, registrants
from tsunagu.relay.actions.requests import RequestNotOpen, fill_if_complete, multiline_text, record_event
from tsunagu.relay.consent import text_hash
from tsunagu.relay.introduction_consent import (
    CONSENT_LINK_DAYS,
    INTRODUCTION_CONSENT_VERSION,
    introduction_consent_text,
    text_digest,
)
from tsunagu.relay.models import (
    ConsentKind,
    ConsentRecord,
    Introduction,
    IntroductionStatus,
    Outcome,
    ReferralRequest,
    Registrant,
    RegistrantStatus,
    RequestStatus,
)
from tsunagu.relay.selectors import proposal_refusal
from tsunagu.talent.normalize import clean_text

MAX_RECOMMENDATION = 5000
OPERATOR = "operator"
REGISTRANT = "registrant"
# Registrant statuses an introduction moves forward (never back: a person who joined stays joined).
_BEFORE_INTRODUCING = {RegistrantStatus.NEW, RegistrantStatus.SCHEDULING, RegistrantStatus.INTERVIEWED}


class NotIntroduced(ValidationError):
    """The company can answer only an introduction the person consented to (the API answers 409)."""


def _user(user):
    return user if getattr(user, "is_authenticated", False) else None


def consent_link(introduction: Introduction) -> str:
    return settings.BASE_URL + reverse("relay:introduction_consent", args=[tokens.introduction_token(introduction.pk)])


@transaction.atomic
def propose(request: ReferralRequest, registrant: Registrant, *, recommendation: str = "", user=None) -> Introduction:
    """The operator proposes a registrant for a request and asks them, by mail from the operator, to consent.
    Refused (ValidationError, nothing changed) when proposal_refusal says why."""
    request = ReferralRequest.objects.select_for_update().select_related("company").get(pk=request.pk)
    recommendation = multiline_text(recommendation)
    if len(recommendation) > MAX_RECOMMENDATION:
        raise ValidationError({"recommendation": _("推薦文は%(max)d文字以内で入力してください。")
                               % {"max": MAX_RECOMMENDATION}})
    refusal = proposal_refusal(request, registrant)
    if refusal:
        raise ValidationError(refusal)
    try:
        with transaction.atomic():
            introduction = Introduction.objects.create(request=request, registrant=registrant,
                                                       recommendation=recommendation, proposed_by=_user(user))
    except IntegrityError as exc:  # proposed a moment ago by a colleague
        raise ValidationError(_("この登録者は既にこの依頼に推薦されています。")) from exc
    record_event(request, "proposed", introduction=introduction, user=user, actor_label=OPERATOR,
                 detail=_("運営が候補者を選びました"))
    expires_on = timezone.localdate(timezone.now() + timedelta(days=CONSENT_LINK_DAYS))
    notifications.consent_request(introduction, link=consent_link(introduction),
                                  expires_on=expires_on.strftime("%Y-%m-%d"))
    introduction.status = IntroductionStatus.CONSENT_REQUESTED
    introduction.save(update_fields=["status", "updated_at"])
    record_event(request, "consent_requested", introduction=introduction, user=user, actor_label=OPERATOR,
                 detail=_("ご本人に提供への同意をお願いしました"))
    return introduction


class InvalidConsentLink(Exception):
    pass


class ExpiredConsentLink(Exception):
    pass


def introduction_for_token(token: str) -> Introduction:
    """The introduction a personal consent link is for; InvalidConsentLink for a forged or unknown one,
    ExpiredConsentLink when it is older than CONSENT_LINK_DAYS."""
    try:
        introduction_id = tokens.introduction_id_from_token(token, max_age_days=CONSENT_LINK_DAYS)
    except tokens.ExpiredToken as exc:
        raise ExpiredConsentLink from exc
    introduction = (Introduction.objects.select_related("request__company", "registrant")
                    .filter(pk=introduction_id).first() if introduction_id else None)
    if introduction is None:
        raise InvalidConsentLink
    return introduction


def awaiting_answer(introduction: Introduction) -> bool:
    return (introduction.status == IntroductionStatus.CONSENT_REQUESTED
            and introduction.request.status == RequestStatus.OPEN)


@dataclass
class ConsentAnswer:
    introduction: Introduction
    # "consented", "declined", "changed" (the text shown is no longer current: show it again), or
    # "closed" (already answered, withdrawn, or the request ended: nothing changed).
    result: str
    text: str = ""


@transaction.atomic
def answer_consent(token: str, *, consent: bool, shown_digest: str, ip_hash: str = "") -> ConsentAnswer:
    """The registrant's answer on the consent page (POST only: opening the link changes nothing). A consent
    records the text word for word as shown (its digest must match the current text) with its hash, the
    time and the keyed hash of the address (fraud.ip_hash), and with it the record of the provision
    (第三者提供の記録); it tells the company's admins. A decline tells the operator's staff. The link works
    once."""
    introduction = introduction_for_token(token)
    introduction = (Introduction.objects.select_for_update().select_related("request__company", "registrant")
                    .get(pk=introduction.pk))
    if not awaiting_answer(introduction):
        return ConsentAnswer(introduction, "closed")
    request = introduction.request
    if not consent:
        introduction.status = IntroductionStatus.DECLINED
        introduction.save(update_fields=["status", "updated_at"])
        record_event(request, "declined", introduction=introduction, actor_label=REGISTRANT,
                     detail=_("ご本人が辞退しました(企業への提供はありません)"))
        notifications.introduction_declined(introduction)
        return ConsentAnswer(introduction, "declined")
    text = introduction_consent_text(introduction, operator_party())
    if text_digest(text) != shown_digest:
        return ConsentAnswer(introduction, "changed", text)
    now = timezone.now()
    company = request.company
    record = ConsentRecord.objects.create(
        registrant=introduction.registrant, kind=ConsentKind.INTRODUCTION, version=INTRODUCTION_CONSENT_VERSION,
        text=text, text_hash=text_hash(text), purpose=f"introduction:{company.slug}",
        purpose_label=(_("%(company)sへの推薦(求人: %(title)s)") % {"company": company.name,
                                                              "title": request.title})[:300],
        ip_hash=ip_hash, company=company, introduction=introduction, given_at=now)
    provisions.record_provision(introduction, consent=record, when=now)
    introduction.status = IntroductionStatus.INTRODUCED
    introduction.consented_at = now
    introduction.save(update_fields=["status", "consented_at", "updated_at"])
    record_event(request, "consented", introduction=introduction, actor_label=REGISTRANT,
                 detail=_("ご本人が提供に同意し、推薦しました"))
    if introduction.registrant.status in _BEFORE_INTRODUCING:
        registrants.change_status(introduction.registrant, RegistrantStatus.INTRODUCING)
    notifications.introduction_received(introduction)
    return ConsentAnswer(introduction, "consented", text)


@transaction.atomic
def withdraw(introduction: Introduction, *, user=None, reason: str = "") -> Introduction:
    """The operator takes back a proposal the person has not answered yet; its consent link stops working."""
    introduction = Introduction.objects.select_for_update().select_related("request").get(pk=introduction.pk)
    if introduction.status not in (IntroductionStatus.PROPOSED, IntroductionStatus.CONSENT_REQUESTED):
        raise ValidationError(_("同意待ちの推薦だけを取り下げられます。"))
    introduction.status = IntroductionStatus.WITHDRAWN
    introduction.save(update_fields=["status", "updated_at"])
    reason = clean_text(reason)[:200]
    record_event(introduction.request, "withdrawn", introduction=introduction, user=user, actor_label=OPERATOR,
                 detail=_("運営が推薦を取り下げました") + (f": {reason}" if reason else ""))
    return introduction


@transaction.atomic
def record_outcome(introduction: Introduction, outcome: str, *, user=None, actor_label: str = "") -> Introduction:
    """The company's answer for an introduced person (書類選考通過 / 面接 / 見送り / 内定 / 入社). A hire uses the
    request's slot and fills the request at its headcount; a hire is final. The same answer twice changes
    nothing."""
    if outcome not in Outcome.values or outcome == Outcome.PENDING:
        raise ValidationError({"outcome": _("選考結果は次のいずれかです: %(choices)s") % {
            "choices": ", ".join(value for value in Outcome.values if value)}})
    request = ReferralRequest.objects.select_for_update().select_related("company").get(pk=introduction.request_id)
    introduction = Introduction.objects.select_for_update().select_related("registrant").get(pk=introduction.pk)
    introduction.request = request
    if introduction.status != IntroductionStatus.INTRODUCED:
        raise NotIntroduced(_("ご本人の同意を得て推薦された方にだけ、選考結果を回答できます。"))
    if introduction.outcome == outcome:
        return introduction
    if request.status == RequestStatus.CLOSED or (request.status == RequestStatus.FILLED
                                                  and outcome == Outcome.HIRED):
        raise RequestNotOpen(_("この紹介依頼は終了しているため、回答できません。"))
    if introduction.outcome == Outcome.HIRED:
        raise NotIntroduced(_("入社の回答は変更できません(運営にご連絡ください)。"))
    introduction.outcome = outcome
    introduction.save(update_fields=["outcome", "updated_at"])
    record_event(request, "outcome", introduction=introduction, user=user, actor_label=actor_label,
                 detail=Outcome(outcome).label)
    if outcome == Outcome.HIRED:
        used = ledger.use_slot(introduction, user=_user(user))
        if used is not None:
            record_event(request, "slot_used", introduction=introduction, user=user, actor_label=actor_label,
                         detail=_("無料紹介枠を利用しました"))
        fill_if_complete(request, user=user, actor_label=actor_label)
        registrants.change_status(introduction.registrant, RegistrantStatus.JOINED)
    elif outcome == Outcome.OFFERED and introduction.registrant.status != RegistrantStatus.JOINED:
        registrants.change_status(introduction.registrant, RegistrantStatus.OFFERED)
    if outcome in (Outcome.OFFERED, Outcome.HIRED):
        notifications.outcome_recorded(introduction)
    return introduction
