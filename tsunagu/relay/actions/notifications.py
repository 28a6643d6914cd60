"""Mail about the relay that needs someone's action, planned in the outbox (messaging's fixed-content kinds):
to a company's admins (a slot earned, an introduction received), to the operator's staff (a request filed,
a registrant declined, an outcome, a request closed), and to a registrant (the consent request).

Each mail is planned once per event and recipient (the key names both; planning again changes nothing),
written now in the site's language. A mail to a company never carries a registrant's data: it says what
happened and links to the console, where the company sees what the registrant consented to.
Mail to the operator's staff and to registrants is the operator party's (companies.actions.operator_party),
so no company's outbox ever lists it.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from tsunagu.companies.actions import operator_party
from tsunagu.companies.models import Company, Membership, Role
from tsunagu.lib.tokens import registrant_privacy_token
from tsunagu.messaging.actions.notices import plan_fixed_mail
from tsunagu.messaging.compose import policy_url
from tsunagu.messaging.models import MessageKind
from tsunagu.relay.models import Introduction, LedgerEntry, ReferralRequest


def _console_url(name: str, *args) -> str:
    return settings.BASE_URL + reverse(f"console:{name}", args=args)


def company_admins(company: Company) -> list:
    memberships = (Membership.objects.filter(company=company, role=Role.ADMIN, user__is_active=True)
                   .exclude(user__email="").select_related("user").order_by("user_id"))
    return [membership.user for membership in memberships]


def operator_staff() -> list:
    return list(get_user_model().objects.filter(operator_profile__isnull=False, is_active=True)
                .exclude(email="").order_by("pk"))


def _send(company: Company, users: list, *, key: str, subject: str, body: str) -> int:
    for user in users:
        plan_fixed_mail(company, kind=MessageKind.NOTICE, key=f"{MessageKind.NOTICE}:{key}:{user.pk}",
                        to_email=user.email, to_name=user.get_full_name() or user.email, subject=subject,
                        body_text=body)
    return len(users)


def _signed(body: str) -> str:
    return body + "\n\n-- \n" + _("Tsunagu(キャリアリレー)からの自動送信です。") + "\n"


# --- to a company's admins ---------------------------------------------------------------------------

def slot_earned(entry_id: int) -> int:
    """A slot was earned (called on commit by relay.actions.ledger.credit); returns how many mails."""
    entry = LedgerEntry.objects.select_related("company").filter(pk=entry_id).first()
    if entry is None:
        return 0
    company = entry.company
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("【Tsunagu】無料紹介枠を獲得しました")
        body = _signed(_(
            "%(company)s ご担当者様\n\n"
            "キャリアリレーへのご登録が規定数に達し、無料紹介枠を1つ獲得しました(通算%(number)d枠目)。\n"
            "台帳の画面から、この枠を使って人材の紹介を依頼できます。\n\n%(url)s"
        ) % {"company": company.name, "number": entry.number, "url": _console_url("ledger")})
    return _send(company, company_admins(company), key=f"slot-earned:{entry.pk}", subject=subject, body=body)


def introduction_received(introduction: Introduction) -> int:
    """A registrant consented to be introduced: the company's admins are told, without the person's data."""
    request = introduction.request
    company = request.company
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("【Tsunagu】紹介が届きました(%(title)s)") % {"title": request.title}
        body = _signed(_(
            "%(company)s ご担当者様\n\n"
            "紹介依頼「%(title)s」に、キャリアリレーから1名のご紹介が届きました。\n"
            "ご本人の同意のうえで提供されたプロフィールと推薦文を、次の画面でご確認のうえ、選考結果をご回答ください。\n\n"
            "%(url)s"
        ) % {"company": company.name, "title": request.title,
             "url": _console_url("referral_request", request.pk)})
    return _send(company, company_admins(company), key=f"introduced:{introduction.pk}", subject=subject, body=body)


# --- to the operator's staff -------------------------------------------------------------------------

def _to_operator(key: str, subject: str, body: str) -> int:
    return _send(operator_party(), operator_staff(), key=key, subject=subject, body=_signed(body))


def request_filed(request: ReferralRequest) -> int:
    with translation.override(settings.LANGUAGE_CODE):
        return _to_operator(
            f"request-filed:{request.pk}",
            _("【紹介依頼】%(company)s: %(title)s") % {"company": request.company.name, "title": request.title},
            _("%(company)sから紹介依頼が届きました(無料紹介枠を利用)。\n\n"
              "職種: %(title)s\n勤務地: %(location)s\n雇用形態: %(type)s\n採用人数: %(headcount)d人\n期限: %(deadline)s\n\n"
              "登録者を探して推薦してください。\n%(url)s") % {
                "company": request.company.name, "title": request.title, "location": request.location or "—",
                "type": request.get_employment_type_display(), "headcount": request.headcount,
                "deadline": request.deadline.isoformat() if request.deadline else "—",
                "url": _console_url("desk_request", request.pk)},
        )


def introduction_declined(introduction: Introduction) -> int:
    request = introduction.request
    with translation.override(settings.LANGUAGE_CODE):
        return _to_operator(
            f"declined:{introduction.pk}",
            _("【推薦辞退】%(company)s: %(title)s") % {"company": request.company.name, "title": request.title},
            _("登録者(ID %(registrant)d)が、%(company)sの「%(title)s」への推薦を辞退しました。企業には何も提供されていません。\n"
              "別の登録者の推薦をご検討ください。\n%(url)s") % {
                "registrant": introduction.registrant_id, "company": request.company.name, "title": request.title,
                "url": _console_url("desk_request", request.pk)},
        )


def outcome_recorded(introduction: Introduction) -> int:
    """An offer or a hire: the operator follows up with the person (the desk's registrant status follows)."""
    request = introduction.request
    with translation.override(settings.LANGUAGE_CODE):
        return _to_operator(
            f"outcome:{introduction.pk}:{introduction.outcome}",
            _("【選考結果: %(outcome)s】%(company)s: %(title)s") % {
                "outcome": introduction.get_outcome_display(), "company": request.company.name,
                "title": request.title},
            _("%(company)sが、「%(title)s」に推薦した登録者(ID %(registrant)d)の選考結果を「%(outcome)s」と回答しました。\n"
              "%(url)s") % {
                "company": request.company.name, "title": request.title, "registrant": introduction.registrant_id,
                "outcome": introduction.get_outcome_display(), "url": _console_url("desk_request", request.pk)},
        )


def request_closed(request: ReferralRequest) -> int:
    with translation.override(settings.LANGUAGE_CODE):
        return _to_operator(
            f"request-closed:{request.pk}",
            _("【紹介依頼の終了】%(company)s: %(title)s") % {"company": request.company.name, "title": request.title},
            _("%(company)sが紹介依頼「%(title)s」を終了しました(%(status)s)。この依頼への推薦はもうできません。\n%(url)s") % {
                "company": request.company.name, "title": request.title, "status": request.get_status_display(),
                "url": _console_url("desk_request", request.pk)},
        )


# --- to the registrant -------------------------------------------------------------------------------

def consent_request(introduction: Introduction, *, link: str, expires_on: str) -> None:
    """The operator asks the person to consent to this one provision (第三者提供の同意), from its own address."""
    operator = operator_party()
    request = introduction.request
    registrant = introduction.registrant
    with translation.override(settings.LANGUAGE_CODE):
        licence = (_("有料職業紹介事業 許可番号 %(number)s") % {"number": operator.licence_number}
                   if operator.licence_number else "")
        subject = _("【%(service)s】求人へのご推薦についてご確認のお願い") % {
            "service": operator.service_name or operator.name}
        body = _(
            "%(name)s 様\n\n"
            "%(service)sをご利用いただきありがとうございます。\n"
            "%(company)sの求人「%(title)s」に、%(name)s様をご推薦したいと考えています。\n\n"
            "ご推薦には、氏名・メールアドレス・電話番号・希望職種・希望勤務地と当方の推薦文を%(company)sに"
            "提供することへの、ご本人の同意が必要です。次のページで提供する内容をご確認のうえ、"
            "同意するか、お断りするかをお選びください。お断りいただいても、今後のご支援に影響はありません。\n\n"
            "%(link)s\n\n"
            "このリンクは%(expires)sまで、1回だけお使いいただけます。ご同意いただくまで、%(company)sに"
            "%(name)s様の情報が伝わることはありません。"
        ) % {"name": registrant.name, "service": operator.service_name or operator.name, "company": request.company.name,
             "title": request.title, "link": link, "expires": expires_on}
        body += "\n\n" + _("ご登録情報の確認・ダウンロード・訂正・利用停止・削除: %(url)s") % {
            "url": settings.BASE_URL + reverse("privacy:registrant_person", args=[registrant_privacy_token(registrant.pk)])}
        signature = "\n".join(line for line in [
            operator.signature or operator.name, licence, operator.postal_address,
            (_("お問い合わせ: %(contact)s") % {"contact": operator.reply_to}) if operator.reply_to else "",
            _("個人情報の取り扱い") + ": " + policy_url(operator),
        ] if line)
    plan_fixed_mail(operator, kind=MessageKind.CONSENT_REQUEST, key=f"{MessageKind.CONSENT_REQUEST}:{introduction.pk}",
                    to_email=registrant.email, to_name=registrant.name, subject=subject,
                    body_text=f"{body}\n\n-- \n{signature}\n")
