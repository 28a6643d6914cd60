"""Ashby: `Ashby-Signature: sha256=<hex>` over the raw body; `webhookActionId` is the same on retries."""

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
    hmac_sha256_hex,
    known_ids,
    parse_time,
    sha256_header_matches,
    text_field,
    validated,
)
from tsunagu.intake.events import IncomingApplicationEvent, IncomingErasure, IncomingJob
from tsunagu.talent.data import CandidateData, JobData

APPLICATION_ACTIONS = {"applicationUpdate", "candidateStageChange", "candidateHire", "applicationSubmit"}
STATUSES = {"Archived": "rejected", "Hired": "hired", "Active": "active", "Lead": "active"}
# Job events: the job is stored (talent.actions.jobs.save_job); one that opens gets its rediscovery shortlist
# in the console, nothing is mailed. Ashby's job statuses are Draft, Open, Closed and Archived: only Open is open.
JOB_ACTIONS = {"jobCreate", "jobUpdate"}
# A posting describes its job (text, location); whether the job is open is the job's status, not the posting's.
JOB_POSTING_ACTIONS = {"jobPostingUpdate", "jobPostingPublish", "jobPostingUnpublish"}
# A candidate deleted in Ashby is erased in Tsunagu. The event names only Ashby's id of the candidate: the
# applications are those whose deliveries carried that id (data.application.candidate.id). `candidateMerge` is
# not followed: the person remains, as the merged candidate.
DELETE_ACTION = "candidateDelete"
CANDIDATE_ID_PATH = ("data", "application", "candidate", "id")


# The fields events() reads, as Ashby documents them: a body of another shape is refused (400).
class _Value(Shape):
    value: StrictStr | None = None


class _Candidate(Shape):
    name: StrictStr | None = None
    primaryEmailAddress: _Value | None = None  # noqa: N815 - Ashby's field names
    primaryPhoneNumber: _Value | None = None  # noqa: N815


class _Titled(Shape):
    id: Identifier | None = None
    title: StrictStr | None = None
    text: StrictStr | None = None


class _Application(Shape):
    id: Identifier | None = None
    status: StrictStr | None = None
    updatedAt: Stamp = None  # noqa: N815
    candidate: _Candidate | None = None
    job: _Titled | None = None
    currentInterviewStage: _Titled | None = None  # noqa: N815
    archiveReason: _Titled | None = None  # noqa: N815


class _Data(Shape):
    application: _Application | None = None


class _Named(Shape):
    name: StrictStr | None = None


class _Job(Shape):
    id: Identifier | None = None
    title: StrictStr | None = None
    status: StrictStr | None = None
    departmentName: StrictStr | None = None  # noqa: N815
    locationName: StrictStr | None = None  # noqa: N815
    department: _Named | None = None
    location: _Named | None = None


class _JobPosting(Shape):
    id: Identifier | None = None
    jobId: Identifier | None = None  # noqa: N815
    title: StrictStr | None = None
    descriptionPlain: StrictStr | None = None  # noqa: N815
    departmentName: StrictStr | None = None  # noqa: N815
    locationName: StrictStr | None = None  # noqa: N815


class _JobData(Shape):
    job: _Job | None = None
    jobPosting: _JobPosting | None = None  # noqa: N815


class _JobBody(Shape):
    data: _JobData | None = None


class _Body(Shape):
    data: _Data | None = None


class _DeletedCandidate(Shape):
    id: Identifier | None = None


class _DeletionData(Shape):
    candidate: _DeletedCandidate | None = None


class _DeletionBody(Shape):
    data: _DeletionData | None = None


class Ashby(Adapter):
    kind = "ashby"
    label = "Ashby"
    position = 30
    sends_own_rejection_mail = True

    def verify(self, connection, headers, body):
        return sha256_header_matches(headers.get("Ashby-Signature"), "=", connection.secret, body)

    def parse(self, connection, headers, payload, body):
        action, event_id = text_field(payload, "action"), text_field(payload, "webhookActionId")
        if action == DELETE_ACTION:
            candidate_id = _deleted_candidate_id(payload)
            return Parsed(event_id=event_id, action=action, relevant=bool(candidate_id),
                          ignored="" if candidate_id else "candidateDelete naming no candidate: nothing erased")
        if action in JOB_ACTIONS | JOB_POSTING_ACTIONS:
            data = validated(_JobBody, payload, "body").data or _JobData()
            found = (data.job.id if data.job else None) if action in JOB_ACTIONS else (
                data.jobPosting.jobId if data.jobPosting else None)
            return Parsed(event_id=event_id, action=action, relevant=found not in (None, ""))
        if action not in APPLICATION_ACTIONS:
            return Parsed(event_id=event_id, action=action, relevant=False)
        application = (validated(_Body, payload, "body").data or _Data()).application or _Application()
        application_id = "" if application.id in (None, "") else str(application.id)
        return Parsed(event_id=event_id, action=action, relevant=bool(application_id), application_id=application_id)

    def events(self, connection, payload):
        if payload.get("action") == DELETE_ACTION:
            return Outcome(erasures=[IncomingErasure(candidate_id=_deleted_candidate_id(payload),
                                                     candidate_id_path=CANDIDATE_ID_PATH)])
        if payload.get("action") in JOB_ACTIONS | JOB_POSTING_ACTIONS:
            return Outcome(jobs=[job_from(payload["action"], payload["data"])])
        application = payload["data"]["application"]
        status = STATUSES.get(application.get("status"), "active")
        archive_reason = application.get("archiveReason") or {}
        if status == "rejected" and not archive_reason:
            return Outcome(ignored="archived without a reason: not a rejection")
        candidate = application.get("candidate") or {}
        email = (candidate.get("primaryEmailAddress") or {}).get("value") or ""
        if not email:
            return Outcome(ignored="no e-mail address")
        job = application.get("job") or {}
        return Outcome(events=[IncomingApplicationEvent(
            external_id=str(application["id"]),
            candidate=CandidateData(name=candidate.get("name") or email, email=email,
                                    phone=(candidate.get("primaryPhoneNumber") or {}).get("value") or ""),
            job=JobData(title=job.get("title") or "Ashby", external_id=str(job.get("id") or "")),
            status=status,
            stage=(application.get("currentInterviewStage") or {}).get("title") or "",
            rejection_reason=archive_reason.get("text") or "" if status == "rejected" else "",
            occurred_at=parse_time(application.get("updatedAt")),
            source=self.kind,
        )])

    def sample(self, connection):
        payload = {"action": "ping", "data": {"message": "Tsunagu test event"}, "webhookActionId": str(uuid.uuid4())}
        body = json.dumps(payload).encode()
        headers = {"Ashby-Signature": f"sha256={hmac_sha256_hex(connection.secret, body)}",
                   "Content-Type": "application/json"}
        return headers, body, payload


def _deleted_candidate_id(payload: dict) -> str:
    candidate = (validated(_DeletionBody, payload, "body").data or _DeletionData()).candidate or _DeletedCandidate()
    found = known_ids([candidate.id], "data.candidate.id")
    return found[0] if found else ""


def job_from(action: str, data: dict) -> IncomingJob:
    """The job a job or job-posting event describes (None: not said, the stored value is kept)."""
    if action in JOB_POSTING_ACTIONS:
        posting = data["jobPosting"]
        return IncomingJob(external_id=str(posting["jobId"]), description=posting.get("descriptionPlain"),
                           location=posting.get("locationName") or None,
                           category=posting.get("departmentName") or None,
                           fallback_title=posting.get("title") or "")
    job = data["job"]
    status = job.get("status")
    return IncomingJob(
        external_id=str(job["id"]), title=job.get("title") or None,
        category=job.get("departmentName") or (job.get("department") or {}).get("name") or None,
        location=job.get("locationName") or (job.get("location") or {}).get("name") or None,
        status=("open" if status == "Open" else "closed") if status else None,
    )


ADAPTER = Ashby()
