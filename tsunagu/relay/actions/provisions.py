"""The record of provision to third parties (第三者提供の記録, 個人情報保護法 第29条): when the relay provides a
registrant's data to a company (an introduction the registrant consented to), what it provided to whom, on
whose consent and through which staff member. Written in the consent's transaction; never changed."""

from __future__ import annotations

from datetime import datetime

from tsunagu.relay.introduction_consent import PROFILE_FIELDS
from tsunagu.relay.models import ConsentRecord, Introduction, ProvisionRecord

RECOMMENDATION = "recommendation"


def provided_fields(introduction: Introduction) -> list[str]:
    """The names of the items the company receives: the profile fields that hold a value, and the
    recommendation when there is one (introduction_consent.provided_items shows their values)."""
    registrant = introduction.registrant
    items = [field for field in PROFILE_FIELDS if getattr(registrant, field)]
    return [*items, RECOMMENDATION] if introduction.recommendation else items


def record_provision(introduction: Introduction, *, consent: ConsentRecord, when: datetime) -> ProvisionRecord:
    request = introduction.request
    staff = introduction.proposed_by
    return ProvisionRecord.objects.create(
        provided_at=when, recipient=request.company, recipient_name=request.company.name,
        registrant=introduction.registrant, introduction=introduction, request_title=request.title[:200],
        items=provided_fields(introduction), consent=consent, staff=staff,
        staff_email=staff.email if staff else "",
    )
