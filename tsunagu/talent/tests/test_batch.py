"""TalentBatch leaves exactly what the one-row functions leave, and writes only what changed.

The same events go to two companies: acme through upsert_job, upsert_candidate, lock_or_create_application and
apply_status one event at a time (the reference), globex through a TalentBatch. Their rows must be the same,
field by field, without ids, companies and write times.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tsunagu.talent import actions as talent
from tsunagu.talent.data import CandidateData, JobData
from tsunagu.talent.models import Application, ApplicationStatus, Candidate, Job
from tsunagu.talent.stages import map_stage

TOKYO = ZoneInfo("Asia/Tokyo")
T0 = datetime(2026, 10, 1, 10, 0, tzinfo=TOKYO)
REJECTED, ACTIVE, HIRED, WITHDRAWN = (ApplicationStatus.REJECTED, ApplicationStatus.ACTIVE, ApplicationStatus.HIRED,
                                      ApplicationStatus.WITHDRAWN)


@dataclass(frozen=True)
class Event:
    """What TalentBatch.load reads of an event (external_id, candidate, job), and what apply_status takes."""

    external_id: str
    candidate: CandidateData
    job: JobData
    status: str
    hours: int
    stage: str = ""
    reason: str = ""
    source: str = "csv"
    applied_at: datetime | None = None
    channel: str = ""
    evaluation: str = ""
    tags: tuple[str, ...] | None = None

    @property
    def occurred_at(self) -> datetime:
        return T0 + timedelta(hours=self.hours)

    def changes(self, candidate, job) -> dict:
        return {"status": self.status, "stage": map_stage(self.stage), "stage_raw": self.stage,
                "rejection_reason": self.reason, "occurred_at": self.occurred_at, "candidate": candidate,
                "job": job, "applied_at": self.applied_at, "channel": self.channel, "evaluation": self.evaluation,
                "tags": self.tags}


def is_stale(application, event: Event) -> bool:
    """The caller's decision (as intake makes it): an event older than the one that set the status is skipped."""
    return (application is not None and application.status_changed_at is not None
            and event.occurred_at < application.status_changed_at)


def write_one_by_one(company, events) -> None:
    for event in events:
        job = talent.upsert_job(company, event.job)
        candidate = talent.upsert_candidate(company, event.candidate)
        application, _created = talent.lock_or_create_application(
            company, external_id=event.external_id, candidate=candidate, job=job, source=event.source)
        if not is_stale(application, event):
            talent.apply_status(application, **event.changes(candidate, job))


def write_in_batch(company, events, flush_every: int | None = None) -> talent.TalentBatch:
    batch = talent.TalentBatch(company)
    batch.load(events)
    for number, event in enumerate(events, 1):
        application = batch.application(event.external_id)
        job = batch.upsert_job(event.job)
        candidate = batch.upsert_candidate(event.candidate)
        if application is None:
            application = batch.create_application(external_id=event.external_id, candidate=candidate, job=job,
                                                   source=event.source)
        if not is_stale(application, event):
            batch.apply_status(application, **event.changes(candidate, job))
        if flush_every and number % flush_every == 0:
            batch.flush()
    batch.flush()
    return batch


def snapshot(company) -> dict:
    """The company's rows without ids, company and write times; related rows by their natural keys."""
    return {
        "jobs": sorted((j.external_id, j.title, j.category) for j in Job.objects.filter(company=company)),
        "candidates": sorted((c.email_key, c.name, c.name_kana, c.email, c.phone, c.name_key, c.kana_key, c.phone_e164)
                             for c in Candidate.objects.filter(company=company)),
        "applications": sorted(
            (a.external_id, a.candidate.email_key, a.job.external_id, a.job.title, a.job.category, a.status, a.stage,
             a.stage_raw, a.stage_reached, a.rejection_reason, a.source, a.status_changed_at, a.rejected_at,
             a.applied_at, a.channel, a.evaluation, a.tags)
            for a in Application.objects.filter(company=company).select_related("candidate", "job")),
    }


YOSHIKO = CandidateData(name="髙橋 𠮷子", email="yoshiko@example.jp", name_kana="タカハシ ヨシコ", phone="090-1234-5678")
KENTA = CandidateData(name="山﨑 健太", email="kenta@example.jp", name_kana="ヤマザキ ケンタ")
BACKEND = JobData(title="バックエンドエンジニア", external_id="J-1", category="エンジニア")
SALES = JobData(title="法人営業", category="営業")
DESIGNER = JobData(title="デザイナー")

# What both companies hold before: two people, jobs with and without external ids, two applications.
SEED = [
    Event("A-1", YOSHIKO, BACKEND, ACTIVE, 0, stage="一次面接", applied_at=datetime(2026, 9, 1, tzinfo=TOKYO),
          channel="自社サイト", tags=("Python",)),
    Event("A-2", KENTA, SALES, REJECTED, 1, stage="書類選考", reason="経験不足"),
]

HANAKO = CandidateData(name="佐藤 花子", email="hanako@example.jp", name_kana="さとう はなこ", phone="080-1111-2222")
EVENTS = [
    # An existing job renamed by the ATS, its category not repeated; an existing person and application.
    Event("A-1", YOSHIKO, JobData(title="バックエンドエンジニア（Python）", external_id="J-1"), ACTIVE, 10,
          stage="二次面接", evaluation="A"),
    # A new person, a new job with an external id, a new application with its facts.
    Event("A-3", HANAKO, JobData(title="データアナリスト", external_id="J-2", category="分析"), ACTIVE, 11,
          stage="書類選考", applied_at=datetime(2026, 9, 20, tzinfo=TOKYO), channel="リファラル", tags=("SQL", "Python")),
    # A new person on an existing job without external id, whose category changes.
    Event("A-4", CandidateData(name="中村 𠮷男", email="yoshio@example.jp"), JobData(title="法人営業", category="営業・企画"),
          REJECTED, 12, stage="一次面接", reason="スキル不一致"),
    # The same person again: another case of the address, married (new name), no reading given: rejected.
    Event("A-1", CandidateData(name="山﨑 𠮷子", email="YOSHIKO@Example.JP"), JobData(title="バックエンドエンジニア（Python）",
          external_id="J-1"), REJECTED, 13, stage="最終面接"),
    # Rejected again without a reason: the reason and the date are kept.
    Event("A-2", KENTA, SALES, REJECTED, 14),
    # An older event about A-3 arrives late: the caller skips it.
    Event("A-3", HANAKO, JobData(title="データアナリスト", external_id="J-2"), WITHDRAWN, 2),
    # A new job without external id nor category, a person written in full-width first...
    Event("A-5", CandidateData(name="伊藤 美咲", email="ｍｉｓａｋｉ＠ｅｘａｍｐｌｅ．ｊｐ"), JobData(title="カスタマーサクセス"),
          ACTIVE, 15, stage="応募"),
    # ... then in ASCII with a phone and a reading, the new job getting its category.
    Event("A-5", CandidateData(name="伊藤 美咲", email="misaki@example.jp", name_kana="イトウ ミサキ", phone="03-5555-0000"),
          JobData(title="カスタマーサクセス", category="CS"), ACTIVE, 16, stage="一次面接"),
    # Two jobs have this title: the oldest is taken.
    Event("A-6", KENTA, DESIGNER, ACTIVE, 17, stage="書類選考", tags=("Figma",)),
    # Hired, tags cleared.
    Event("A-3", HANAKO, JobData(title="データアナリスト", external_id="J-2"), HIRED, 18, stage="内定", evaluation="S",
          tags=()),
    # The ATS corrects the person of an existing application: a new candidate.
    Event("A-2", CandidateData(name="山﨑 健太", email="kenta.yamazaki@example.jp", phone="070-2222-3333"), SALES,
          REJECTED, 19, reason="他社内定"),
    # ... and moves another to a job that is new.
    Event("A-4", CandidateData(name="中村 𠮷男", email="yoshio@example.jp", name_kana="なかむら よしお"),
          JobData(title="インサイドセールス", external_id="J-3"), WITHDRAWN, 20),
    # Reopened and rejected again: a new rejection date.
    Event("A-1", YOSHIKO, BACKEND, ACTIVE, 21, stage="最終面接"),
    Event("A-1", YOSHIKO, BACKEND, REJECTED, 22, reason="ポジション充足"),
    # A job with an external id whose title is another job's (without one) title: two jobs.
    Event("A-7", HANAKO, JobData(title="法人営業", external_id="J-4"), ACTIVE, 23),
]

FAMILY = ("髙橋", "山﨑", "佐藤", "鈴木", "田中", "渡辺", "伊藤", "中村")
GIVEN = ("太郎", "花子", "翔太", "美咲", "健", "陽菜")


def generated(count: int) -> list[Event]:
    """Many events about a few people, jobs and applications: repeats, renames, moves, late events."""
    events = []
    for n in range(count):
        person = n % 17
        status = (ACTIVE, REJECTED, REJECTED, HIRED, WITHDRAWN)[n % 5]
        events.append(Event(
            f"G-{n % 40}",
            CandidateData(name=f"{FAMILY[person % 8]} {GIVEN[(n // 17) % 6]}",
                          email=f"P{person}@Example.jp" if n % 3 else f"p{person}@example.jp",
                          name_kana="" if n % 4 else "タカハシ タロウ", phone="" if n % 5 else f"090-0000-{person:04d}"),
            JobData(title=f"エンジニア{n % 6}", external_id=f"GJ-{n % 3}" if n % 2 else "",
                    category="" if n % 7 == 0 else f"カテゴリ{n % 4}"),
            status, 100 + (n * 7) % 50,  # not in order: some are older than what set the status
            stage=("書類選考", "一次面接", "", "最終面接")[n % 4], reason="スキル不一致" if n % 6 == 1 else "",
            channel=("", "リファラル")[n % 2], tags=None if n % 3 else (f"タグ{n % 5}",)))
    return events


def seed(company) -> None:
    Job.objects.create(company=company, title="デザイナー", category="UI")
    Job.objects.create(company=company, title="デザイナー", category="UX")
    write_one_by_one(company, SEED)


@pytest.fixture
def two_companies(make_company):
    acme, _key = make_company("acme")
    globex, _key = make_company("globex", name="グローベックス株式会社")
    seed(acme)
    seed(globex)
    return acme, globex


@pytest.mark.parametrize("flush_every", [None, 1, 4])
def test_a_batch_leaves_what_the_one_row_functions_leave(two_companies, flush_every):
    acme, globex = two_companies
    more = generated(120)
    write_one_by_one(acme, EVENTS)
    write_one_by_one(acme, more[:70])
    write_one_by_one(acme, more[70:])
    write_in_batch(globex, EVENTS, flush_every)
    # A second batch reads what the first one wrote; a third the rows the second one wrote.
    write_in_batch(globex, more[:70], flush_every)
    write_in_batch(globex, more[70:], flush_every)

    expected, written = snapshot(acme), snapshot(globex)
    for table in expected:
        assert written[table] == expected[table], table
    assert all(row.created_at and row.updated_at for model in (Job, Candidate, Application)
               for row in model.objects.filter(company=globex))

    # The reference is what test_actions checks; a few of its facts, so that two empty results cannot pass.
    a1, a2, a3 = (Application.objects.select_related("candidate", "job").get(company=globex, external_id=external_id)
                  for external_id in ("A-1", "A-2", "A-3"))
    assert (a1.status, a1.rejected_at, a1.rejection_reason, a1.stage_reached, a1.candidate.name, a1.job.title) == (
        REJECTED, T0 + timedelta(hours=22), "ポジション充足", map_stage("最終面接"), "髙橋 𠮷子", "バックエンドエンジニア")
    assert (a1.channel, a1.evaluation, a1.tags, a1.job.category) == ("自社サイト", "A", ["Python"], "エンジニア")
    assert (a2.rejected_at, a2.rejection_reason, a2.candidate.email) == (
        T0 + timedelta(hours=1), "他社内定", "kenta.yamazaki@example.jp")
    assert (a3.status, a3.tags, a3.evaluation, a3.channel) == (HIRED, [], "S", "リファラル")
    designer = Application.objects.get(company=globex, external_id="A-6").job
    assert designer.category == "UI"
    assert Candidate.objects.filter(company=globex).count() == 6 + 17
    # acme's rows are acme's: the batch for globex found none of them.
    assert Candidate.objects.filter(company=acme).count() == 6 + 17


def test_a_flush_with_nothing_changed_writes_nothing(two_companies, django_assert_num_queries):
    _acme, globex = two_companies
    batch = write_in_batch(globex, EVENTS)
    before = snapshot(globex)
    stamps = {(model.__name__, row.pk): row.updated_at for model in (Job, Candidate, Application)
              for row in model.objects.filter(company=globex)}

    with django_assert_num_queries(0):
        batch.flush()
        # What the rows already say changes nothing either.
        batch.upsert_candidate(CandidateData(name="佐藤\u3000花子", email=" hanako@example.jp"))
        batch.upsert_job(JobData(title="データアナリスト", external_id="J-2"))
        batch.flush()

    assert snapshot(globex) == before
    assert {(model.__name__, row.pk): row.updated_at for model in (Job, Candidate, Application)
            for row in model.objects.filter(company=globex)} == stamps


def updated_columns(queries) -> dict[str, list[tuple[str, ...]]]:
    """The SET columns of each UPDATE statement captured, by table (the pool refresh's reads and writes of the
    derived fields and tags after the batch's own statements are left out)."""
    updates: dict[str, list[tuple[str, ...]]] = {}
    for query in queries:
        match = re.search(r'UPDATE "(\w+)" SET (.*) WHERE', query["sql"])
        if not match or "search_tokens" in match.group(2):
            continue
        updates.setdefault(match.group(1), []).append(tuple(re.findall(r'"(\w+)" = ', match.group(2))))
    return updates


def test_a_changed_row_is_updated_in_just_its_changed_fields(two_companies):
    _acme, globex = two_companies
    batch = talent.TalentBatch(globex)
    events = [Event("A-1", CandidateData(name="髙橋 𠮷子", email="yoshiko@example.jp", phone="03-1234-5678"), BACKEND,
                    REJECTED, 30),
              Event("A-2", CandidateData(name="山﨑 健太", email="kenta@example.jp", phone="080-9999-0000"),
                    JobData(title="法人営業", category="営業・企画"), REJECTED, 31)]
    batch.load(events)
    for event in events:
        batch.upsert_job(event.job)
        batch.upsert_candidate(event.candidate)
    # Meanwhile the reading is corrected elsewhere: an update of other fields must not undo it.
    Candidate.objects.filter(company=globex, email_key="kenta@example.jp").update(name_kana="ヤマサキ ケンタ")

    with CaptureQueriesContext(connection) as queries:
        batch.flush()

    assert updated_columns(queries.captured_queries) == {
        "talent_job": [("category", "title", "updated_at")],
        # Both people in one statement (executemany), just the phone fields and the write time.
        "talent_candidate": [("phone", "phone_e164", "updated_at")],
    }
    kenta = Candidate.objects.get(company=globex, email_key="kenta@example.jp")
    assert (kenta.name_kana, kenta.phone, kenta.phone_e164) == ("ヤマサキ ケンタ", "080-9999-0000", "+818099990000")
    yoshiko = Candidate.objects.get(company=globex, email_key="yoshiko@example.jp")
    assert (yoshiko.name_kana, yoshiko.phone_e164) == ("タカハシ ヨシコ", "+81312345678")
    assert Job.objects.get(company=globex, external_id="", title="法人営業").category == "営業・企画"

    # An application's change writes what apply_status writes, and not what it never changes.
    application = batch.application("A-1")
    batch.apply_status(application, **events[0].changes(application.candidate, application.job))
    with CaptureQueriesContext(connection) as queries:
        batch.flush()
    columns = updated_columns(queries.captured_queries)["talent_application"]
    assert len(columns) == 1
    assert set(columns[0]) == {"candidate_id", "job_id", "status", "stage", "stage_raw", "stage_reached",
                               "rejection_reason", "status_changed_at", "rejected_at", "applied_at", "channel",
                               "evaluation", "tags", "updated_at"}
    stored = Application.objects.get(pk=application.pk)
    assert (stored.status, stored.rejected_at, stored.source) == (REJECTED, T0 + timedelta(hours=30), "csv")


def test_rows_created_by_a_flush_are_updated_by_the_next(make_company):
    company, _key = make_company()
    batch = talent.TalentBatch(company)
    first = Event("A-1", YOSHIKO, BACKEND, ACTIVE, 0, stage="一次面接")
    batch.load([first])
    assert batch.application("A-1") is None
    job, candidate = batch.upsert_job(first.job), batch.upsert_candidate(first.candidate)
    application = batch.create_application(external_id="A-1", candidate=candidate, job=job, source="csv")
    batch.apply_status(application, **first.changes(candidate, job))
    batch.flush()
    assert application.pk == Application.objects.get(company=company, external_id="A-1").pk
    assert (application.candidate_id, application.job_id) == (candidate.pk, job.pk)
    assert batch.saved_applications() == [application]

    later = Event("A-1", CandidateData(name="山﨑 𠮷子", email="yoshiko@example.jp"), BACKEND, REJECTED, 5,
                  reason="スキル不一致")
    batch.apply_status(application, **later.changes(batch.upsert_candidate(later.candidate), batch.upsert_job(later.job)))
    batch.flush()

    stored = Application.objects.select_related("candidate").get(pk=application.pk)
    assert (stored.status, stored.rejection_reason, stored.rejected_at, stored.candidate.name) == (
        REJECTED, "スキル不一致", T0 + timedelta(hours=5), "山﨑 𠮷子")
    assert (Job.objects.count(), Candidate.objects.count(), Application.objects.count()) == (1, 1, 1)


def test_batch_writes_are_supported_where_new_rows_ids_come_back(monkeypatch):
    returning = connection.vendor == "postgresql" or sqlite3.sqlite_version_info >= (3, 35)
    assert talent.batch_writes_supported() is returning

    monkeypatch.setattr(type(connection.features), "can_return_rows_from_bulk_insert", False)
    assert talent.batch_writes_supported() is False
