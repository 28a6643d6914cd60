"""The one normalised application event every intake path (API, webhook, CSV) produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tsunagu.talent.data import CandidateData, JobData


@dataclass(frozen=True)
class IncomingApplicationEvent:
    external_id: str
    candidate: CandidateData
    job: JobData
    status: str
    occurred_at: datetime
    stage: str = ""
    rejection_reason: str = ""
    source: str = "api"
    # The source's id for this delivery; repeats with the same id change nothing.
    event_id: str = ""
    # False for history (e.g. an old CSV export): record the rejection, send nothing.
    notify: bool = True
    # Set when the connection maps the source's stage name onto one of Tsunagu's stages explicitly.
    stage_code: int | None = None
    # Optional facts about the application (the CSV's 応募日, 応募経路, 評価 and タグ; the API's fields of the
    # same names). Empty or None means "not given": the stored value is kept. `channel` is where the candidate
    # applied (a job board, referral, ...); `source` above is the integration the event came through.
    applied_at: datetime | None = None
    channel: str = ""
    evaluation: str = ""
    tags: tuple[str, ...] | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class IncomingJob:
    """A job as an ATS's job event describes it (Greenhouse job and job-post webhooks, Ashby's job events).
    None means "the event does not say": the stored value is kept (a new job gets the default)."""

    external_id: str
    title: str | None = None
    category: str | None = None
    description: str | None = None
    location: str | None = None
    requirements: str | None = None
    # "open" or "closed".
    status: str | None = None
    # The title of a job not stored yet when the event does not name the job itself (a job post's title).
    fallback_title: str = ""


@dataclass(frozen=True)
class IncomingErasure:
    """A person the ATS deleted, as its deletion event names them: the ids of their applications that went
    with them (Greenhouse, Lever) or only the ATS's own id of the candidate (Ashby). In the second case
    `candidate_id_path` is where the vendor's application payloads carry that id, so that the deliveries
    Tsunagu received about the person tell which applications were theirs."""

    application_ids: tuple[str, ...] = ()
    candidate_id: str = ""
    candidate_id_path: tuple[str, ...] = ()
