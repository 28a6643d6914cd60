"""Workable: `X-Workable-Signature` = HMAC-SHA256 of the raw body, hex or base64."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from pydantic import StrictStr

from tsunagu.intake.adapters.base import (
    Adapter,
    Identifier,
    Outcome,
    Parsed,
    Shape,
    Stamp,
    parse_time,
    payload_hash,
    text_field,
    validated,
)
from tsunagu.intake.events import IncomingApplicationEvent
from tsunagu.talent.data import CandidateData, JobData


# The fields events() reads, as Workable documents them: a body of another shape is refused (400).
class _Job(Shape):
    title: StrictStr | None = None
    shortcode: Identifier | None = None


class _Candidate(Shape):
    id: Identifier | None = None
    name: StrictStr | None = None
    email: StrictStr | None = None
    phone: StrictStr | None = None
    job: _Job | None = None
    updated_at: Stamp = None


class _Body(Shape):
    id: Identifier | None = None
    data: _Candidate | None = None
    fired_at: Stamp = None


class Workable(Adapter):
    kind = "workable"
    label = "Workable"
    position = 40
    sends_own_rejection_mail = True

    def verify(self, connection, headers, body):
        presented = (headers.get("X-Workable-Signature") or "").strip()
        if not presented or not presented.isascii():  # no digest; compare_digest raises on non-ASCII text
            return False
        digest = hmac.new(connection.secret.encode(), body, hashlib.sha256).digest()
        return hmac.compare_digest(presented.lower(), digest.hex()) or hmac.compare_digest(
            presented, base64.b64encode(digest).decode())

    def parse(self, connection, headers, payload, body):
        action = text_field(payload, "event_type")
        # Workable sends no delivery id: the body itself identifies a delivery (a retry repeats it).
        if action != "candidate_moved":
            own_id = payload.get("id")
            own_id = own_id if isinstance(own_id, (str, int)) and not isinstance(own_id, bool) else None
            return Parsed(event_id=str(own_id or payload_hash(body)), action=action, relevant=False)
        shaped = validated(_Body, payload, "body")
        data = shaped.data or _Candidate()
        application_id = "" if data.id in (None, "") else str(data.id)
        return Parsed(event_id=str(shaped.id or payload_hash(body)), action=action, relevant=bool(application_id),
                      application_id=application_id)

    def events(self, connection, payload):
        data = payload["data"]
        if not data.get("email"):
            return Outcome(ignored="no e-mail address")
        status = "rejected" if data.get("disqualified") else ("hired" if data.get("hired_at") else "active")
        job = data.get("job") or {}
        return Outcome(events=[IncomingApplicationEvent(
            external_id=str(data["id"]),
            candidate=CandidateData(name=data.get("name") or data["email"], email=data["email"],
                                    phone=data.get("phone") or ""),
            job=JobData(title=job.get("title") or "Workable", external_id=str(job.get("shortcode") or "")),
            status=status,
            stage=str(data.get("stage") or ""),
            rejection_reason=str(data.get("disqualification_reason") or "") if status == "rejected" else "",
            occurred_at=parse_time(data.get("updated_at") or payload.get("fired_at")),
            source=self.kind,
        )])

    def sample(self, connection):
        payload = {"event_type": "ping", "data": {"message": "Tsunagu test event"}}
        body = json.dumps(payload).encode()
        signature = hmac.new(connection.secret.encode(), body, hashlib.sha256).hexdigest()
        return {"X-Workable-Signature": signature, "Content-Type": "application/json"}, body, payload


ADAPTER = Workable()
