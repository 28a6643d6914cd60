"""Rediscovery: the ranking of past candidates for a job that opened, its reasons, and everyone never listed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tsunagu.messaging.actions.suppression import suppress
from tsunagu.messaging.models import SuppressionReason
from tsunagu.messaging.rediscovery import evaluation_points, rank_for_job
from tsunagu.messaging.tests.pool_people import past_job, person
from tsunagu.talent.actions.jobs import save_job
from tsunagu.talent.models import PoolState
from tsunagu.talent.stages import Stage

pytestmark = pytest.mark.django_db


def open_job(company, **fields):
    values = {"external_id": "J-NEW", "title": "バックエンドエンジニア", "category": "エンジニア",
              "requirements": "Python と AWS での開発経験", "description": "決済基盤の開発"} | fields
    job, _created, _opened = save_job(company, **values)
    return job


def names(shortlist):
    return [candidate.name for candidate, _score, _reasons in shortlist]


def test_the_best_fit_comes_first_and_each_reason_says_why_with_its_points(make_company):
    company, _key = make_company()
    two_years_ago = timezone.now() - timedelta(days=2 * 365)
    person(company, "佐藤 一郎", "ichiro@example.jp", skills=["Python", "AWS"], stage=Stage.FINAL_INTERVIEW,
           evaluation="A", when=two_years_ago)
    person(company, "鈴木 二郎", "jiro@example.jp", skills=["Python"], stage=Stage.FIRST_INTERVIEW, evaluation="B")
    person(company, "田中 三郎", "saburo@example.jp", skills=["Excel"], stage=Stage.DOCUMENT_SCREENING,
           job=past_job(company, title="営業", category="営業"))
    job = open_job(company)

    shortlist = rank_for_job(job)
    assert names(shortlist) == ["佐藤 一郎", "鈴木 二郎"]  # 田中 shares no word and no category with the job
    best, score, reasons = shortlist[0]
    assert score > shortlist[1][1]
    year = timezone.localtime(two_years_ago).year
    assert f"{year}年に最終面接まで進んだ(+20点)" in reasons
    assert reasons[0].startswith("スキル一致: Python, AWS・キーワード一致: バックエンド, エンジニア")  # the most points first
    text = " ".join(reasons)
    assert "スキル一致: Python, AWS" in text and "同じ職種カテゴリ: エンジニア(+15点)" in text
    assert "評価: A(+10点)" in text and f"最終応募: {year}年" in text
    # The points add up to the score.
    points = [float(reason.rsplit("(+", 1)[1].rstrip("点)")) for reason in reasons]
    assert abs(sum(points) - score) < len(points) * 0.5 + 0.1


def test_the_same_category_alone_is_enough_to_be_listed(make_company):
    company, _key = make_company()
    person(company, "高橋 四郎", "shiro@example.jp", job=past_job(company, title="インフラ担当", category="エンジニア"))
    job = open_job(company, requirements="", description="", title="SRE")
    [(candidate, _score, reasons)] = rank_for_job(job)
    assert candidate.name == "高橋 四郎" and any(r.startswith("同じ職種カテゴリ: エンジニア") for r in reasons)


def test_stage_evaluation_and_recency_order_people_with_the_same_skills(make_company):
    company, _key = make_company()
    now = timezone.now()
    person(company, "書類 太郎", "doc@example.jp", skills=["Python"], stage=Stage.DOCUMENT_SCREENING, when=now)
    person(company, "最終 花子", "final@example.jp", skills=["Python"], stage=Stage.FINAL_INTERVIEW, when=now)
    person(company, "二次 次郎", "second@example.jp", skills=["Python"], stage=Stage.SECOND_INTERVIEW, when=now)
    person(company, "一次 三郎", "first@example.jp", skills=["Python"], stage=Stage.FIRST_INTERVIEW, when=now)
    assert names(rank_for_job(open_job(company))) == ["最終 花子", "二次 次郎", "一次 三郎", "書類 太郎"]


def test_recency_breaks_a_tie(make_company):
    company, _key = make_company()
    now = timezone.now()
    person(company, "古い 人", "old@example.jp", skills=["Python"], when=now - timedelta(days=900))
    person(company, "新しい 人", "new@example.jp", skills=["Python"], when=now - timedelta(days=30))
    assert names(rank_for_job(open_job(company))) == ["新しい 人", "古い 人"]


@pytest.mark.parametrize(("evaluation", "points"), [
    ("A", 10), ("ａ", 10), ("S", 10), ("◎", 10), ("高", 10), ("5", 10), ("B+", 6), ("○", 6), ("中", 6), ("4", 6),
    ("C", 2), ("△", 2), ("低", 2), ("3", 2), ("D", 0), ("×", 0), ("1", 0), ("", 0), ("要検討", 0)])
def test_evaluations_in_the_usual_notations(evaluation, points):
    assert evaluation_points(evaluation) == points


def test_nobody_who_must_not_be_contacted_is_ever_listed(make_company):
    company, _key = make_company()
    company.retention_days = 365
    company.save(update_fields=["retention_days"])
    now = timezone.now()
    common = {"skills": ["Python", "AWS"], "stage": Stage.FINAL_INTERVIEW, "evaluation": "A"}
    person(company, "掲載 される", "listed@example.jp", **common)
    person(company, "採用 済み", "hired@example.jp", state=PoolState.HIRED, **common)
    person(company, "選考 中", "active@example.jp", state=PoolState.IN_SELECTION, **common)
    person(company, "配信 停止", "gone@example.jp", **common)
    suppress(company, "GONE@example.jp", SuppressionReason.UNSUBSCRIBED)
    person(company, "連絡 不可", "nocontact@example.jp", contact_allowed=False, **common)
    person(company, "メール 無し", "", **common)
    survivor = person(company, "統合 先", "survivor@example.jp", **common)
    person(company, "統合 元", "merged@example.jp", merged_into=survivor, **common)
    person(company, "保存期間 切れ", "expired@example.jp", when=now - timedelta(days=400), **common)
    person(company, "辞退 した", "withdrew@example.jp", state=PoolState.WITHDRAWN, **common)

    listed = names(rank_for_job(open_job(company)))
    assert sorted(listed) == sorted(["掲載 される", "統合 先", "辞退 した"])


def test_another_companys_people_are_never_listed(make_company):
    mine, _key = make_company()
    theirs, _key = make_company(slug="other", name="株式会社アザー")
    person(theirs, "他社 の人", "other@example.jp", skills=["Python", "AWS"], stage=Stage.FINAL_INTERVIEW)
    assert rank_for_job(open_job(mine)) == []


def test_the_limit_cuts_the_list(make_company):
    company, _key = make_company()
    for number in range(5):
        person(company, f"候補 {number}", f"p{number}@example.jp", skills=["Python"])
    assert len(rank_for_job(open_job(company), limit=3)) == 3


def test_common_tokens_still_find_and_score_people(make_company, monkeypatch):
    """In a large pool most of a job's words are common (held by DF_PROBE people or more): people are then
    found by the rarest words and the category, and common words still score."""
    from tsunagu.messaging import rediscovery

    monkeypatch.setattr(rediscovery, "DF_PROBE", 2)
    company, _key = make_company()
    now = timezone.now()
    sales = past_job(company, title="営業", category="営業")
    person(company, "両方 一致", "both@example.jp", skills=["Python", "AWS"], when=now, job=sales)
    person(company, "片方 一致", "one@example.jp", skills=["Python"], when=now, job=sales)
    person(company, "片方 二", "two@example.jp", skills=["Python"], when=now, job=sales)
    person(company, "無関係", "none@example.jp", skills=["Excel"], when=now, job=sales)
    job = open_job(company, title="Python AWS", category="", requirements="", description="")
    assert rediscovery.document_frequencies(company, ["python", "aws"]) == {"python": 2, "aws": 1}
    # Found by the rarer word (aws); those holding only the common one, outside the category, are not looked at.
    [(candidate, score, reasons)] = rank_for_job(job)
    assert candidate.name == "両方 一致" and reasons[0].startswith("スキル一致: Python, AWS")
