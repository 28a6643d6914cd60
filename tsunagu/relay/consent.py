"""The consent texts a candidate agrees to on the registration form, and the operator's facts the candidate's
pages show. A change of wording gets a new version. Read-only.

The texts name the relay operator (its party: companies.actions.operator_party) and the company whose notice
brought the person, and say what that company will learn: only that a registration happened.
"""

import hashlib

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tsunagu.companies.actions import operator_party

# .2: the phone number (optional) joined the listed data. 2026-12-01: the retention is the operator's own,
# counted from the last use (as privacy.actions.retention enforces it), not the referring company's.
CONSENT_VERSION = "2026-12-01"

# What each consent of the form is for: a stable code (ConsentRecord.purpose) and its label.
PURPOSES = {
    "purpose": ("career_support", gettext_lazy("キャリア支援(キャリア相談・求人のご紹介・そのためのご連絡)")),
    "provision": ("provision_to_partners", gettext_lazy("提携する求人企業への情報提供(企業ごとに改めて同意)")),
}


def text_hash(text: str) -> str:
    """SHA-256 (hex) of the text exactly as shown: what ConsentRecord.text_hash holds."""
    return hashlib.sha256(text.encode()).hexdigest()


def texts_digest(texts: dict[str, str]) -> str:
    """One digest of the form's consent texts, posted back by the page that showed them: a text that changed
    between showing and posting is then shown again instead of being recorded as agreed."""
    return text_hash("\x00".join(f"{key}\x00{texts[key]}" for key in sorted(texts)))[:32]


def operator_facts(operator) -> dict[str, str]:
    """What the candidate's pages say about who runs the service (public_base.html's `relay`)."""
    return {
        "slug": operator.slug,  # its privacy policy's page: privacy:policy
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
            "求人のご紹介およびそのためのご連絡に限って利用します。保存期間は最後のご利用(ご登録、登録内容の更新、"
            "ご紹介など)から%(years)d年間、またはご本人が削除を依頼されるまでです。"
        ) % {"operator": name, "years": max(1, operator.retention_days // 365)},
        "provision": _(
            "求人のご紹介のために、ご本人の同意を得たうえで、%(operator)sが提携する求人企業へ上記の情報を"
            "提供することがあります(企業ごとに、提供の前にあらためてご本人の同意をいただきます)。"
            "%(company)sには、ご登録があったことのみが通知され、上記の情報は提供されません。"
        ) % {"operator": operator.name, "company": company.name},
    }
