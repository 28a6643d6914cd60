from datetime import datetime

from ninja import Schema
from pydantic import ConfigDict

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
    "candidate": {"name": "髙橋 𠮷子", "name_kana": "タカハシ ヨシコ", "email": "yoshiko@example.jp",
                  "phone": "090-1234-5678"},
    "job": {"external_id": "J-1", "title": "バックエンドエンジニア", "category": "エンジニア"},
    "notice": {"status": "scheduled", "send_at": "2026-11-24T00:00:00Z", "sent_at": None},
    "updated_at": "2026-11-21T01:00:02Z",
}


class CandidateOut(Schema):
    name: str
    name_kana: str
    email: str
    phone: str


class JobOut(Schema):
    external_id: str
    title: str
    category: str


class NoticeOut(Schema):
    status: str
    send_at: datetime
    sent_at: datetime | None


class ApplicationOut(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [APPLICATION_EXAMPLE]})

    external_id: str
    status: str
    stage: str
    stage_raw: str
    stage_reached: str
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
    from tsunagu.messaging.selectors import rejection_notice
    from tsunagu.talent.stages import Stage

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
