"""talent.actions.pool: the pool entry derived from a person's applications (on every write path: one event,
the CSV batch), the full-text index kept in sync, and HR's edits of profile, skills and tags."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection

from tsunagu.intake.actions import imports
from tsunagu.talent import actions as talent
from tsunagu.talent.actions import pool
from tsunagu.talent.data import CandidateData
from tsunagu.talent.models import Candidate, CandidateTag, PoolState
from tsunagu.talent.search import PoolQuery, search_pool
from tsunagu.talent.stages import Stage
from tsunagu.talent.tests.pool_factories import KENTA, YOSHIKO, apply


def tags_of(candidate, *, automatic=None) -> list[str]:
    rows = CandidateTag.objects.filter(candidate=candidate)
    if automatic is not None:
        rows = rows.filter(automatic=automatic)
    return sorted(rows.values_list("label", flat=True))


def test_the_entry_follows_the_applications(company):
    yoshiko = apply(company, "A-1", YOSHIKO, "active", stage="一次面接", evaluation="B", channel="求人サイト")
    assert (yoshiko.stage_reached, yoshiko.pool_state, yoshiko.evaluation, yoshiko.channel) == (
        Stage.FIRST_INTERVIEW, PoolState.IN_SELECTION, "B", "求人サイト")
    assert yoshiko.name_fold == "高橋吉子" and yoshiko.kana_fold == "タカハシヨシコ"
    assert yoshiko.last_rejected_at is None

    yoshiko = apply(company, "A-1", YOSHIKO, "rejected", stage="最終面接", reason="スキル不一致", evaluation="A")
    assert (yoshiko.stage_reached, yoshiko.pool_state, yoshiko.evaluation) == (
        Stage.FINAL_INTERVIEW, PoolState.REJECTED, "A")
    assert yoshiko.last_rejected_at is not None
    assert tags_of(yoshiko) == ["2024年応募", "エンジニア", "スキル不一致", "最終面接まで", "求人サイト"]
    assert tags_of(yoshiko, automatic=False) == []

    # A second application, a later year, in another category: hired wins the state; the stage reached stays.
    yoshiko = apply(company, "A-2", YOSHIKO, "hired", job="営業", category="営業", stage="書類選考", days=400)
    assert (yoshiko.stage_reached, yoshiko.pool_state) == (Stage.FINAL_INTERVIEW, PoolState.HIRED)
    assert tags_of(yoshiko) == ["2024年応募", "2025年応募", "エンジニア", "スキル不一致", "営業", "最終面接まで", "求人サイト"]
    assert yoshiko.evaluation == "A"  # the newer application says nothing: the latest one said
    assert "営業" in yoshiko.search_tokens.split()


def test_manual_tags_survive_a_refresh_and_an_automatic_one_confirmed_by_hr_stays(company):
    yoshiko = apply(company, "A-1", YOSHIKO, "rejected", stage="一次面接", reason="スキル不一致")
    pool.add_tags(company, [yoshiko.pk], ["リーダー経験", "スキル不一致"])
    assert tags_of(yoshiko, automatic=False) == ["スキル不一致", "リーダー経験"]
    # The ATS changes its reason: the automatic tag goes, the ones HR gave stay.
    yoshiko = apply(company, "A-1", YOSHIKO, "rejected", stage="二次面接", reason="条件不一致")
    assert tags_of(yoshiko, automatic=False) == ["スキル不一致", "リーダー経験"]
    assert "条件不一致" in tags_of(yoshiko, automatic=True)
    assert "一次面接まで" not in tags_of(yoshiko) and "二次面接まで" in tags_of(yoshiko)


def test_a_changed_name_is_searchable_at_once(company):
    apply(company, "A-1", YOSHIKO, "rejected")
    talent.upsert_candidate(company, CandidateData(name="渡邊 𠮷子", email=YOSHIKO.email, name_kana="ワタナベ ヨシコ"))
    assert [c.name for c in search_pool(company, PoolQuery(q="渡辺"))] == ["渡邊 𠮷子"]
    assert [c.name for c in search_pool(company, PoolQuery(q="わたなべ"))] == ["渡邊 𠮷子"]
    assert list(search_pool(company, PoolQuery(q="髙橋"))) == []


def test_the_csv_batch_refreshes_every_person_it_touches(company, tmp_path):
    csv = ("応募ID,氏名,フリガナ,メールアドレス,応募職種,職種カテゴリ,選考ステップ,選考結果,不採用理由,応募日\r\n"
           "C-1,髙橋 𠮷子,たかはし よしこ,yoshiko@example.jp,エンジニア,開発,最終面接,不採用,経験不足,2023/05/01\r\n"
           "C-2,山﨑 健太,ヤマザキ ケンタ,kenta@example.jp,営業,営業,一次面接,選考中,,2024/01/10\r\n"
           "C-3,髙橋 𠮷子,たかはし よしこ,yoshiko@example.jp,営業,営業,書類選考,辞退,,2024/02/01\r\n")
    path = tmp_path / "export.csv"
    path.write_bytes(csv.encode("utf-8"))
    result = imports.import_csv(company, path, dry_run=False)
    assert not result.errors
    yoshiko = Candidate.objects.get(company=company, email_key="yoshiko@example.jp")
    assert (yoshiko.stage_reached, yoshiko.pool_state) == (Stage.FINAL_INTERVIEW, PoolState.REJECTED)
    assert tags_of(yoshiko) == ["2023年応募", "2024年応募", "営業", "最終面接まで", "経験不足", "開発"]
    assert [c.name for c in search_pool(company, PoolQuery(q="山崎"))] == ["山﨑 健太"]
    assert [c.name for c in search_pool(company, PoolQuery(q="ﾀｶﾊｼ", tags=("開発",)))] == ["髙橋 𠮷子"]


def test_the_full_text_index_follows_inserts_updates_and_deletes(company):
    yoshiko = apply(company, "A-1", YOSHIKO, "rejected")
    kenta = apply(company, "A-2", KENTA, "rejected")
    assert [c.name for c in search_pool(company, PoolQuery(q="健太"))] == ["山﨑 健太"]
    pool.update_candidate_profile(company, kenta, skills=["Rust"])
    assert [c.name for c in search_pool(company, PoolQuery(q="rust"))] == ["山﨑 健太"]
    pool.update_candidate_profile(company, kenta, skills=[])
    assert list(search_pool(company, PoolQuery(q="rust"))) == []
    kenta.delete()
    assert list(search_pool(company, PoolQuery(q="健太"))) == []
    assert [c.name for c in search_pool(company, PoolQuery(q="𠮷子"))] == [yoshiko.name]
    if connection.vendor == "sqlite":  # the external-content index agrees with its table
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO talent_candidate_fts(talent_candidate_fts, rank) VALUES ('integrity-check', 1)")


def test_the_refresh_command_recomputes_everything(company):
    yoshiko = apply(company, "A-1", YOSHIKO, "rejected", stage="最終面接")
    Candidate.objects.filter(pk=yoshiko.pk).update(search_tokens="", stage_reached=0, pool_state="", name_fold="")
    CandidateTag.objects.filter(candidate=yoshiko).delete()
    assert list(search_pool(company, PoolQuery(q="高橋"))) == []
    call_command("refresh_pool", "--company", company.slug, stdout=open("/dev/null", "w"))  # noqa: SIM115
    yoshiko.refresh_from_db()
    assert (yoshiko.stage_reached, yoshiko.pool_state, yoshiko.name_fold) == (
        Stage.FINAL_INTERVIEW, PoolState.REJECTED, "高橋吉子")
    assert "最終面接まで" in tags_of(yoshiko)
    assert [c.name for c in search_pool(company, PoolQuery(q="高橋"))] == ["髙橋 𠮷子"]


def test_refresh_queries_do_not_grow_with_the_number_of_people(company, django_assert_max_num_queries):
    people = [apply(company, f"A-{n}", CandidateData(name=f"候補 {n}", email=f"c{n}@example.jp"), "rejected",
                    reason="経験不足") for n in range(30)]
    CandidateTag.objects.filter(company=company).delete()
    with django_assert_max_num_queries(8):
        pool.refresh_pool_entries(company, [p.pk for p in people])
    assert CandidateTag.objects.filter(company=company, automatic=True).count() == 30 * 3


# --- HR's edits ------------------------------------------------------------------------------------

def test_profile_edit(company):
    yoshiko = apply(company, "A-1", YOSHIKO, "rejected")
    yoshiko = pool.update_candidate_profile(company, yoshiko, skills=["Python", " ｐｙｔｈｏｎ ", "AWS", ""],
                                            tags=["リーダー経験"], region_code="13", region_text="リモート可",
                                            desired_job="データサイエンティスト", note="  英語で面接可能。 ",
                                            contact_allowed=False)
    assert (yoshiko.region_code, yoshiko.region_text, yoshiko.desired_job, yoshiko.note, yoshiko.contact_allowed) == (
        "13", "リモート可", "データサイエンティスト", "英語で面接可能。", False)
    assert list(CandidateTag.objects.filter(candidate=yoshiko, kind="skill").values_list("label", "key")) == [
        ("Python", "python"), ("AWS", "aws")]
    assert {"python", "aws", "東京", "英語"} <= set(yoshiko.search_tokens.split())
    # None leaves a field alone; a list replaces the manual ones.
    yoshiko = pool.update_candidate_profile(company, yoshiko, skills=["Go"])
    assert tags_of(yoshiko, automatic=False) == ["Go", "リーダー経験"]
    assert yoshiko.desired_job == "データサイエンティスト"


@pytest.mark.parametrize("changes, field", [
    ({"skills": ["x" * 51]}, "skills"),
    ({"tags": [f"t{n}" for n in range(101)]}, "tags"),
    ({"tags": ["a\x00"]}, "tags"),
    ({"region_code": "48"}, "region_code"),
    ({"region_text": "地" * 101}, "region_text"),
    ({"desired_job": "職" * 201}, "desired_job"),
    ({"note": "メ" * 5001}, "note"),
    ({"contact_allowed": "no"}, "contact_allowed"),
])
def test_a_bad_profile_edit_changes_nothing(company, changes, field):
    yoshiko = apply(company, "A-1", YOSHIKO, "rejected")
    with pytest.raises(ValidationError) as raised:
        pool.update_candidate_profile(company, yoshiko, **{"desired_job": "営業", "skills": ["Python"], **changes})
    assert field in raised.value.message_dict
    yoshiko.refresh_from_db()
    assert yoshiko.desired_job == "" and tags_of(yoshiko, automatic=False) == []


def test_another_companys_candidate_cannot_be_edited(make_company):
    acme, _key = make_company("acme")
    globex, _key = make_company("globex")
    stranger = apply(globex, "G-1", YOSHIKO, "rejected")
    with pytest.raises(Candidate.DoesNotExist):
        pool.update_candidate_profile(acme, stranger, note="x")
    assert pool.add_tags(acme, [stranger.pk], ["盗み見"]) == 0
    assert tags_of(stranger, automatic=False) == []


def test_tags_in_bulk(company):
    people = [apply(company, f"A-{n}", CandidateData(name=f"候補 {n}", email=f"c{n}@example.jp"), "rejected")
              for n in range(3)]
    ids = [p.pk for p in people]
    assert pool.add_tags(company, ids, ["要再連絡", "Python"], kind="skill") == 6
    assert pool.add_tags(company, ids, ["ｐｙｔｈｏｎ"], kind="skill") == 0  # the same skill already
    assert [c.pk for c in search_pool(company, PoolQuery(tags=("要再連絡",)))] == ids[::-1]
    assert pool.remove_tags(company, ids[:2], ["要再連絡"], kind="skill") == 2
    assert [c.pk for c in search_pool(company, PoolQuery(tags=("要再連絡",)))] == [ids[2]]
    # An automatic tag cannot be removed (it comes from the applications), but HR can adopt it.
    assert pool.remove_tags(company, ids, ["2024年応募"]) == 0
    assert pool.add_tags(company, ids[:1], ["2024年応募"]) == 1
    assert tags_of(people[0], automatic=False) == ["2024年応募", "Python"]
    pool.refresh_pool_entries(company, ids)
    assert tags_of(people[0], automatic=False) == ["2024年応募", "Python"]

    with pytest.raises(ValidationError):
        pool.add_tags(company, ids, ["x" * 51])
    with pytest.raises(ValidationError):
        pool.add_tags(company, ids, ["a"], kind="hobby")
    pool.add_tags(company, ids[:1], [f"t{n}" for n in range(98)])
    with pytest.raises(ValidationError):
        pool.add_tags(company, ids, ["one more", "and another"])
    assert tags_of(people[1], automatic=False) == ["Python"]
