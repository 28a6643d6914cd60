"""The person's requests about their data (開示・訂正・利用停止・削除): filed by them on their own page or by staff
for someone who asked by phone or letter, each with its due date, and carried out.

What the person asks on their page to see, or to delete, goes through a link mailed to the address the holder
has, so that someone who merely saw one of their mails can neither read nor erase their data; staff confirm a
caller's identity themselves and carry the request out at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tsunagu.companies.models import Company
from tsunagu.lib.tokens import access_token, deletion_token
from tsunagu.messaging.actions import suppression as suppressing
from tsunagu.messaging.actions.notices import plan_fixed_mail
from tsunagu.messaging.models import MessageKind, SuppressionReason
from tsunagu.privacy.actions.consent import withdraw_pool_consents
from tsunagu.privacy.actions.erasure import erase_candidate, erase_registrant
from tsunagu.privacy.models import ErasureReason, PrivacyRequest, RequestChannel, RequestKind, RequestStatus
from tsunagu.relay.actions.consents import withdraw_consents
from tsunagu.relay.actions.registrants import change_status, update_profile
from tsunagu.relay.models import Registrant, RegistrantStatus
from tsunagu.talent.actions.personal_data import correct_identity
from tsunagu.talent.actions.pool import update_candidate_profile
from tsunagu.talent.models import Candidate

# 個人情報保護法 asks for an answer "without delay" (遅滞なく); two weeks is the longest Tsunagu shows as due.
DUE_DAYS = 14
CONFIRMATION_DAYS = 7
ACCESS_DAYS = 1
MAX_NOTE = 2000


def _actor(user) -> str:
    return (user.email or user.get_username())[:254] if user is not None and user.is_authenticated else ""


def _due_on(company: Company, now: datetime):
    return timezone.localtime(now, ZoneInfo(company.time_zone)).date() + timedelta(days=DUE_DAYS)


def file_request(company: Company, *, kind: str, channel: str, candidate: Candidate | None = None,
                 registrant: Registrant | None = None, note: str = "", user=None, suppress_mail: bool = True,
                 now: datetime | None = None) -> PrivacyRequest:
    """Record a request (open, due in DUE_DAYS). Exactly one of candidate (the company's) and registrant (the
    operator's, when `company` is the operator's party) names the person. Bad input changes nothing."""
    if kind not in RequestKind.values:
        raise ValidationError({"kind": _("請求の種類を選んでください。")})
    if channel not in RequestChannel.values:
        raise ValidationError({"channel": _("受付方法を選んでください。")})
    if len(note or "") > MAX_NOTE:
        raise ValidationError({"note": _("メモは%(max)d文字以内で入力してください。") % {"max": MAX_NOTE}})
    if (candidate is None) == (registrant is None):
        raise ValidationError({"subject": _("対象の方を選んでください。")})
    if candidate is not None and (candidate.company_id != company.pk or candidate.erased_at is not None):
        raise Candidate.DoesNotExist
    if registrant is not None and (not company.is_operator or registrant.email_key.startswith("erased:")):
        raise Registrant.DoesNotExist
    now = now or timezone.now()
    return PrivacyRequest.objects.create(
        company=company, candidate=candidate, registrant=registrant, kind=kind, channel=channel,
        note=(note or "").strip(), received_at=now, due_on=_due_on(company, now), suppress_mail=suppress_mail,
        filed_by=user if user is not None and user.is_authenticated else None)


@transaction.atomic
def ask_for_access(company: Company, *, candidate: Candidate | None = None,
                   registrant: Registrant | None = None) -> PrivacyRequest:
    """The person asks on their page to see their data (開示): a request, and a mail to the address on record
    with a link that shows it (valid ACCESS_DAYS). A link in an old or forwarded mail is not enough to read
    someone's data: only the mailbox's owner gets this one."""
    request = file_request(company, kind=RequestKind.EXPORT, channel=RequestChannel.WEB, candidate=candidate,
                           registrant=registrant)
    request.status = RequestStatus.AWAITING_CONFIRMATION
    request.save(update_fields=["status"])
    person = candidate or registrant
    url = settings.BASE_URL + reverse("privacy:data", args=[access_token(request.pk)])
    with translation.override(settings.LANGUAGE_CODE):
        plan_fixed_mail(company, kind=MessageKind.PRIVACY, key=f"access:{request.pk}", to_email=person.email,
                        to_name=person.name, subject=_("お預かりしている個人情報の確認"),
                        body_text=_(
                            "%(name)s 様\n\n"
                            "%(company)sがお預かりしている個人情報の確認のご依頼を受け付けました。\n"
                            "次のページで、内容の確認・ダウンロード・訂正ができます(%(hours)d時間有効です)。\n%(url)s\n\n"
                            "お心当たりがない場合は、このメールを破棄してください。\n"
                        ) % {"name": person.name, "company": company.name, "hours": ACCESS_DAYS * 24, "url": url},
                        context={"candidate_id": candidate.pk} if candidate is not None else {})
    return request


def opened(request: PrivacyRequest) -> PrivacyRequest:
    """The person opened the mailed link to their data: the access request is answered."""
    if request.status == RequestStatus.AWAITING_CONFIRMATION:
        request.status, request.confirmed_at = RequestStatus.DONE, timezone.now()
        request.done_at, request.handled_by_label = request.confirmed_at, _("ご本人")
        request.save(update_fields=["status", "confirmed_at", "done_at", "handled_by_label"])
    return request


@transaction.atomic
def ask_for_deletion(company: Company, *, candidate: Candidate | None = None, registrant: Registrant | None = None,
                     suppress_mail: bool, also_relay: bool = False) -> PrivacyRequest:
    """The person asks on their page: a request awaiting their confirmation, and the mail with the link."""
    request = file_request(company, kind=RequestKind.DELETE, channel=RequestChannel.WEB, candidate=candidate,
                           registrant=registrant, suppress_mail=suppress_mail)
    request.status, request.include_relay = RequestStatus.AWAITING_CONFIRMATION, also_relay
    request.save(update_fields=["status", "include_relay"])
    person = candidate or registrant
    url = settings.BASE_URL + reverse("privacy:confirm_deletion", args=[deletion_token(request.pk)])
    with translation.override(settings.LANGUAGE_CODE):
        plan_fixed_mail(company, kind=MessageKind.PRIVACY, key=f"delete:{request.pk}", to_email=person.email,
                        to_name=person.name, subject=_("個人情報の削除のご確認"),
                        body_text=_(
                            "%(name)s 様\n\n"
                            "%(company)sがお預かりしている個人情報の削除のご依頼を受け付けました。\n"
                            "次のページで「削除する」を押すと、削除が完了します(%(days)d日間有効です)。\n%(url)s\n\n"
                            "お心当たりがない場合は、このメールを破棄してください。何も削除されません。\n"
                        ) % {"name": person.name, "company": company.name, "days": CONFIRMATION_DAYS, "url": url},
                        context={"candidate_id": candidate.pk} if candidate is not None else {})
    return request


def confirm_deletion(request: PrivacyRequest) -> PrivacyRequest:
    """The person followed the mail's link and pressed the button: carried out now. Idempotent."""
    if request.status != RequestStatus.AWAITING_CONFIRMATION:
        return request
    request.confirmed_at = timezone.now()
    request.save(update_fields=["confirmed_at"])
    return carry_out(request, user=None, reason=ErasureReason.REQUEST)


@transaction.atomic
def carry_out(request: PrivacyRequest, *, user=None, reason: str = ErasureReason.STAFF) -> PrivacyRequest:
    """Do what a stop or deletion request asks, and mark the request done (an export or a correction is done by
    staff with the person's data in hand: this only marks it). A request already closed changes nothing."""
    request = PrivacyRequest.objects.select_for_update().get(pk=request.pk)
    if request.status in (RequestStatus.DONE, RequestStatus.CANCELLED):
        return request
    actor = _actor(user) or _("ご本人")
    if request.kind == RequestKind.DELETE:
        _erase(request, reason=reason, actor=actor, user=user)
    elif request.kind == RequestKind.STOP:
        if request.candidate is not None:
            stop_use_of_candidate(request.candidate)
        elif request.registrant is not None:
            stop_use_of_registrant(request.registrant, request.company)
    request.status, request.done_at = RequestStatus.DONE, timezone.now()
    request.handled_by = user if user is not None and user.is_authenticated else None
    request.handled_by_label = actor
    request.save(update_fields=["status", "done_at", "handled_by", "handled_by_label"])
    return request


def _erase(request: PrivacyRequest, *, reason: str, actor: str, user=None) -> None:
    if request.candidate is not None:
        candidate = request.candidate
        registrations = list(candidate.registrations.select_related("registrant"))
        erase_candidate(candidate, reason=reason, actor=actor, request=request, suppress_mail=request.suppress_mail,
                        user=user)
        if request.include_relay:
            operator = Company.objects.filter(is_operator=True).first()
            for registration in registrations:
                erase_registrant(registration.registrant, operator=operator, reason=reason, actor=actor,
                                 request=request, suppress_mail=request.suppress_mail, user=user)
    elif request.registrant is not None:
        erase_registrant(request.registrant, operator=request.company, reason=reason, actor=actor, request=request,
                         suppress_mail=request.suppress_mail, user=user)


@transaction.atomic
def correct(company: Company, *, candidate: Candidate | None = None, registrant: Registrant | None = None,
            name: str, name_kana: str, phone: str) -> PrivacyRequest:
    """The person corrects their name, reading and phone on their data page (訂正): done at once, and recorded
    as a request answered. A ValidationError by field changes nothing."""
    if candidate is not None:
        correct_identity(candidate, name=name, name_kana=name_kana, phone=phone)
    else:
        update_profile(registrant, name=name, name_kana=name_kana, phone=phone)
    return carry_out(file_request(company, kind=RequestKind.CORRECT, channel=RequestChannel.WEB,
                                  candidate=candidate, registrant=registrant))


def cancel(request: PrivacyRequest, *, user=None) -> PrivacyRequest:
    """Staff close a request that was withdrawn or mistaken (the record stays)."""
    if request.status not in (RequestStatus.DONE, RequestStatus.CANCELLED):
        request.status, request.done_at = RequestStatus.CANCELLED, timezone.now()
        request.handled_by = user if user is not None and user.is_authenticated else None
        request.handled_by_label = _actor(user)
        request.save(update_fields=["status", "done_at", "handled_by", "handled_by_label"])
    return request


# --- stopping use (利用停止) -----------------------------------------------------------------------------

@transaction.atomic
def stop_use_of_candidate(candidate: Candidate) -> None:
    """The company stops using the person's data: no contact of any kind (HR's "do not contact", the address
    suppressed, pending mail held back), no pool consent, out of rediscovery and campaigns. The data stays
    until retention ends or the person asks for deletion."""
    company = candidate.company
    update_candidate_profile(company, candidate, contact_allowed=False)
    withdraw_pool_consents(candidate, via="stop")
    if candidate.email:
        suppression = suppressing.suppress(company, candidate.email, SuppressionReason.UNSUBSCRIBED,
                                           detail=_("利用停止の請求"))
        suppressing.suppress_pending_messages(company, candidate.email, suppression)


def stop_use_of_registrant(registrant: Registrant, operator: Company) -> None:
    """The relay operator stops using the registrant's data: every consent they gave is withdrawn (so they leave
    the service, 退会, and introductions waiting for their consent are withdrawn), and no mail of the operator's
    goes to them again."""
    withdraw_consents(registrant, when=timezone.now(), via=_("利用停止の請求"))
    change_status(registrant, RegistrantStatus.WITHDRAWN)  # also with no consent on record (an old registrant)
    if registrant.email:
        suppressing.suppress(operator, registrant.email, SuppressionReason.UNSUBSCRIBED, detail=_("利用停止の請求"))
