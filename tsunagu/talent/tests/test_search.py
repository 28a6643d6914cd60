"""talent.search: the pool's search box, filters, facets and match reasons, through the real full-text index
(SQLite FTS5 or PostgreSQL GIN). Every expectation is a fixed list, so the suite run on each database proves
both give the same results."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from tsunagu.talent import pool_page
from tsunagu.talent.actions import pool
from tsunagu.talent.data import CandidateData
from tsunagu.talent.models import Candidate, PoolState
from tsunagu.talent.pool_page import facet_counts, search_page
from tsunagu.talent.search import (
    PoolQuery,
    candidates_matching,
    count_matches,
    match_reasons,
    search_pool,
)
from tsunagu.talent.search_index import text_tokens
from tsunagu.talent.stages import Stage
from tsunagu.talent.tests.pool_factories import HANAKO, ICHIRO, KENTA, YOSHIKO, apply


@pytest.fixture
def people(make_company):
    """At acme: 𠮷子 (最終面接, A, 2024-04), 健太 (一次面接, two applications, 2024-04-04/05), 花子 (hired,
    2024-04-11), 一郎 (選考中, 2024-04-21). At globex: another 髙橋 𠮷子 and 髙橋 次郎."""
    acme, _key = make_company("acme")
    globex, _key = make_company("globex", name="グローベックス株式会社")
    yoshiko = apply(acme, "A-1", YOSHIKO, "rejected", stage="最終面接", reason="スキル不一致", evaluation="A",
                    channel="リファラル")
    apply(acme, "A-2", KENTA, "rejected", stage="一次面接", reason="経験不足", days=3)
    kenta = apply(acme, "A-3", KENTA, "withdrawn", job="データアナリスト", category="データ", stage="書類選考", days=4)
    hanako = apply(acme, "A-4", HANAKO, "hired", job="営業", category="営業", stage="内定", days=10, evaluation="S")
    ichiro = apply(acme, "A-5", ICHIRO, "active", stage="二次面接", days=20)
    pool.update_candidate_profile(acme, yoshiko, skills=["Python", "AWS"], tags=["リーダー経験"], region_code="13",
                                  note="機械学習の論文を執筆。英語で面接可能。", desired_job="データサイエンティスト")
    pool.update_candidate_profile(acme, kenta, skills=["Go"], region_text="リモート希望")
    pool.update_candidate_profile(acme, hanako, region_code="27", contact_allowed=False)
    apply(globex, "G-1", YOSHIKO, "rejected", stage="最終面接")
    apply(globex, "G-2", CandidateData(name="髙橋 次郎", email="jiro@globex.example", name_kana="タカハシ ジロウ"),
          "rejected")
    return acme, globex, {"yoshiko": yoshiko, "kenta": kenta, "hanako": hanako, "ichiro": ichiro}


def names(company, **params) -> list[str]:
    return [c.name for c in search_pool(company, PoolQuery(**params))]


def test_most_recently_applied_first(people):
    acme, globex, _ = people
    assert names(acme) == ["高橋 一郎", "佐藤 花子", "山﨑 健太", "髙橋 𠮷子"]
    assert names(globex) == ["髙橋 次郎", "髙橋 𠮷子"]


@pytest.mark.parametrize("q, found", [
    # Kanji variants (異体字) either way.
    ("高橋", ["高橋 一郎", "髙橋 𠮷子"]), ("髙橋", ["高橋 一郎", "髙橋 𠮷子"]),
    ("山崎", ["山﨑 健太"]), ("山﨑", ["山﨑 健太"]),
    ("吉子", ["髙橋 𠮷子"]), ("𠮷子", ["髙橋 𠮷子"]), ("高橋吉子", ["髙橋 𠮷子"]), ("髙橋 𠮷子", ["髙橋 𠮷子"]),
    # Readings in hiragana, katakana, half-width katakana; stored in any of them.
    ("たかはし", ["高橋 一郎", "髙橋 𠮷子"]), ("タカハシ", ["高橋 一郎", "髙橋 𠮷子"]), ("ﾀｶﾊｼ", ["高橋 一郎", "髙橋 𠮷子"]),
    ("ヤマザキ", ["山﨑 健太"]), ("やまざき けんた", ["山﨑 健太"]), ("ｻﾄｳ ﾊﾅｺ", ["佐藤 花子"]), ("さとう", ["佐藤 花子"]),
    ("よしこ", ["髙橋 𠮷子"]), ("ｹﾝﾀ", ["山﨑 健太"]),
    # Every word must match.
    ("高橋 一郎", ["高橋 一郎"]), ("高橋 花子", []),
    # Exact e-mail and phone.
    ("yoshiko.takahashi@example.jp", ["髙橋 𠮷子"]), ("ＹＯＳＨＩＫＯ.TAKAHASHI@example.jp", ["髙橋 𠮷子"]),
    ("yoshiko@example.jp", []), ("09012345678", ["髙橋 𠮷子"]), ("090-1234-5678", ["髙橋 𠮷子"]),
    ("+819012345678", ["髙橋 𠮷子"]), ("09099999999", []),
    # Free text: skills, tags, note, desired job, past jobs, region.
    ("python", ["髙橋 𠮷子"]), ("ＰＹＴＨＯＮ", ["髙橋 𠮷子"]), ("機械学習", ["髙橋 𠮷子"]), ("論文", ["髙橋 𠮷子"]),
    ("データアナリスト", ["山﨑 健太"]), ("エンジニア", ["高橋 一郎", "山﨑 健太", "髙橋 𠮷子"]),
    ("リーダー", ["髙橋 𠮷子"]), ("東京都", ["髙橋 𠮷子"]), ("リモート", ["山﨑 健太"]),
    ("不一致", ["髙橋 𠮷子"]), ("最終面接", ["髙橋 𠮷子"]),
    # Nothing to look for: nothing found.
    ("、。", []), ("存在しない言葉", []),
])
def test_the_search_box(people, q, found):
    acme, _globex, _ = people
    assert names(acme, q=q) == found


def test_matches_are_counted_up_to_a_limit(people):
    acme, _globex, _ = people
    assert count_matches(search_pool(acme, PoolQuery())) == (4, True)
    assert count_matches(search_pool(acme, PoolQuery()), limit=4) == (4, True)
    assert count_matches(search_pool(acme, PoolQuery()), limit=3) == (3, False)
    assert count_matches(search_pool(acme, PoolQuery(q="高橋")), limit=3) == (2, True)


def test_another_companys_people_never_appear(people):
    acme, globex, found = people
    for q in ("", "髙橋", "たかはし", "jiro@globex.example", "次郎", "python"):
        assert {c.company_id for c in search_pool(acme, PoolQuery(q=q))} <= {acme.pk}, q
    assert names(globex, q="python") == []
    assert names(globex, q="次郎") == ["髙橋 次郎"]
    assert names(acme, q="jiro@globex.example") == []


def test_merged_records_are_never_listed(people):
    acme, _globex, found = people
    Candidate.objects.filter(pk=found["ichiro"].pk).update(merged_into=found["yoshiko"])
    assert names(acme, q="高橋") == ["髙橋 𠮷子"]
    assert "高橋 一郎" not in names(acme)


@pytest.mark.parametrize("params, found", [
    ({"tags": ("リーダー経験",)}, ["髙橋 𠮷子"]),
    ({"tags": ("ｐｙｔｈｏｎ",)}, ["髙橋 𠮷子"]),  # a skill, found by the folded label
    ({"tags": ("エンジニア",)}, ["高橋 一郎", "山﨑 健太", "髙橋 𠮷子"]),  # automatic: the job category
    ({"tags": ("エンジニア", "Go")}, ["山﨑 健太"]),
    ({"tags": ("最終面接まで",)}, ["髙橋 𠮷子"]),
    ({"tags": ("2024年応募",)}, ["高橋 一郎", "佐藤 花子", "山﨑 健太", "髙橋 𠮷子"]),
    ({"stage_at_least": Stage.SECOND_INTERVIEW}, ["高橋 一郎", "佐藤 花子", "髙橋 𠮷子"]),
    ({"stage_at_least": Stage.FINAL_INTERVIEW}, ["佐藤 花子", "髙橋 𠮷子"]),
    ({"evaluation": "A"}, ["髙橋 𠮷子"]),
    ({"region": "13"}, ["髙橋 𠮷子"]),
    ({"region": "27"}, ["佐藤 花子"]),
    ({"region": "リモート"}, ["山﨑 健太"]),
    ({"job_category": "データ"}, ["山﨑 健太"]),
    ({"rejection_reason": "経験"}, ["山﨑 健太"]),
    ({"state": PoolState.REJECTED}, ["山﨑 健太", "髙橋 𠮷子"]),  # 健太: rejected once, withdrew later
    ({"state": PoolState.HIRED}, ["佐藤 花子"]),
    ({"state": PoolState.IN_SELECTION}, ["高橋 一郎"]),
    ({"applied_from": date(2024, 4, 5)}, ["高橋 一郎", "佐藤 花子", "山﨑 健太"]),
    ({"applied_from": date(2024, 4, 5), "applied_to": date(2024, 4, 11)}, ["佐藤 花子", "山﨑 健太"]),
    ({"rejected_from": date(2024, 4, 1), "rejected_to": date(2024, 4, 21)}, ["髙橋 𠮷子"]),
    ({"rejected_from": date(2024, 4, 22)}, ["山﨑 健太"]),
    ({"contactable": True}, ["高橋 一郎", "山﨑 健太", "髙橋 𠮷子"]),
    ({"contactable": False}, ["佐藤 花子"]),
    ({"q": "高橋", "stage_at_least": Stage.FINAL_INTERVIEW}, ["髙橋 𠮷子"]),
])
def test_filters(people, params, found):
    acme, _globex, _ = people
    assert names(acme, **params) == found


def test_facet_counts(people):
    acme, _globex, _ = people
    facets = facet_counts(acme, PoolQuery())
    assert facets["stage"] == [("50", "内定", 1), ("40", "最終面接", 1), ("30", "二次面接", 1), ("20", "一次面接", 1)]
    assert facets["region"] == [("13", "東京都", 1), ("27", "大阪府", 1)]
    assert facets["evaluation"] == [("A", "A", 1), ("S", "S", 1)]
    assert facets["job_category"] == [("エンジニア", "エンジニア", 3), ("データ", "データ", 1), ("営業", "営業", 1)]
    assert facets["skill"] == [("AWS", "AWS", 1), ("Go", "Go", 1), ("Python", "Python", 1)]
    assert facets["tag"][:2] == [("2024年応募", "2024年応募", 4), ("エンジニア", "エンジニア", 3)]
    assert ("リーダー経験", "リーダー経験", 1) in facets["tag"]

    filtered = facet_counts(acme, PoolQuery(q="高橋"))
    assert filtered["stage"] == [("40", "最終面接", 1), ("30", "二次面接", 1)]
    assert filtered["job_category"] == [("エンジニア", "エンジニア", 2)]
    assert facet_counts(acme, PoolQuery(q="存在しない言葉"))["tag"] == []
    assert len(facet_counts(acme, PoolQuery(), limit=2)["tag"]) == 2


PAGE_QUERIES = [{}, {"q": "高橋"}, {"q": "たかはし"}, {"tags": ("python",)}, {"q": "エンジニア"},
                {"q": "高橋", "stage_at_least": Stage.FINAL_INTERVIEW}, {"contactable": True}, {"q": "存在しない言葉"},
                {"q": "、"}]


@pytest.mark.parametrize("count_limit, sample_size", [(2000, 500), (3, 2), (1, 1)])
def test_a_page_holds_what_the_search_finds_whichever_way_it_is_read(people, monkeypatch, count_limit, sample_size):
    """search_page sorts a small result itself and reads a large one down the recency index (see pool_page):
    both give the order and the slices of search_pool; the count stops at the limit."""
    acme, _globex, _ = people
    monkeypatch.setattr(pool_page, "COUNT_LIMIT", count_limit)
    monkeypatch.setattr(pool_page, "SAMPLE_SIZE", sample_size)
    for params in PAGE_QUERIES:
        query = PoolQuery(**params)
        expected = [c.pk for c in search_pool(acme, query)]
        for offset, limit in ((0, 50), (0, 1), (1, 2), (3, 5)):
            found = search_page(acme, query, offset=offset, limit=limit, facets=True)
            reachable = expected[:count_limit]  # pages reach the first COUNT_LIMIT matches
            assert [c.pk for c in found.candidates] == reachable[offset:offset + limit], (params, offset)
            assert (found.total, found.exact) == (min(len(expected), count_limit), len(expected) <= count_limit)
            assert found.facet_people == min(len(expected), sample_size, count_limit + 1), params


def test_a_broad_search_leaves_the_planner_as_it_found_it(people, monkeypatch):
    """On PostgreSQL the walk turns planner methods off for its own query only: a caller's transaction (here
    the test's) keeps its plans."""
    from django.db import connection

    acme, _globex, _ = people
    monkeypatch.setattr(pool_page, "COUNT_LIMIT", 1)
    found = search_page(acme, PoolQuery(q="高橋"), limit=1)
    assert not found.exact and len(found.candidates) == 1
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('enable_bitmapscan'), current_setting('enable_seqscan')")
            assert cursor.fetchone() == ("on", "on")


def test_facets_of_a_large_result_are_counted_over_a_sample(people, monkeypatch):
    acme, _globex, _ = people
    monkeypatch.setattr(pool_page, "SAMPLE_SIZE", 2)
    found = search_page(acme, PoolQuery(), facets=True)
    assert (found.total, found.facet_people) == (4, 2)
    assert sum(count for _value, _label, count in found.facets["stage"]) <= 2
    assert max(count for _value, _label, count in found.facets["tag"]) == 2


@pytest.mark.parametrize("q, person, reasons", [
    ("高橋", "yoshiko", ["氏名(異体字を同一視)"]),
    ("髙橋", "yoshiko", ["氏名"]),
    ("高橋", "ichiro", ["氏名"]),
    ("たかはし", "yoshiko", ["フリガナ"]),
    ("yoshiko.takahashi@example.jp", "yoshiko", ["メールアドレス"]),
    ("090-1234-5678", "yoshiko", ["電話番号"]),
    ("python", "yoshiko", ["スキル: Python"]),
    ("リーダー", "yoshiko", ["タグ: リーダー経験"]),
    ("論文", "yoshiko", ["メモ"]),
    ("データサイエンティスト", "yoshiko", ["希望職種"]),
    ("データアナリスト", "kenta", ["過去の応募職種"]),
    ("高橋 python", "yoshiko", ["氏名(異体字を同一視)", "スキル: Python"]),
])
def test_why_a_person_matched(people, q, person, reasons):
    acme, _globex, found = people
    query = PoolQuery(q=q)
    results = list(search_pool(acme, query))
    assert found[person].pk in {c.pk for c in results}
    assert match_reasons(results, query)[found[person].pk] == reasons


def test_a_tag_filter_is_a_reason_too(people):
    acme, _globex, found = people
    query = PoolQuery(tags=("python",))
    assert match_reasons(search_pool(acme, query), query) == {found["yoshiko"].pk: ["スキル: Python"]}


def test_candidates_matching_token_sets(people):
    acme, _globex, _ = people
    go = text_tokens("Go")  # as the index holds it (Sudachi's normalised form)
    assert {c.name for c in candidates_matching(acme, [["python"], go])} == {"髙橋 𠮷子", "山﨑 健太"}
    assert [c.name for c in candidates_matching(acme, [["python", *go]])] == []
    assert [c.name for c in candidates_matching(acme, [["aws", "python"]])] == ["髙橋 𠮷子"]
    assert list(candidates_matching(acme, [])) == []


# --- PoolQuery -------------------------------------------------------------------------------------

def test_query_parameters_round_trip():
    query = PoolQuery(q="高橋 python", tags=("Python", "リーダー経験"), stage_at_least=40, evaluation="A", region="13",
                      job_category="エンジニア", rejection_reason="経験不足", state="rejected",
                      rejected_from=date(2023, 1, 1), rejected_to=date(2023, 12, 31), applied_from=date(2022, 4, 1),
                      applied_to=date(2024, 3, 31), contactable=True)
    params = query.to_params()
    assert params["tag"] == ["Python", "リーダー経験"]
    assert params["stage_at_least"] == "40" and params["contactable"] == "1"
    assert PoolQuery.from_params(params) == query
    assert PoolQuery().to_params() == {}
    assert PoolQuery.from_params({}) == PoolQuery()


def test_query_from_a_query_dict(rf):
    request = rf.get("/", {"q": " 高橋　 ", "tag": ["Python", "Go", "Python", ""], "stage_at_least": "final_interview",
                           "region": "東京", "contactable": "false", "page": "3"})
    query = PoolQuery.from_params(request.GET)
    assert query == PoolQuery(q="高橋", tags=("Python", "Go"), stage_at_least=40, region="13", contactable=False)


@pytest.mark.parametrize("params, field", [
    ({"q": "あ" * 201}, "q"),
    ({"q": "a\x00b"}, "q"),
    ({"tag": ["t"] * 21 + [str(n) for n in range(21)]}, "tag"),
    ({"tag": ["x" * 51]}, "tag"),
    ({"stage_at_least": "7"}, "stage_at_least"),
    ({"stage_at_least": "最終"}, "stage_at_least"),
    ({"region": "地" * 101}, "region"),
    ({"state": "gone"}, "state"),
    ({"rejected_from": "2024/01/01"}, "rejected_from"),
    ({"applied_to": "2024-02-30"}, "applied_to"),
    ({"applied_from": "2024-03-01", "applied_to": "2024-02-01"}, "applied_to"),
    ({"contactable": "maybe"}, "contactable"),
])
def test_bad_query_parameters_are_refused_by_field(params, field):
    with pytest.raises(ValidationError) as raised:
        PoolQuery.from_params(params)
    assert list(raised.value.message_dict) == [field]
    assert all(message for message in raised.value.message_dict[field])
