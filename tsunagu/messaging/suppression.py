"""The company's suppression list: addresses it must not mail again (unsubscribes, hard bounces,
complaints, and addresses HR stops by hand). Checked when a message is about to be sent."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from tsunagu.companies.models import Company
from tsunagu.messaging.models import Message, Suppression
from tsunagu.talent.normalize import email_key


def suppress(company: Company, email: str, reason: str, *, message: Message | None = None,
             detail: str = "") -> Suppression:
    """Put an address on the list; idempotent (the first reason recorded is kept)."""
    key = email_key(email)
    existing = Suppression.objects.filter(company=company, email_key=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Suppression.objects.create(company=company, email_key=key, email=email.strip(), reason=reason,
                                              message=message, detail=detail[:300])
    except IntegrityError:  # suppressed a moment ago by a concurrent request
        return Suppression.objects.get(company=company, email_key=key)


def suppression_for(company: Company, email: str) -> Suppression | None:
    return Suppression.objects.filter(company=company, email_key=email_key(email)).first()


def suppressed_keys(company_id: int, emails: list[str]) -> set[str]:
    """Of these addresses, the keys of those on the company's list (one query for a delivery batch)."""
    keys = {email_key(email) for email in emails}
    return set(Suppression.objects.filter(company_id=company_id, email_key__in=keys)
               .values_list("email_key", flat=True))


def lift(company: Company, email: str) -> bool:
    """Take an address off the list (HR's decision, e.g. a bounce that was a typo since corrected)."""
    deleted, _ = Suppression.objects.filter(company=company, email_key=email_key(email)).delete()
    return bool(deleted)
