"""talent.selectors: the talent pool's search and a candidate's applications, as the console shows them."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tsunagu.talent import actions as talent
from tsunagu.talent.data import CandidateData, JobData
from tsunagu.talent.models import Application, ApplicationEvent, ApplicationStatus
from tsunagu.talent.selectors import applications_of, search_candidates
from tsunagu.talent.stages import Stage

TOKYO = ZoneInfo("Asia/Tokyo")
T0 = datetime(2026, 10, 1, 10, 0, tzinfo=TOKYO)

YOSHIKO = CandidateData(name="髙橋 𠮷子", email="yoshiko.takahashi@example.jp", name_kana="タカハシ ヨシコ")
KENTA = CandidateData(name="山﨑 健太", email="Kenta@Yamazaki.example", name_kana="ヤマザキ ケンタ")
HANAKO = CandidateData(name="佐藤 花子", email="hanako.sato@example.jp", name_kana="さとう はなこ")  # read in hiragana


def apply(company, external_id, person, status, *, job="バックエンドエンジニア", hours=0):
    """An application of `person` in `status`, last active `hours` after T0."""
    job_row = talent.upsert_job(company, JobData(title=job))
    candidate = talent.upsert_candidate(company, person)
    application, _created = talent.lock_or_create_application(
        company, external_id=external_id, candidate=candidate, job=job_row, source="api")
    talent.apply_status(application, status=status, stage=Stage.UNKNOWN, stage_raw="", rejection_reason="",
                        occurred_at=T0, candidate=candidate, job=job_row)
    Application.objects.filter(pk=application.pk).update(updated_at=T0 + timedelta(hours=hours))
    return application


@pytest.fixture
def pool(make_company):
    """Three people at acme (last active: 𠮷子, then 健太, then 花子, the newest), and 𠮷子 at globex too."""
    acme, _key = make_company("acme")
    globex, _key = make_company("globex", name="グローベックス株式会社")
    apply(acme, "A-1", YOSHIKO, ApplicationStatus.REJECTED, hours=1)
    apply(acme, "A-2", KENTA, ApplicationStatus.REJECTED, hours=2)
    apply(acme, "A-3", KENTA, ApplicationStatus.REJECTED, job="データアナリスト", hours=3)
    apply(acme, "A-4", HANAKO, ApplicationStatus.HIRED, hours=4)
    apply(globex, "G-1", YOSHIKO, ApplicationStatus.REJECTED, hours=9)
    apply(globex, "G-2", CandidateData(name="髙橋 一郎", email="ichiro@globex.example", name_kana="タカハシ イチロウ"),
          ApplicationStatus.ACTIVE, hours=9)
    return acme, globex


def names(company, **options) -> list[str]:
    return [c.name for c in search_candidates(company, **options)]


@pytest.mark.parametrize("query", ["髙橋 𠮷子", "髙橋𠮷子", "髙橋\u3000𠮷子", " 𠮷子 ", "髙橋"])
def test_found_by_name_with_or_without_the_space(pool, query):
    acme, _globex = pool
    assert names(acme, query=query) == ["髙橋 𠮷子"]


def test_a_name_exported_with_kangxi_radicals_finds_the_person(pool):
    acme, _globex = pool
    assert names(acme, query="\u2f2d﨑") == ["山﨑 健太"]  # ⼭ (KANGXI RADICAL MOUNTAIN), as some PDFs carry it


@pytest.mark.parametrize("query, found", [
    ("タカハシ", "髙橋 𠮷子"), ("タカハシ ヨシコ", "髙橋 𠮷子"), ("ﾀｶﾊｼ ﾖｼｺ", "髙橋 𠮷子"), ("ﾔﾏｻﾞｷ", "山﨑 健太"),
    ("ケンタ", "山﨑 健太"),
    # Stored from a reading written in hiragana, found by katakana.
    ("サトウ ハナコ", "佐藤 花子"), ("ｻﾄｳ", "佐藤 花子"),
])
def test_found_by_the_reading_in_katakana_or_half_width_katakana(pool, query, found):
    acme, _globex = pool
    assert names(acme, query=query) == [found]


@pytest.mark.parametrize("query, found", [("たかはし", "髙橋 𠮷子"), ("さとう はなこ", "佐藤 花子")])
def test_found_by_the_reading_in_hiragana(pool, query, found):
    acme, _globex = pool
    assert names(acme, query=query) == [found]


@pytest.mark.parametrize("query, found", [
    ("yamazaki.example", "山﨑 健太"), ("KENTA@", "山﨑 健太"), ("ｈａｎａｋｏ", "佐藤 花子"), ("takahashi@example", "髙橋 𠮷子"),
])
def test_found_by_part_of_the_email_address(pool, query, found):
    acme, _globex = pool
    assert names(acme, query=query) == [found]


def test_nothing_matches_a_stranger(pool):
    acme, _globex = pool
    assert names(acme, query="一郎") == []
    assert names(acme, query="nobody@example.jp") == []


def test_newest_activity_first(pool):
    acme, _globex = pool
    assert names(acme) == ["佐藤 花子", "山﨑 健太", "髙橋 𠮷子"]

    Application.objects.filter(company=acme, external_id="A-1").update(updated_at=T0 + timedelta(days=1))
    assert names(acme) == ["髙橋 𠮷子", "佐藤 花子", "山﨑 健太"]
    assert search_candidates(acme)[0].last_activity == T0 + timedelta(days=1)


def test_filtered_by_the_status_of_an_application(pool):
    acme, _globex = pool
    assert names(acme, status=ApplicationStatus.REJECTED) == ["山﨑 健太", "髙橋 𠮷子"]
    assert names(acme, status=ApplicationStatus.HIRED) == ["佐藤 花子"]
    assert names(acme, status=ApplicationStatus.ACTIVE) == []
    assert names(acme, query="ヤマザキ", status=ApplicationStatus.REJECTED) == ["山﨑 健太"]
    assert names(acme, query="ヤマザキ", status=ApplicationStatus.HIRED) == []


@pytest.mark.parametrize("status", ["", "unknown", "不採用", "REJECTED"])
def test_an_unknown_status_is_ignored(pool, status):
    acme, _globex = pool
    assert names(acme, status=status) == ["佐藤 花子", "山﨑 健太", "髙橋 𠮷子"]


def test_each_person_comes_with_their_number_of_applications(pool):
    acme, _globex = pool
    assert {c.name: c.application_count for c in search_candidates(acme)} == {
        "佐藤 花子": 1, "山﨑 健太": 2, "髙橋 𠮷子": 1}


def test_the_number_of_applications_is_the_same_when_filtered_by_status(pool):
    acme, _globex = pool
    assert {c.name: c.application_count for c in search_candidates(acme, status=ApplicationStatus.REJECTED)} == {
        "山﨑 健太": 2, "髙橋 𠮷子": 1}


def test_another_companys_candidates_never_appear(pool):
    acme, globex = pool
    for options in ({}, {"query": "髙橋"}, {"query": "タカハシ"}, {"query": "globex"},
                    {"status": ApplicationStatus.ACTIVE}, {"query": "yoshiko", "status": ApplicationStatus.REJECTED}):
        assert {c.company_id for c in search_candidates(acme, **options)} <= {acme.pk}, options
    assert names(acme, query="タカハシ") == ["髙橋 𠮷子"]
    assert names(globex) == ["髙橋 一郎", "髙橋 𠮷子"]
    assert names(globex, status=ApplicationStatus.ACTIVE) == ["髙橋 一郎"]


def test_applications_of_a_candidate_come_with_their_jobs_and_events(pool, django_assert_num_queries):
    acme, _globex = pool
    kenta = search_candidates(acme, query="山﨑").get()
    first = Application.objects.get(company=acme, external_id="A-2")
    ApplicationEvent.objects.create(company=acme, application=first, source="api", status=ApplicationStatus.ACTIVE,
                                    occurred_at=T0 + timedelta(hours=2))
    ApplicationEvent.objects.create(company=acme, application=first, source="api", status=ApplicationStatus.REJECTED,
                                    rejection_reason="スキル不一致", occurred_at=T0 + timedelta(hours=1))

    with django_assert_num_queries(3):  # the applications with their jobs, their events, their messages
        rows = {a.external_id: (a.job.title, [(e.status, e.rejection_reason) for e in a.events.all()],
                                list(a.messages.all()))
                for a in applications_of(kenta)}

    assert rows == {
        "A-2": ("バックエンドエンジニア",
                [(ApplicationStatus.REJECTED, "スキル不一致"), (ApplicationStatus.ACTIVE, "")], []),
        "A-3": ("データアナリスト", [], []),
    }
