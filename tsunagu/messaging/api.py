from datetime import datetime

from ninja import Query, Router, Schema
from pydantic import ConfigDict, Field

from tsunagu.lib.api_schemas import NO_NUL, error_responses, refuse_unknown_query
from tsunagu.messaging.models import MessageKind, MessageStatus
from tsunagu.messaging.redaction import redact
from tsunagu.messaging.selectors import company_messages

router = Router()

# Past any outbox's size, and within what the database takes as an offset.
MAX_OFFSET = 10**9


class MessageOut(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 42, "kind": "rejection", "status": "sent", "application": "A-1001", "to_email": "yoshiko@example.jp",
        "subject": "選考結果のご連絡(株式会社つなぐ)", "send_at": "2026-11-24T00:00:00Z",
        "sent_at": "2026-11-24T00:00:01Z", "attempts": 1, "last_error": "", "status_reason": "",
    }]})

    id: int
    kind: MessageKind
    status: MessageStatus = Field(description="scheduled, sending, sent, failed, cancelled, or suppressed (not "
                                              "sent: the address is on the company's suppression list; "
                                              "status_reason says why)")
    application: str | None = Field(None, description="The application's external_id")
    to_email: str
    subject: str
    send_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str
    status_reason: str = Field("", description="Why the message has its status, for `suppressed` the suppression "
                                               "list's reason and date (e.g. 配信停止の申し出, 2026-11-21); "
                                               "empty otherwise")


class MessageFilter(Schema):
    application: str | None = Field(None, pattern=NO_NUL, description="An application's external_id")
    status: MessageStatus | None = None
    kind: MessageKind | None = None
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


@router.get("", response={200: list[MessageOut], **error_responses(401, 422)},
            summary="List messages in the outbox")
def list_messages(request, filters: Query[MessageFilter]):
    """Newest first. `?application=A-1001` lists the notices for that application. The relay operator's mail
    (the registration verification) is not the company's and is never listed; a personal referral link in a
    subject reads as a placeholder."""
    refuse_unknown_query(request, MessageFilter)
    messages = company_messages(request.auth).select_related("application")
    if filters.application is not None:
        messages = messages.filter(application__external_id=filters.application)
    if filters.status is not None:
        messages = messages.filter(status=filters.status)
    if filters.kind is not None:
        messages = messages.filter(kind=filters.kind)
    return [
        {
            "id": m.pk, "kind": m.kind, "status": m.status,
            "application": m.application.external_id if m.application else None,
            "to_email": m.to_email, "subject": redact(m.subject, m.pk), "send_at": m.send_at, "sent_at": m.sent_at,
            "attempts": m.attempts, "last_error": m.last_error, "status_reason": m.status_reason,
        }
        for m in messages[filters.offset:filters.offset + filters.limit]
    ]
