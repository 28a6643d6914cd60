"""The consent to one introduction (第三者提供の同意), word for word: who provides what to whom, for which
position. The registrant's page shows this text; the same text, character for character, is what the
ConsentRecord keeps (the page posts a digest of what it showed, and a text that changed meanwhile is shown
again instead of being consented to). Read-only."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from tsunagu.companies.models import Company
from tsunagu.relay.models import Introduction

INTRODUCTION_CONSENT_VERSION = "2026-12-01"
# How long the personal consent link works after it was sent.
CONSENT_LINK_DAYS = 14


@dataclass(frozen=True)
class ProvidedItem:
    label: str
    value: str


# The registrant's data a company receives once the person consents (Registrant fields), and nothing else.
PROFILE_FIELDS = ("name", "email", "phone", "desired_job", "desired_region")
PROFILE_LABELS = (_lazy("氏名"), _lazy("メールアドレス"), _lazy("電話番号"), _lazy("希望職種"), _lazy("希望勤務地"))


def provided_items(introduction: Introduction) -> list[ProvidedItem]:
    """What the company sees of an introduced person: the consented items and the recommendation."""
    registrant = introduction.registrant
    none = _("(登録なし)")
    items = [ProvidedItem(str(label), getattr(registrant, field) or none)
             for field, label in zip(PROFILE_FIELDS, PROFILE_LABELS, strict=True)]
    return [*items, ProvidedItem(_("推薦文"), introduction.recommendation or none)]


def introduction_consent_text(introduction: Introduction, operator: Company) -> str:
    request = introduction.request
    company = request.company
    provider = operator.name + (
        _("(有料職業紹介事業 許可番号 %(number)s)") % {"number": operator.licence_number}
        if operator.licence_number else "")
    position = _("%(title)s(%(type)s、勤務地: %(location)s)") % {
        "title": request.title, "type": request.get_employment_type_display(),
        "location": request.location or _("記載なし")}
    # The items by name, not by value: the page may be opened by whoever holds the link; the values are the
    # person's own registration, and the recommendation is quoted in full because the person has not seen it.
    lines = [
        _("%(provider)sは、%(company)sの求人「%(position)s」へ私を推薦するため、次の情報を%(company)sに提供します。") % {
            "provider": provider, "company": company.name, "position": position},
        "",
        "・" + _("%(items)s(%(operator)sにご登録いただいている内容)") % {
            "items": "、".join(str(label) for label in PROFILE_LABELS), "operator": operator.name},
        "・" + _("%(operator)sの推薦文(次の全文)") % {"operator": operator.name},
        introduction.recommendation or _("(推薦文なし)"),
        "",
        _("%(company)sは、この情報をこの求人の採用選考と、そのための私への連絡に限って利用します。"
          "この同意はこの1件の推薦に限るもので、他の企業や他の求人には提供されません。") % {"company": company.name},
        _("同意の記録(この文面と日時)は%(operator)sが保管します。") % {"operator": operator.name},
    ]
    return "\n".join(lines)


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]
