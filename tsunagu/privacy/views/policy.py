"""The public privacy-policy page of a company, or of the relay operator, at a stable URL that every mail's
footer, the relay's pages and the mail-preference page link to (個人情報保護法: 利用目的の通知・公表).

The company's own policy (Company.privacy_policy) is shown as plain text, or when it is a single http(s) URL,
as a link to it (never a redirect: the person sees where they are going). Below it, always, what Tsunagu
itself knows and does with the person's data: purposes, retention, provision, contact and how to make a
request. Nothing else: no counts, no ids, nothing about the people."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from tsunagu.companies.actions import operator_party
from tsunagu.companies.models import Company
from tsunagu.relay.consent import operator_facts

_URL = URLValidator(schemes=["http", "https"])
# A longer "URL" is text someone pasted, not an address to link.
MAX_URL_LENGTH = 2000


def policy_link(policy: str) -> str:
    """The policy's address when the policy is just one http(s) URL; "" otherwise (then it is text)."""
    candidate = policy.strip()
    if not candidate or len(candidate) > MAX_URL_LENGTH or any(c.isspace() for c in candidate):
        return ""
    try:
        _URL(candidate)
    except ValidationError:
        return ""
    return candidate


def _years(days: int) -> str:
    return f"{days / 365:.1f}".removesuffix(".0")


@require_safe
def policy(request, slug: str):
    company = get_object_or_404(Company, slug=slug)
    operator = company if company.is_operator else operator_party()
    text = company.privacy_policy or ""
    link = policy_link(text)
    return render(request, "privacy/policy.html", {
        "company": company,
        "is_operator": company.is_operator,
        "relay": operator_facts(operator),
        "policy_url": link,
        "policy_text": "" if link else text.strip(),
        "contact": company.reply_to or company.sender_email,
        "retention_days": company.retention_days,
        "retention_years": _years(company.retention_days),
    })
