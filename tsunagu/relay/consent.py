"""The consent texts a candidate agrees to on the registration form, and the operator's facts the candidate's
pages show. A change of wording gets a new version. Read-only.

The texts name the relay operator (its party: companies.actions.operator_party) and the company whose notice
brought the person, and say what that company will learn: only that a registration happened.
"""

from django.utils.translation import gettext as _

from tsunagu.companies.actions import operator_party

CONSENT_VERSION = "2026-11-30.2"  # .2: the phone number (optional) joined the listed data


def operator_facts(operator) -> dict[str, str]:
    """What the candidate's pages say about who runs the service (public_base.html's `relay`)."""
    return {
        "service_name": operator.service_name or operator.name,
        "operator_name": operator.name,
        "operator_contact": operator.reply_to or operator.sender_email,
        "licence_number": operator.licence_number,
        "postal_address": operator.postal_address,
        "privacy_policy": operator.privacy_policy,
    }


def consent_texts(company, operator=None) -> dict[str, str]:
    """The two consents, word for word, for a form reached through `company`'s notice."""
    operator = operator or operator_party()
    name = operator.name
    if operator.licence_number:
        name = _("%(operator)s(有料職業紹介事業 許可番号 %(licence)s)") % {
            "operator": operator.name, "licence": operator.licence_number}
    return {
        "purpose": _(
            "%(operator)sは、ご登録いただいた氏名・メールアドレス・電話番号・希望職種・希望勤務地を、キャリア相談、"
            "求人のご紹介およびそのためのご連絡に限って利用します。保存期間はご登録から%(years)d年間、"
            "またはご本人が削除を依頼されるまでです。"
        ) % {"operator": name, "years": max(1, company.retention_days // 365)},
        "provision": _(
            "求人のご紹介のために、ご本人の同意を得たうえで、%(operator)sが提携する求人企業へ上記の情報を"
            "提供することがあります(企業ごとに、提供の前にあらためてご本人の同意をいただきます)。"
            "%(company)sには、ご登録があったことのみが通知され、上記の情報は提供されません。"
        ) % {"operator": operator.name, "company": company.name},
    }
