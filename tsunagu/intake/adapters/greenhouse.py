"""Greenhouse: `Signature: sha256 <hex>` = HMAC-SHA256 of the raw body; `Greenhouse-Event-ID` per delivery."""

from __future__ import annotations

import json
import uuid

from pydantic import StrictStr

from tsunagu.intake.adapters.base import (
    Adapter,
    Identifier,
    Outcome,
    Parsed,
    Shape,
    Stamp,
    header_id,
    hmac_sha256_hex,
    parse_time,
    sha256_header_matches,
    text_field,
    validated,
)
from tsunagu.intake.events import IncomingApplicationEvent
from tsunagu.talent.data import CandidateData, JobData

# Actions that carry an application whose status we follow; anything else (e.g. the ping sent when a
# webhook is saved) is answered 200 and ignored.
APPLICATION_ACTIONS = {
    "reject_candidate", "unreject_candidate", "hire_candidate", "candidate_hired", "candidate_stage_change",
    "application_updated", "new_candidate_application",
}
STATUS_BY_ACTION = {"reject_candidate": "rejected", "unreject_candidate": "active", "hire_candidate": "hired",
                    "candidate_hired": "hired"}


# The fields events() reads, as Greenhouse documents them: a body of another shape is refused (400).
class _Named(Shape):
    name: StrictStr | None = None


class _Value(Shape):
    value: StrictStr | None = None


class _Candidate(Shape):
    first_name: StrictStr | None = None
    last_name: StrictStr | None = None
    email_addresses: list[_Value] | None = None
    phone_numbers: list[_Value] | None = None


class _Job(Shape):
    id: Identifier | None = None
    name: StrictStr | None = None


class _Application(Shape):
    id: Identifier | None = None
    status: StrictStr | None = None
    candidate: _Candidate | None = None
    jobs: list[_Job] | None = None
    current_stage: _Named | None = None
    rejection_reason: _Named | None = None
    rejected_at: Stamp = None
    last_activity_at: Stamp = None


class _Payload(Shape):
    application: _Application | None = None


class _Body(Shape):
    payload: _Payload | None = None


class Greenhouse(Adapter):
    kind = "greenhouse"
    label = "Greenhouse"
    position = 10
    sends_own_rejection_mail = True

    def verify(self, connection, headers, body):
        return sha256_header_matches(headers.get("Signature"), " ", connection.secret, body)

    def parse(self, connection, headers, payload, body):
        event_id, action = header_id(headers, "Greenhouse-Event-ID"), text_field(payload, "action")
        if action not in APPLICATION_ACTIONS:
            return Parsed(event_id=event_id, action=action, relevant=False)
        application = (validated(_Body, payload, "body").payload or _Payload()).application or _Application()
        application_id = "" if application.id in (None, "") else str(application.id)
        return Parsed(event_id=event_id, action=action, relevant=bool(application_id),
                      application_id=application_id)

    def events(self, connection, payload):
        action = payload.get("action")
        application = payload["payload"]["application"]
        candidate = application.get("candidate") or {}
        if application.get("prospect"):
            return Outcome(ignored="prospect: no notice")
        status = STATUS_BY_ACTION.get(action) or {"rejected": "rejected", "hired": "hired"}.get(
            application.get("status"), "active")
        emails = [e.get("value") for e in candidate.get("email_addresses") or [] if e.get("value")]
        if not emails:
            return Outcome(ignored="no e-mail address")
        phones = [p.get("value") for p in candidate.get("phone_numbers") or [] if p.get("value")]
        jobs = application.get("jobs") or [{}]
        name = " ".join(part for part in (candidate.get("last_name"), candidate.get("first_name")) if part)
        reason = (application.get("rejection_reason") or {}).get("name") or "" if status == "rejected" else ""
        occurred = application.get("rejected_at") if status == "rejected" else application.get("last_activity_at")
        return Outcome(events=[IncomingApplicationEvent(
            external_id=str(application["id"]),
            candidate=CandidateData(name=name or emails[0], email=emails[0], phone=phones[0] if phones else ""),
            job=JobData(title=jobs[0].get("name") or "Greenhouse", external_id=str(jobs[0].get("id") or "")),
            status=status,
            stage=(application.get("current_stage") or {}).get("name") or "",
            rejection_reason=reason,
            occurred_at=parse_time(occurred),
            source=self.kind,
            # The candidate asked not to be e-mailed: recorded for the pool, no notice.
            notify=candidate.get("can_email") is not False,
        )])

    def sample(self, connection):
        payload = {"action": "ping", "payload": {"web_hook_id": 0, "message": "Tsunagu test event"}}
        body = json.dumps(payload).encode()
        headers = {"Signature": f"sha256 {hmac_sha256_hex(connection.secret, body)}",
                   "Greenhouse-Event-ID": f"tsunagu-test-{uuid.uuid4()}", "Content-Type": "application/json"}
        return headers, body, payload


ADAPTER = Greenhouse()
