"""Greenhouse: `Signature: sha256 <hex>` = HMAC-SHA256 of the raw body; `Greenhouse-Event-ID` per delivery."""

from __future__ import annotations

import json
import re
import uuid
from html import unescape

from django.utils.html import strip_tags
from pydantic import StrictStr

from tsunagu.intake.adapters.base import (
    Adapter,
    DeletedIds,
    Identifier,
    Outcome,
    Parsed,
    Shape,
    Stamp,
    header_id,
    hmac_sha256_hex,
    known_ids,
    parse_time,
    sha256_header_matches,
    text_field,
    validated,
)
from tsunagu.intake.events import IncomingApplicationEvent, IncomingErasure, IncomingJob
from tsunagu.talent.data import CandidateData, JobData

# Actions that carry an application whose status we follow; anything else (e.g. the ping sent when a
# webhook is saved) is answered 200 and ignored.
APPLICATION_ACTIONS = {
    "reject_candidate", "unreject_candidate", "hire_candidate", "candidate_hired", "candidate_stage_change",
    "application_updated", "new_candidate_application",
}
STATUS_BY_ACTION = {"reject_candidate": "rejected", "unreject_candidate": "active", "hire_candidate": "hired",
                    "candidate_hired": "hired"}
# Job and job-post events: the job is stored (talent.actions.jobs.save_job); a job that opens gets its
# rediscovery shortlist in the console, nothing is mailed. A deleted job is closed; a deleted post changes nothing.
JOB_ACTIONS = {"job_created", "job_updated", "job_deleted"}
JOB_POST_ACTIONS = {"job_post_created", "job_post_updated"}
# A candidate deleted in Greenhouse (by hand, through Harvest, in bulk, or merged into another) is erased in
# Tsunagu through the applications the event names as deleted with them. A merge usually names none (the
# applications move to the remaining candidate): then nothing is erased. `delete_application` is not followed:
# it fires when a person is taken off one job or duplicates are merged, and the person remains.
DELETE_ACTION = "delete_candidate"
NO_DELETED_APPLICATIONS = "delete_candidate naming no deleted application (e.g. a merge): nothing erased"


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


class _Office(Shape):
    name: StrictStr | None = None
    location: _Named | None = None


class _FullJob(Shape):
    id: Identifier | None = None
    name: StrictStr | None = None
    status: StrictStr | None = None
    notes: StrictStr | None = None
    departments: list[_Named | None] | None = None
    offices: list[_Office | None] | None = None


class _JobPost(Shape):
    id: Identifier | None = None
    job_id: Identifier | None = None
    title: StrictStr | None = None
    content: StrictStr | None = None
    location: _Named | None = None


class _Payload(Shape):
    application: _Application | None = None


class _DeletedPerson(Shape):
    id: Identifier | None = None
    # The example in Greenhouse's documentation names the list `deleted_application_ids`, its table of
    # attributes `application_ids`: either is read.
    deleted_application_ids: DeletedIds | None = None
    application_ids: DeletedIds | None = None


class _DeletionPayload(Shape):
    person: _DeletedPerson | None = None


class _DeletionBody(Shape):
    payload: _DeletionPayload | None = None


class _JobPayload(Shape):
    job: _FullJob | None = None
    job_post: _JobPost | None = None


class _JobBody(Shape):
    payload: _JobPayload | None = None


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
        if action == DELETE_ACTION:
            deleted = _deleted_application_ids(payload)
            return Parsed(event_id=event_id, action=action, relevant=bool(deleted),
                          ignored="" if deleted else NO_DELETED_APPLICATIONS)
        if action in JOB_ACTIONS | JOB_POST_ACTIONS:
            body = validated(_JobBody, payload, "body").payload or _JobPayload()
            job_id = _job_id(body, action)
            return Parsed(event_id=event_id, action=action, relevant=bool(job_id))
        if action not in APPLICATION_ACTIONS:
            return Parsed(event_id=event_id, action=action, relevant=False)
        application = (validated(_Body, payload, "body").payload or _Payload()).application or _Application()
        application_id = "" if application.id in (None, "") else str(application.id)
        return Parsed(event_id=event_id, action=action, relevant=bool(application_id),
                      application_id=application_id)

    def events(self, connection, payload):
        action = payload.get("action")
        if action == DELETE_ACTION:
            return Outcome(erasures=[IncomingErasure(application_ids=_deleted_application_ids(payload))])
        if action in JOB_ACTIONS | JOB_POST_ACTIONS:
            return Outcome(jobs=[job_from(action, payload["payload"])])
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


def _deleted_application_ids(payload: dict) -> tuple[str, ...]:
    person = (validated(_DeletionBody, payload, "body").payload or _DeletionPayload()).person or _DeletedPerson()
    return known_ids([*(person.deleted_application_ids or ()), *(person.application_ids or ())],
                     "payload.person.deleted_application_ids")


def _job_id(body: _JobPayload, action: str) -> str:
    if action in JOB_ACTIONS:
        found = body.job.id if body.job else None
    else:
        found = body.job_post.job_id if body.job_post else None
    return "" if found in (None, "") else str(found)


def job_from(action: str, payload: dict) -> IncomingJob:
    """The job a job or job-post event describes (None: the event does not say, the stored value is kept)."""
    if action in JOB_POST_ACTIONS:
        post = payload["job_post"]
        return IncomingJob(external_id=str(post["job_id"]), description=_plain(post.get("content")),
                           location=((post.get("location") or {}).get("name")) or None,
                           fallback_title=post.get("title") or "")
    job = payload["job"]
    if action == "job_deleted":
        return IncomingJob(external_id=str(job["id"]), status="closed", fallback_title=job.get("name") or "")
    departments = [d.get("name") for d in job.get("departments") or [] if d and d.get("name")]
    offices = [(o.get("location") or {}).get("name") or o.get("name") for o in job.get("offices") or [] if o]
    return IncomingJob(
        external_id=str(job["id"]), title=job.get("name") or None,
        category=departments[0] if departments else None,
        location="、".join(office for office in offices if office) or None,
        description=_plain(job.get("notes")),
        # Greenhouse's statuses are open, closed and draft: only open is open.
        status="open" if job.get("status") == "open" else "closed" if job.get("status") else None,
    )


def _plain(html: str | None) -> str | None:
    """A posting's HTML as text (tags dropped, entities read, block ends as line breaks); None when absent."""
    if html is None:
        return None
    text = re.sub(r"(?i)<br\s*/?>|</(p|div|li|h[1-6])>", "\n", html)
    return unescape(strip_tags(text)).strip()


ADAPTER = Greenhouse()
