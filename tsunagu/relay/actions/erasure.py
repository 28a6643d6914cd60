"""Erasing a person's data from the relay's tables: what they typed on the registration form (kept on the
company's registration rows), and, when the person asks the operator, the registrant record itself with the
advisors' notes and the recommendations written about them. The rows the ledger stands on stay, anonymised.
Called by tsunagu.privacy.actions.erasure."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from tsunagu.messaging.actions.erasure import REDACTED
from tsunagu.relay.models import (
    Click,
    ConsentRecord,
    Introduction,
    Registrant,
    RegistrantNote,
    RegistrantStatus,
    Registration,
    RegistrationRequest,
)

_FORM_BLANKS = {"name": "", "email": "", "desired_job": "", "desired_region": "", "phone": ""}
_REGISTRANT_BLANKS = {"email": "", "name": "", "name_kana": "", "name_key": "", "kana_key": "", "phone": "",
                      "phone_e164": "", "desired_job": "", "desired_region": ""}


def erase_candidate_registrations(candidate_id: int, message_ids: list[int]) -> dict[str, int]:
    """Blank the registration form's details (and the fraud signals' hashes) kept for one company's candidate,
    and the browsers of their link's clicks; rows changed per table."""
    return {
        "relay.registrationrequest": RegistrationRequest.objects.filter(candidate_id=candidate_id).update(
            **_FORM_BLANKS, network_hash="", browser_hash=""),
        "relay.registration": Registration.objects.filter(candidate_id=candidate_id).update(**_FORM_BLANKS),
        "relay.click": Click.objects.filter(message_id__in=message_ids).update(user_agent=""),
    }


def anonymise_registrant(registrant: Registrant, *, now: datetime) -> dict[str, int]:
    """Blank the registrant's record (its address key becomes `erased:<id>`), remove the advisors' notes, the
    form details of every registration they made and the recommendations written for their introductions.
    The registrations, introductions and consent records stay for the ledger and the law's records."""
    address = registrant.email.strip()
    words = sorted({w.strip() for w in (registrant.name, registrant.name_kana, registrant.email, registrant.phone)
                    if w and len(w.strip()) >= 2}, key=len, reverse=True)
    fields = {**_REGISTRANT_BLANKS, "email_key": f"erased:{registrant.pk}", "status": RegistrantStatus.WITHDRAWN,
              "open_to_former_companies": False}
    Registrant.objects.filter(pk=registrant.pk).update(**fields, updated_at=now)
    for name, value in fields.items():
        setattr(registrant, name, value)
    registrations = Registration.objects.filter(registrant=registrant)
    consents = 0
    for consent in ConsentRecord.objects.filter(registrant=registrant):
        text = consent.text
        for word in words:
            text = text.replace(word, REDACTED)
        if text != consent.text:
            # An introduction's consent names the person: the name goes, the hash of the text as it was shown
            # (text_hash) stays, as proof that a consent was given to that wording.
            ConsentRecord.objects.filter(pk=consent.pk).update(text=text)
            consents += 1
    return {
        "relay.consentrecord": consents,
        "relay.registrant": 1,
        "relay.registrantnote": RegistrantNote.objects.filter(registrant=registrant).delete()[0],
        # Verified ones through their registration, and forms never verified by the address typed in them.
        "relay.registrationrequest": RegistrationRequest.objects.filter(
            Q(pk__in=registrations.values("request_id")) | Q(email__iexact=address) if address else
            Q(pk__in=registrations.values("request_id"))).update(**_FORM_BLANKS, network_hash="", browser_hash=""),
        "relay.registration": registrations.update(**_FORM_BLANKS),
        "relay.introduction": Introduction.objects.filter(registrant=registrant).update(recommendation="",
                                                                                        updated_at=now),
    }
