"""Ashby: `Ashby-Signature: sha256=<hex>` over the raw body; `webhookActionId` is the same on retries."""

from __future__ import annotations

import json
import uuid

from tsunagu.intake.adapters.base import (
    Adapter,
    Outcome,
    Parsed,
    hmac_sha256_hex,
    parse_time,
    sha256_header_matches,
)
from tsunagu.intake.events import IncomingApplicationEvent
from tsunagu.talent.data import CandidateData, JobData

APPLICATION_ACTIONS = {"applicationUpdate", "candidateStageChange", "candidateHire", "applicationSubmit"}
STATUSES = {"Archived": "rejected", "Hired": "hired", "Active": "active", "Lead": "active"}


class Ashby(Adapter):
    kind = "ashby"
    label = "Ashby"
    position = 30
    sends_own_rejection_mail = True

    def verify(self, connection, headers, body):
        return sha256_header_matches(headers.get("Ashby-Signature"), "=", connection.secret, body)

    def parse(self, connection, headers, payload, body):
        action = str(payload.get("action", ""))
        application = (payload.get("data") or {}).get("application") or {}
        return Parsed(event_id=str(payload.get("webhookActionId", "")), action=action,
                      relevant=action in APPLICATION_ACTIONS and bool(application.get("id")),
                      application_id=str(application.get("id", "")))

    def events(self, connection, payload):
        application = payload["data"]["application"]
        status = STATUSES.get(application.get("status"), "active")
        archive_reason = application.get("archiveReason") or {}
        if status == "rejected" and not archive_reason:
            return Outcome(ignored="archived without a reason: not a rejection")
        candidate = application.get("candidate") or {}
        email = (candidate.get("primaryEmailAddress") or {}).get("value", "")
        if not email:
            return Outcome(ignored="no e-mail address")
        job = application.get("job") or {}
        return Outcome(events=[IncomingApplicationEvent(
            external_id=str(application["id"]),
            candidate=CandidateData(name=candidate.get("name") or email, email=email,
                                    phone=(candidate.get("primaryPhoneNumber") or {}).get("value", "")),
            job=JobData(title=job.get("title") or "Ashby", external_id=str(job.get("id") or "")),
            status=status,
            stage=(application.get("currentInterviewStage") or {}).get("title", ""),
            rejection_reason=archive_reason.get("text", "") if status == "rejected" else "",
            occurred_at=parse_time(application.get("updatedAt")),
            source=self.kind,
        )])

    def sample(self, connection):
        payload = {"action": "ping", "data": {"message": "Tsunagu test event"}, "webhookActionId": str(uuid.uuid4())}
        body = json.dumps(payload).encode()
        headers = {"Ashby-Signature": f"sha256={hmac_sha256_hex(connection.secret, body)}",
                   "Content-Type": "application/json"}
        return headers, body, payload


ADAPTER = Ashby()
