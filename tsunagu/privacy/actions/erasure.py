"""Erasing a person: every app's rows of their personal data, in one transaction, with a record that it
happened (privacy.Erasure) and, if they chose it, a keyed hash of the address so that they are not mailed again.

A company's candidate and the relay's registrant are erased separately: they are two parties' records (the
company's and the operator's). The person's own page offers both when both exist.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tsunagu.companies.actions import record_access
from tsunagu.companies.models import AccessAction, AccessChannel
from tsunagu.messaging.actions.erasure import erase_messages, keep_suppression_as_hash, redact_staff_mail
from tsunagu.messaging.models import Message
from tsunagu.privacy.models import Erasure, ErasureReason, PrivacyRequest
from tsunagu.privacy.signals import candidate_erased
from tsunagu.relay.actions.erasure import anonymise_registrant, erase_candidate_registrations
from tsunagu.relay.models import Registrant
from tsunagu.talent.actions.personal_data import anonymise_candidate
from tsunagu.talent.models import Application, Candidate


@transaction.atomic
def erase_candidate(candidate: Candidate, *, reason: str, actor: str = "", request: PrivacyRequest | None = None,
                    suppress_mail: bool = False, user=None, api_key: str = "") -> Erasure:
    """Erase one company's candidate everywhere the company's data lives. Idempotent: a candidate already
    erased gets its earlier record back (and, if asked now, the address's hash kept: but the address is gone,
    so only what was chosen the first time counts)."""
    candidate = Candidate.objects.select_for_update().get(pk=candidate.pk)
    if candidate.erased_at is not None:
        return Erasure.objects.filter(subject_kind="candidate", subject_id=candidate.pk).first() or \
            _record(candidate.company, "candidate", candidate.pk, reason, actor, request, {}, False)
    company, address, now = candidate.company, candidate.email, timezone.now()
    external_ids = list(Application.objects.filter(candidate=candidate).values_list("external_id", flat=True))
    messages = Message.objects.filter(company=company).filter(
        Q(application__candidate=candidate) | Q(application__isnull=True, context__candidate_id=candidate.pk))
    message_ids = list(messages.values_list("pk", flat=True))
    counts = erase_messages(Message.objects.filter(pk__in=message_ids), now=now)
    counts.update(erase_candidate_registrations(candidate.pk, message_ids))
    counts["messaging.message (staff mail)"] = redact_staff_mail(company, _words_of(candidate))
    suppressed = keep_suppression_as_hash(company, address, suppress=suppress_mail)
    counts.update(anonymise_candidate(candidate, now=now))
    counts["privacy.privacyrequest"] = PrivacyRequest.objects.filter(candidate=candidate).update(note="")
    candidate_erased.send(sender=Candidate, company=company, candidate_id=candidate.pk,
                          application_external_ids=external_ids, counts=counts)
    _log(company, "candidate", candidate.pk, reason, user, api_key)
    return _record(company, "candidate", candidate.pk, reason, actor, request, counts, suppressed)


@transaction.atomic
def erase_registrant(registrant: Registrant, *, operator, reason: str, actor: str = "",
                     request: PrivacyRequest | None = None, suppress_mail: bool = False, user=None) -> Erasure:
    """Erase the relay's registrant (the operator's record of the person), with the operator's mail to them.
    The companies' own candidates are theirs to erase. Idempotent like erase_candidate."""
    registrant = Registrant.objects.select_for_update().get(pk=registrant.pk)
    if registrant.email_key.startswith("erased:"):
        return Erasure.objects.filter(subject_kind="registrant", subject_id=registrant.pk).first() or \
            _record(operator, "registrant", registrant.pk, reason, actor, request, {}, False)
    address, now = registrant.email, timezone.now()
    messages = Message.objects.filter(company=operator, to_email__iexact=address.strip()) if address else \
        Message.objects.none()
    counts = erase_messages(messages, now=now)
    counts["messaging.message (staff mail)"] = redact_staff_mail(operator, _words_of(registrant))
    suppressed = keep_suppression_as_hash(operator, address, suppress=suppress_mail)
    counts.update(anonymise_registrant(registrant, now=now))
    counts["privacy.privacyrequest"] = PrivacyRequest.objects.filter(registrant=registrant).update(note="")
    _log(operator, "registrant", registrant.pk, reason, user, "")
    return _record(operator, "registrant", registrant.pk, reason, actor, request, counts, suppressed)


def _words_of(person) -> list[str]:
    """What names or reaches the person, as staff mail could quote it."""
    return [person.name, person.name_kana, person.email, person.phone]


# Where each kind of erasure came from, in the access log's words.
_CHANNELS = {ErasureReason.REQUEST: AccessChannel.PERSON, ErasureReason.STAFF: AccessChannel.CONSOLE,
             ErasureReason.API: AccessChannel.API, ErasureReason.ATS: AccessChannel.SYSTEM,
             ErasureReason.RETENTION: AccessChannel.SYSTEM}


def _log(company, subject_kind, subject_id, reason, user, api_key) -> None:
    channel = _CHANNELS.get(reason, AccessChannel.SYSTEM)
    if channel == AccessChannel.CONSOLE and company.is_operator:
        channel = AccessChannel.OPERATOR
    record_access(company, user=user, api_key=api_key or None, channel=channel, action=AccessAction.DELETE,
                  subject_kind=subject_kind, subject_id=subject_id, detail=reason)


def _record(company, subject_kind, subject_id, reason, actor, request, counts, suppressed) -> Erasure:
    return Erasure.objects.create(company=company, subject_kind=subject_kind, subject_id=subject_id, reason=reason,
                                  actor=actor[:254], request=request, counts=counts, suppressed=suppressed)
