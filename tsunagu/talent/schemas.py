from datetime import datetime

from ninja import Schema


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
    external_id: str
    status: str
    stage: str
    stage_raw: str
    stage_reached: str
    rejection_reason: str
    rejected_at: datetime | None
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
        "candidate": application.candidate,
        "job": application.job,
        "notice": notice,
        "updated_at": application.updated_at,
    }
