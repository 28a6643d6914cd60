"""Reads used by more than one caller: a rejection's notice, the outbox, the suppression list, who must not
be sent a rejection, and what happened to a message (its timeline)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from django.db.models import Q
from django.utils.crypto import salted_hmac

from tsunagu.companies.models import Company
from tsunagu.messaging.models import (
    OPERATOR_KINDS,
    Message,
    MessageEvent,
    MessageKind,
    MessageStatus,
    Suppression,
)
from tsunagu.messaging.redaction import redact
from tsunagu.messaging.tracking.rules import reason_label
from tsunagu.talent.models import Application
from tsunagu.talent.normalize import email_key, kana_key, name_key
from tsunagu.talent.stages import Stage


def rejection_notice(application) -> Message | None:
    return Message.objects.filter(application=application, kind=MessageKind.REJECTION).first()


def company_messages(company):
    """The messages a company may see: its own, less the relay operator's kinds (a verification mail planned
    for a company before the operator sent its own mail stays hidden: it holds a verification link)."""
    return Message.objects.filter(company=company).exclude(kind__in=OPERATOR_KINDS)


def outbox_messages(company, *, status: str = "", kind: str = "", query: str = ""):
    """The company's outbox, newest first, filtered by status and kind (unknown values ignored) and searched
    ("Did 髙橋さん get the notice?") by name with or without spaces, reading, address or the ATS's
    application id."""
    rows = company_messages(company).select_related("application")
    if status in MessageStatus.values:
        rows = rows.filter(status=status)
    if kind in MessageKind.values:
        rows = rows.filter(kind=kind)
    if query:
        rows = rows.filter(Q(to_name__icontains=query) | Q(application__candidate__name_key__contains=name_key(query))
                           | Q(application__candidate__kana_key__contains=kana_key(query))
                           | Q(to_email__icontains=query) | Q(application__external_id=query))
    return rows


def candidates_hired_or_holding_offers(candidate_ids) -> set[int]:
    """Nobody is sent a rejection while hired, or holding an offer, in the same company."""
    if not candidate_ids:
        return set()
    return set(
        Application.objects.filter(candidate_id__in=set(candidate_ids))
        .filter(Q(status="hired") | Q(status="active", stage=Stage.OFFER))
        .values_list("candidate_id", flat=True)
    )


# --- the suppression list --------------------------------------------------------------------------

def erased_address_key(email: str) -> str:
    """What an erased person's suppression keeps instead of the address (SuppressionReason.ERASED): a keyed
    hash of its normalised form, which finds the address again when mail is about to go to it but cannot be
    turned back into it, nor matched by anyone without the server's secret key."""
    digest = salted_hmac("tsunagu.privacy.erased-address", email_key(email), algorithm="sha256").hexdigest()
    return f"erased:{digest[:48]}"


def suppression_keys(email: str) -> tuple[str, str]:
    """The two keys an address can be suppressed under: as itself, and as an erased person's hash."""
    return email_key(email), erased_address_key(email)


def suppression_for(company: Company, email: str) -> Suppression | None:
    """The company's suppression of this address, if it is on the list (by address, or by hash once erased)."""
    if not (email or "").strip():
        return None
    return Suppression.objects.filter(company=company, email_key__in=suppression_keys(email)).first()


# --- a message's timeline --------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEvent:
    occurred_at: datetime
    kind: str  # an EventKind value
    kind_label: str
    source: str  # "tracking", "relay" (the referral link's landing page), or a provider's name
    url: str
    user_agent: str
    machine: bool  # probably not a person: recorded, never counted as one
    machine_reason: str
    reason_label: str  # machine_reason in the console's words
    detail: str = ""


# More of a message's timeline, from apps above messaging: they record events about a message (e.g. relay's
# referral link records its own clicks) in tables messaging cannot import. Each app appends its function
# (message -> list[TimelineEvent]) here from its AppConfig.ready().
TIMELINE_SOURCES: list[Callable[[Message], list[TimelineEvent]]] = []


def message_timeline(message: Message) -> list[TimelineEvent]:
    """Everything that happened to one sent message, oldest first: its MessageEvents (opens, clicks,
    provider events) and what TIMELINE_SOURCES add (the referral link's clicks), each with its machine flag
    and the reason."""
    events = [
        TimelineEvent(occurred_at=event.occurred_at, kind=event.kind, kind_label=event.get_kind_display(),
                      source=event.source, url=event.url, user_agent=event.user_agent, machine=event.machine,
                      machine_reason=event.machine_reason, reason_label=reason_label(event.machine_reason),
                      detail=event.detail)
        for event in MessageEvent.objects.filter(company_id=message.company_id, message=message)
    ]
    for source in TIMELINE_SOURCES:
        events.extend(source(message))
    events.sort(key=lambda event: event.occurred_at)
    # The company reads this: the referral link's clicks name the personal link (redaction.py).
    return [replace(event, url=redact(event.url, message.pk), detail=redact(event.detail, message.pk))
            for event in events]
