"""A small talent pool for the search and pool tests, written through the real write path (talent actions)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tsunagu.talent import actions as talent
from tsunagu.talent.data import CandidateData, JobData
from tsunagu.talent.models import Candidate
from tsunagu.talent.stages import map_stage

TOKYO = ZoneInfo("Asia/Tokyo")
T0 = datetime(2024, 4, 1, 10, 0, tzinfo=TOKYO)


def apply(company, external_id, person: CandidateData, status, *, job="バックエンドエンジニア", category="エンジニア",
          stage="", reason="", days=0, channel="", evaluation="") -> Candidate:
    """An application of `person` made `days` after T0, in `status` at `stage`."""
    job_row = talent.upsert_job(company, JobData(title=job, category=category))
    candidate = talent.upsert_candidate(company, person)
    application, _created = talent.lock_or_create_application(
        company, external_id=external_id, candidate=candidate, job=job_row, source="api")
    when = T0 + timedelta(days=days)
    talent.apply_status(application, status=status, stage=map_stage(stage), stage_raw=stage,
                        rejection_reason=reason, occurred_at=when + timedelta(days=20), candidate=candidate,
                        job=job_row, applied_at=when, channel=channel, evaluation=evaluation)
    candidate.refresh_from_db()
    return candidate


YOSHIKO = CandidateData(name="髙橋 𠮷子", email="yoshiko.takahashi@example.jp", name_kana="タカハシ ヨシコ",
                        phone="090-1234-5678")
KENTA = CandidateData(name="山﨑 健太", email="Kenta@Yamazaki.example", name_kana="やまざき けんた")
HANAKO = CandidateData(name="佐藤 花子", email="hanako.sato@example.jp", name_kana="サトウ ハナコ")
ICHIRO = CandidateData(name="高橋 一郎", email="ichiro@example.jp", name_kana="ﾀｶﾊｼ ｲﾁﾛｳ")
