from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from tsunagu.messaging.models import Message, MessageKind, MessageStatus
from tsunagu.talent.normalize import kana_key, name_key


def rejection_notice(application) -> Message | None:
    return Message.objects.filter(application=application, kind=MessageKind.REJECTION).first()


def outbox_messages(company, *, status: str = "", kind: str = "", query: str = ""):
    """The company's outbox, newest first, filtered by status and kind (unknown values ignored) and searched
    ("Did 髙橋さん get the notice?") by name with or without spaces, reading, address or the ATS's
    application id."""
    rows = Message.objects.filter(company=company).select_related("application")
    if status in MessageStatus.values:
        rows = rows.filter(status=status)
    if kind in MessageKind.values:
        rows = rows.filter(kind=kind)
    if query:
        rows = rows.filter(Q(to_name__icontains=query) | Q(application__candidate__name_key__contains=name_key(query))
                           | Q(application__candidate__kana_key__contains=kana_key(query))
                           | Q(to_email__icontains=query) | Q(application__external_id=query))
    return rows


# --- tracking --------------------------------------------------------------------------------------


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


def message_timeline(message: Message) -> list[TimelineEvent]:
    """Everything that happened to one sent message, oldest first: its MessageEvents (opens, clicks,
    provider events) and the referral link's clicks, each with its machine flag and the reason."""
    from django.conf import settings

    from tsunagu.messaging import tracking
    from tsunagu.messaging.models import EventKind, MessageEvent
    from tsunagu.relay.models import Click

    events = [
        TimelineEvent(occurred_at=event.occurred_at, kind=event.kind, kind_label=event.get_kind_display(),
                      source=event.source, url=event.url, user_agent=event.user_agent, machine=event.machine,
                      machine_reason=event.machine_reason, reason_label=tracking.reason_label(event.machine_reason),
                      detail=event.detail)
        for event in MessageEvent.objects.filter(company_id=message.company_id, message=message)
    ]
    # The referral link records its own Click (no flags stored): classify it with the same rules.
    landing = settings.BASE_URL + tracking.referral_path(message.pk)
    for click in Click.objects.filter(company_id=message.company_id, message=message).order_by("created_at", "pk"):
        since = (click.created_at - message.sent_at).total_seconds() if message.sent_at else None
        reason = tracking.machine_reason(EventKind.CLICKED, method="GET", user_agent=click.user_agent,
                                         seconds_since_sent=since)
        events.append(TimelineEvent(
            occurred_at=click.created_at, kind=EventKind.CLICKED, kind_label=EventKind.CLICKED.label,
            source="relay", url=landing, user_agent=click.user_agent, machine=bool(reason), machine_reason=reason,
            reason_label=tracking.reason_label(reason),
        ))
    events.sort(key=lambda event: event.occurred_at)
    return events
