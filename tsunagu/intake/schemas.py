"""The REST schemas of the applications resource (POST and GET /api/v1/applications), also the body the
generic webhook adapter accepts."""

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from django.utils import timezone
from email_validator import EmailNotValidError, validate_email
from ninja import Schema
from pydantic import ConfigDict, Field, field_validator

from tsunagu.intake.events import IncomingApplicationEvent
from tsunagu.lib.api_schemas import NOT_BLANK, InputSchema, IsoDateTime
from tsunagu.messaging.models import MessageStatus
from tsunagu.messaging.selectors import rejection_notice
from tsunagu.talent.data import CandidateData, JobData
from tsunagu.talent.models import ApplicationStatus
from tsunagu.talent.normalize import MAX_TAG_LENGTH, clean_tags
from tsunagu.talent.stages import Stage

MAX_TAGS = 30
StageName = Literal[tuple(stage.name.lower() for stage in Stage)]


class CandidateIn(InputSchema):
    name: str = Field(..., min_length=1, max_length=200, pattern=NOT_BLANK,
                      description="Full name as the candidate wrote it")
    name_kana: str = Field("", max_length=200)
    # Checked by email-validator (no deliverability check): declared as the format it checks.
    email: str = Field(..., max_length=254, json_schema_extra={"format": "email"},
                       description="The candidate's e-mail address, stored normalised. Special-use domains "
                                   "(.test, .invalid, .localhost, .local, .onion, .arpa) are refused (422).")
    phone: str = Field("", max_length=50)

    @field_validator("name")
    @classmethod
    def name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name must not be blank")
        return value

    @field_validator("email")
    @classmethod
    def email_valid(cls, value: str) -> str:
        try:
            return validate_email(value.strip(), check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(f"not a valid e-mail address: {exc}") from exc


class JobIn(InputSchema):
    external_id: str = Field("", max_length=200)
    title: str = Field(..., min_length=1, max_length=300)
    category: str = Field("", max_length=200)


class ApplicationIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "external_id": "A-1001",
                    "candidate": {"name": "髙橋 𠮷子", "name_kana": "タカハシ ヨシコ",
                                  "email": "yoshiko@example.jp", "phone": "090-1234-5678"},
                    "job": {"external_id": "J-1", "title": "バックエンドエンジニア", "category": "エンジニア"},
                    "stage": "一次面接",
                    "status": "rejected",
                    "rejection_reason": "スキル不一致",
                    "occurred_at": "2026-11-21T10:00:00+09:00",
                    "applied_at": "2026-10-01T09:00:00+09:00",
                    "channel": "自社採用サイト",
                    "evaluation": "B",
                    "tags": ["Python", "リーダー経験"],
                }
            ]
        }
    )

    external_id: str = Field(..., min_length=1, max_length=200, pattern=NOT_BLANK,
                             description="The source's id for the application (trimmed)")
    candidate: CandidateIn
    job: JobIn
    status: Literal["active", "rejected", "hired", "withdrawn"] = Field(
        ..., description="`rejected` plans one notice; any other status cancels a notice not yet sent"
    )
    stage: str = Field("", max_length=200, description="Selection stage as the ATS names it, e.g. 一次面接")
    rejection_reason: str = Field("", max_length=300)
    occurred_at: IsoDateTime | None = Field(
        None, description="When the decision was made (default: now). Without an offset, the company's time zone."
    )
    event_id: str = Field("", max_length=200, description="Optional id of this change; a repeat is ignored")
    notify: bool = Field(True, strict=True,  # true or false, not "no" or 0
                         description="false records a rejection without sending a notice (history)")
    applied_at: IsoDateTime | None = Field(
        None, description="When the candidate applied. Without an offset, the company's time zone."
    )
    channel: str = Field("", max_length=200,
                         description="Where the candidate applied (応募経路), e.g. a job board or a referral")
    evaluation: str = Field("", max_length=100, description="Your rating of the candidate (評価), e.g. A, B, C")
    tags: list[Annotated[str, Field(max_length=MAX_TAG_LENGTH)]] | None = Field(
        None, max_length=MAX_TAGS,
        description=f"Free tags (タグ), each up to {MAX_TAG_LENGTH} characters; replaces the stored tags"
    )

    @field_validator("external_id")
    @classmethod
    def external_id_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("external_id must not be blank")
        return value.strip()

    @field_validator("tags")
    @classmethod
    def tags_clean(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if any(len(tag) > MAX_TAG_LENGTH for tag in value):
            raise ValueError(f"a tag has at most {MAX_TAG_LENGTH} characters")
        return clean_tags(value)  # trimmed; blank and repeated ones dropped

    def to_event(self, company, *, source: str) -> IncomingApplicationEvent:
        """The normalised event; a time without an offset is read in the company's time zone."""
        zone = ZoneInfo(company.time_zone)
        occurred_at = self.occurred_at or timezone.now()
        if timezone.is_naive(occurred_at):
            occurred_at = timezone.make_aware(occurred_at, zone)
        applied_at = self.applied_at
        if applied_at is not None and timezone.is_naive(applied_at):
            applied_at = timezone.make_aware(applied_at, zone)
        return IncomingApplicationEvent(
            external_id=self.external_id,
            candidate=CandidateData(**self.candidate.model_dump()),
            job=JobData(**self.job.model_dump()),
            status=self.status,
            stage=self.stage,
            rejection_reason=self.rejection_reason,
            occurred_at=occurred_at,
            source=source,
            event_id=self.event_id,
            notify=self.notify,
            applied_at=applied_at,
            channel=self.channel,
            evaluation=self.evaluation,
            tags=tuple(self.tags) if self.tags is not None else None,
        )


# --- what the API answers ---------------------------------------------------------------------------

APPLICATION_EXAMPLE = {
    "external_id": "A-1001",
    "status": "rejected",
    "stage": "first_interview",
    "stage_raw": "一次面接",
    "stage_reached": "first_interview",
    "rejection_reason": "スキル不一致",
    "rejected_at": "2026-11-21T01:00:00Z",
    "applied_at": "2026-10-01T00:00:00Z",
    "channel": "自社採用サイト",
    "evaluation": "B",
    "tags": ["Python", "リーダー経験"],
    "candidate": {"id": 42, "name": "髙橋 𠮷子", "name_kana": "タカハシ ヨシコ", "email": "yoshiko@example.jp",
                  "phone": "090-1234-5678"},
    "job": {"external_id": "J-1", "title": "バックエンドエンジニア", "category": "エンジニア"},
    "notice": {"status": "scheduled", "send_at": "2026-11-24T00:00:00Z", "sent_at": None},
    "updated_at": "2026-11-21T01:00:02Z",
}


class CandidateOut(Schema):
    id: int = Field(description="The candidate's id, as /api/v1/candidates/{id} takes it")
    name: str
    name_kana: str
    email: str
    phone: str


class JobOut(Schema):
    external_id: str
    title: str
    category: str


class NoticeOut(Schema):
    status: MessageStatus
    send_at: datetime
    sent_at: datetime | None


class ApplicationOut(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [APPLICATION_EXAMPLE]})

    external_id: str
    status: ApplicationStatus
    stage: StageName
    stage_raw: str
    stage_reached: StageName
    rejection_reason: str
    rejected_at: datetime | None
    applied_at: datetime | None
    channel: str
    evaluation: str
    tags: list[str]
    candidate: CandidateOut
    job: JobOut
    notice: NoticeOut | None
    updated_at: datetime


def application_out(application) -> dict:
    """An application as the API shows it, with its rejection notice (if any)."""
    notice = rejection_notice(application)
    return {
        "external_id": application.external_id,
        "status": application.status,
        "stage": Stage(application.stage).name.lower(),
        "stage_raw": application.stage_raw,
        "stage_reached": Stage(application.stage_reached).name.lower(),
        "rejection_reason": application.rejection_reason,
        "rejected_at": application.rejected_at,
        "applied_at": application.applied_at,
        "channel": application.channel,
        "evaluation": application.evaluation,
        "tags": application.tags,
        "candidate": application.candidate,
        "job": application.job,
        "notice": notice,
        "updated_at": application.updated_at,
    }
