"""The talent pool in the console, through Django's test client: the candidates page's query box, filters,
facet counts, saved searches and bulk tags; the candidate page's profile, tags and edit form; who may do what,
and another company's records (404)."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from tsunagu.companies.models import Role
from tsunagu.talent import views
from tsunagu.talent.actions import pool
from tsunagu.talent.models import Candidate, CandidateTag, SavedSearch
from tsunagu.testing import ApiClient, application_body

pytestmark = pytest.mark.django_db

ROW = re.compile(r'<tr data-candidate="(\d+)"')


def applied(api, external_id, email, name, kana, phone, *, category="エンジニア", title="バックエンドエンジニア",
            stage="一次面接", evaluation="", occurred="2026-06-01", applied_at="2026-05-01", **extra):
    body = application_body(
        external_id, email_address=email, stage=stage, evaluation=evaluation, notify=False,
        candidate={"name": name, "name_kana": kana, "email": email, "phone": phone},
        job={"external_id": f"J-{category}", "title": title, "category": category},
        occurred_at=f"{occurred}T10:00:00+09:00", applied_at=f"{applied_at}T09:00:00+09:00", **extra)
    response = api.post("/api/v1/applications", body)
    assert response.status_code in (200, 201), response.content
    return Candidate.objects.get(email=email)


@pytest.fixture
def people(make_company):
    """Three past candidates of one company, and one of another company with the same skills."""
    company, key = make_company()
    api = ApiClient(key)
    takahashi = applied(api, "A-1", "ichiro@example.jp", "髙橋 一郎", "タカハシ イチロウ", "090-1111-0001",
                        stage="最終面接", evaluation="A", occurred="2024-06-01", applied_at="2024-05-01")
    yamazaki = applied(api, "A-2", "hanako@example.jp", "山﨑 花子", "ヤマザキ ハナコ", "090-1111-0002",
                       category="営業", title="法人営業", stage="書類選考", evaluation="B", occurred="2026-01-20",
                       applied_at="2026-01-10", rejection_reason="経験不足")
    sato = applied(api, "A-3", "ken@example.jp", "佐藤 健", "サトウ ケン", "090-1111-0003",
                   stage="二次面接", evaluation="A", occurred="2025-07-01", applied_at="2025-06-01")
    pool.update_candidate_profile(company, takahashi, skills=["Python", "AWS"], tags=["リーダー経験"],
                                  region_code="13", desired_job="テックリード", note="英語で面接可能")
    pool.update_candidate_profile(company, yamazaki, skills=["Excel"], region_code="27")
    pool.update_candidate_profile(company, sato, skills=["Python", "Go"], region_text="リモート",
                                  contact_allowed=False)
    other, other_key = make_company(slug="other", name="株式会社アザー")
    stranger = applied(ApiClient(other_key), "B-1", "stranger@example.jp", "髙橋 二郎", "タカハシ ジロウ",
                       "090-2222-0001", stage="最終面接", evaluation="A")
    pool.update_candidate_profile(other, stranger, skills=["Python"], region_code="13")
    return {"company": company, "other": other, "takahashi": takahashi, "yamazaki": yamazaki, "sato": sato,
            "stranger": stranger}


def listed(client, params=None, status=200) -> list[int]:
    response = client.get("/console/candidates/", params or {})
    assert response.status_code == status, response.content.decode()[:2000]
    return [int(pk) for pk in ROW.findall(response.content.decode())]


def ids(*candidates) -> set[int]:
    return {c.pk for c in candidates}


# --- searching and filtering -----------------------------------------------------------------------

def test_the_query_box_finds_names_readings_variants_and_skills(people, login):
    client = login(people["company"], Role.VIEWER)
    takahashi, yamazaki, sato = people["takahashi"], people["yamazaki"], people["sato"]
    assert set(listed(client)) == ids(takahashi, yamazaki, sato)  # never another company's
    assert set(listed(client, {"q": "たかはし"})) == ids(takahashi)
    assert set(listed(client, {"q": "高橋"})) == ids(takahashi)
    assert set(listed(client, {"q": "山崎"})) == ids(yamazaki)
    assert set(listed(client, {"q": "ichiro@example.jp"})) == ids(takahashi)
    assert set(listed(client, {"q": "python"})) == ids(takahashi, sato)
    page = client.get("/console/candidates/", {"q": "たかはし"}).content.decode()
    assert "タカハシ イチロウ" in page and "最終面接" in page and "2024-05-01" in page
    assert "フリガナ" in page  # why they matched
    assert "stranger@example.jp" not in page and "髙橋 二郎" not in page


def test_each_filter_narrows_the_list(people, login):
    client = login(people["company"], Role.VIEWER)
    takahashi, yamazaki, sato = people["takahashi"], people["yamazaki"], people["sato"]
    assert set(listed(client, {"tag": "Python"})) == ids(takahashi, sato)
    assert set(listed(client, {"tag": "Python、AWS"})) == ids(takahashi)  # typed in one box: both
    assert set(listed(client, {"stage_at_least": "30"})) == ids(takahashi, sato)
    assert set(listed(client, {"evaluation": "B"})) == ids(yamazaki)
    assert set(listed(client, {"region": "13"})) == ids(takahashi)
    assert set(listed(client, {"region_text": "リモート"})) == ids(sato)
    assert set(listed(client, {"region": "27", "region_text": "リモート"})) == ids(yamazaki)  # the select wins
    assert set(listed(client, {"job_category": "営業"})) == ids(yamazaki)
    assert set(listed(client, {"rejection_reason": "経験不足"})) == ids(yamazaki)
    assert set(listed(client, {"state": "rejected"})) == ids(takahashi, yamazaki, sato)
    assert set(listed(client, {"contactable": "0"})) == ids(sato)
    assert set(listed(client, {"contactable": "1"})) == ids(takahashi, yamazaki)
    assert set(listed(client, {"applied_from": "2025-01-01"})) == ids(yamazaki, sato)
    assert set(listed(client, {"rejected_from": "2025-01-01", "rejected_to": "2025-12-31"})) == ids(sato)
    assert set(listed(client, {"tag": "Python", "stage_at_least": "40", "region": "13"})) == ids(takahashi)


def test_bad_filter_values_show_the_error_and_list_nobody(people, login):
    client = login(people["company"], Role.VIEWER)
    for params, error in [({"stage_at_least": "99"}, "選考ステップの指定が正しくありません"),
                          ({"applied_from": "2026-13-01"}, "日付は"), ({"contactable": "maybe"}, "再連絡"),
                          ({"state": "nope"}, "状態"), ({"q": "あ" * 201}, "検索語"), ({"tag": "x" * 51}, "タグ"),
                          ({"applied_from": "2026-02-01", "applied_to": "2026-01-01"}, "終了日"),
                          ({"q": "x" * 100_000}, "検索語"), ({"tag": [f"t{n}" for n in range(21)]}, "20個")]:
        response = client.get("/console/candidates/", params)
        page = response.content.decode()
        assert response.status_code == 400, params
        assert 'id="pool-errors"' in page and error in page, params
        assert not ROW.findall(page), params
    page = client.get("/console/candidates/", {"stage_at_least": "99", "q": "高橋"}).content.decode()
    assert 'value="高橋"' in page  # what was typed stays in the box


def test_facets_count_the_matches_and_a_click_adds_the_filter(people, login):
    client = login(people["company"], Role.VIEWER)
    page = client.get("/console/candidates/").content.decode()
    skills = re.search(r'data-facet="skill".*?</ul>', page, re.S).group(0)
    python = re.search(r'<a href="([^"]+)"[^>]*>Python</a> <span class="muted small">(\d+)</span>', skills)
    assert python and python.group(2) == "2"
    link = python.group(1).replace("&amp;", "&")
    assert set(listed(client, dict(pair.split("=") for pair in link.split("?")[1].split("&")))) == ids(
        people["takahashi"], people["sato"])
    filtered = client.get(link).content.decode()
    regions = re.search(r'data-facet="region".*?</ul>', filtered, re.S).group(0)
    assert "東京都" in regions and "大阪府" not in regions  # the facets follow the filters
    chosen = re.search(r'<a href="([^"]+)" class="chosen" aria-current="true">Python</a>', filtered)
    assert chosen and "tag=" not in chosen.group(1)  # clicking a chosen value removes it
    for facet in ("tag", "skill", "stage", "region", "evaluation", "job_category"):
        assert f'data-facet="{facet}"' in page, facet


def test_pages_keep_every_filter(people, login, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    client = login(people["company"], Role.VIEWER)
    page = client.get("/console/candidates/", {"tag": ["Python", "リーダー経験"], "q": ""}).content.decode()
    assert ROW.findall(page) == [str(people["takahashi"].pk)]
    page = client.get("/console/candidates/", {"tag": ["エンジニア", "Python"], "stage_at_least": "20"}).content.decode()
    assert len(ROW.findall(page)) == 1
    next_link = re.search(r'<a href="\?([^"]+)">次へ', page).group(1).replace("&amp;", "&")
    assert next_link == f"tag={quote('エンジニア')}&tag=Python&stage_at_least=20&page=2"
    second = client.get("/console/candidates/?" + next_link).content.decode()
    assert set(map(int, ROW.findall(page) + ROW.findall(second))) == ids(people["takahashi"], people["sato"])


# --- saved searches --------------------------------------------------------------------------------

def test_a_recruiter_saves_a_search_everyone_sees_it_and_only_its_author_or_an_admin_deletes_it(
        people, client, login):
    company = people["company"]
    recruiter = login(company, Role.RECRUITER)
    response = recruiter.post("/console/candidates/saved/", {
        "name": "  東京の Python ", "return_query": "tag=Python&region=13&page=3"}, follow=True)
    page = response.content.decode()
    assert "検索「東京の Python」を保存しました" in page
    search = SavedSearch.objects.get(company=company)
    assert search.params == {"tag": ["Python"], "region": "13"} and search.user.email == "recruiter@acme.example"
    link = re.search(r'<a href="(/console/candidates/\?[^"]+)">東京の Python</a>', page).group(1)
    assert set(listed(recruiter, dict(pair.split("=") for pair in link.split("?")[1].replace("&amp;", "&")
                                      .split("&")))) == ids(people["takahashi"])
    # A bad search is not saved; neither is a nameless one.
    recruiter.post("/console/candidates/saved/", {"name": "x", "return_query": "stage_at_least=99"})
    recruiter.post("/console/candidates/saved/", {"name": "   ", "return_query": "tag=Go"})
    recruiter.post("/console/candidates/saved/", {"name": "y" * 101, "return_query": "tag=Go"})
    assert SavedSearch.objects.count() == 1

    client.logout()
    colleague = login(company, Role.RECRUITER, email_address="colleague@acme.example")
    page = colleague.get("/console/candidates/").content.decode()
    assert "東京の Python" in page and f"/console/candidates/saved/{search.pk}/delete/" not in page
    response = colleague.post(f"/console/candidates/saved/{search.pk}/delete/", follow=True)
    assert "ほかの人が保存した検索は削除できません" in response.content.decode()
    assert SavedSearch.objects.filter(pk=search.pk).exists()

    client.logout()
    viewer = login(company, Role.VIEWER)
    page = viewer.get("/console/candidates/").content.decode()
    assert "東京の Python" in page and "saved_search" not in page and "/delete/" not in page
    assert viewer.post("/console/candidates/saved/", {"name": "v", "return_query": ""}).status_code == 403
    assert viewer.post(f"/console/candidates/saved/{search.pk}/delete/").status_code == 403

    client.logout()
    outsider = login(people["other"], Role.ADMIN, email_address="admin@other.example")
    assert "東京の Python" not in outsider.get("/console/candidates/").content.decode()
    assert outsider.post(f"/console/candidates/saved/{search.pk}/delete/").status_code == 404
    assert SavedSearch.objects.filter(pk=search.pk).exists()

    client.logout()
    admin = login(company, Role.ADMIN)
    response = admin.post(f"/console/candidates/saved/{search.pk}/delete/", follow=True)
    assert "検索「東京の Python」を削除しました" in response.content.decode()
    assert not SavedSearch.objects.exists()


# --- bulk tags -------------------------------------------------------------------------------------

def labels(candidate, kind="tag") -> set[str]:
    return set(CandidateTag.objects.filter(candidate=candidate, kind=kind, automatic=False)
               .values_list("label", flat=True))


def test_a_recruiter_tags_the_ticked_rows_and_removes_the_tag_again(people, login):
    takahashi, yamazaki, sato, stranger = (people[k] for k in ("takahashi", "yamazaki", "sato", "stranger"))
    recruiter = login(people["company"], Role.RECRUITER)
    page = recruiter.get("/console/candidates/", {"tag": "Python"}).content.decode()
    assert f'name="candidate" value="{takahashi.pk}"' in page and 'data-check-all="candidate"' in page
    response = recruiter.post("/console/candidates/tags/", {
        "candidate": [takahashi.pk, sato.pk, stranger.pk], "label": "2026年再連絡、要フォロー", "kind": "tag",
        "action": "add", "return_query": "tag=Python"})
    assert response.status_code == 302 and response["Location"] == "/console/candidates/?tag=Python"
    assert labels(takahashi) >= {"2026年再連絡", "要フォロー"} and labels(sato) >= {"2026年再連絡", "要フォロー"}
    assert "2026年再連絡" not in labels(yamazaki)
    assert "2026年再連絡" not in labels(stranger)  # another company's id is ignored
    assert set(listed(recruiter, {"tag": "要フォロー"})) == ids(takahashi, sato)

    recruiter.post("/console/candidates/tags/", {"candidate": [sato.pk], "label": "Go", "kind": "skill",
                                                  "action": "remove"})
    assert labels(sato, "skill") == {"Python"}
    response = recruiter.post("/console/candidates/tags/", {"candidate": [takahashi.pk, sato.pk],
                                                             "label": "要フォロー", "action": "remove"}, follow=True)
    assert "2人からタグ「要フォロー」を外しました" in response.content.decode()
    assert "要フォロー" not in labels(takahashi) | labels(sato)


def test_bulk_tags_refuse_bad_input_and_change_nothing(people, login):
    takahashi = people["takahashi"]
    recruiter = login(people["company"], Role.RECRUITER)
    before = CandidateTag.objects.count()
    for data in [{"candidate": ["abc"], "label": "x", "action": "add"},
                 {"candidate": [str(takahashi.pk)] * 501, "label": "x", "action": "add"},
                 {"candidate": ["9" * 30], "label": "x", "action": "add"},
                 {"candidate": ["１２"], "label": "x", "action": "add"}]:
        assert recruiter.post("/console/candidates/tags/", data).status_code == 400
    for data, error in [({"label": "x", "action": "add"}, "候補者を選んでください"),
                        ({"candidate": [takahashi.pk], "label": "", "action": "add"}, "タグ"),
                        ({"candidate": [takahashi.pk], "label": "x" * 51, "action": "add"}, "50文字"),
                        ({"candidate": [takahashi.pk], "label": "x", "action": "explode"}, "選択"),
                        ({"candidate": [takahashi.pk], "label": "x", "kind": "weird", "action": "add"}, "選択")]:
        page = recruiter.post("/console/candidates/tags/", data, follow=True).content.decode()
        assert 'class="flash error"' in page and error in page, data
    assert CandidateTag.objects.count() == before


def test_viewers_see_no_checkboxes_and_cannot_tag(people, login):
    viewer = login(people["company"], Role.VIEWER)
    page = viewer.get("/console/candidates/").content.decode()
    assert 'name="candidate"' not in page and "選んだ人に追加" not in page
    before = CandidateTag.objects.count()
    response = viewer.post("/console/candidates/tags/", {"candidate": [people["takahashi"].pk], "label": "x",
                                                          "action": "add"})
    assert response.status_code == 403 and CandidateTag.objects.count() == before


def test_the_campaign_button_carries_the_search(people, login):
    recruiter = login(people["company"], Role.RECRUITER)
    page = recruiter.get("/console/candidates/", {"tag": "Python", "region": "13"}).content.decode()
    try:
        from django.urls import reverse

        url = reverse("console:campaign_new")
    except Exception:  # messaging's campaign page not there yet: no button rather than a broken link
        assert "このリストにメールを送る" not in page
        return
    assert f'href="{url}?tag=Python&amp;region=13"' in page and "このリストにメールを送る" in page
    assert recruiter.get(f"{url}?tag=Python&region=13").status_code == 200  # the campaign page reads the search
    viewer_page = login(people["company"], Role.VIEWER).get("/console/candidates/").content.decode()
    assert "このリストにメールを送る" not in viewer_page


# --- the candidate page ----------------------------------------------------------------------------

def test_the_candidate_page_shows_the_pool_profile_and_marks_automatic_tags(people, login):
    takahashi = people["takahashi"]
    viewer = login(people["company"], Role.VIEWER)
    page = viewer.get(f"/console/candidates/{takahashi.pk}/").content.decode()
    for text in ("Python", "AWS", "リーダー経験", "東京都", "テックリード", "英語で面接可能", "連絡してよい", "最終面接",
                 "バックエンドエンジニア", "応募の履歴"):
        assert text in page, text
    assert 'class="tag tag-auto' in page and "自動" in page  # from the ATS: the job category, the stage...
    assert "candidate-edit" not in page and "tag-remove" not in page  # a viewer reads only


def test_a_recruiter_edits_the_profile(people, login):
    takahashi = people["takahashi"]
    recruiter = login(people["company"], Role.RECRUITER)
    page = recruiter.get(f"/console/candidates/{takahashi.pk}/").content.decode()
    assert 'id="candidate-edit"' in page and 'value="Python、AWS"' in page
    response = recruiter.post(f"/console/candidates/{takahashi.pk}/edit/", {
        "skills": "Python, Ｇｏ、TypeScript,CI/CD", "tags": "リーダー経験、英語", "region_code": "14", "region_text": "リモート可",
        "desired_job": "SRE", "note": "2026年に再連絡する", "contact_allowed": ""}, follow=True)
    page = response.content.decode()
    assert "候補者の情報を保存しました" in page
    takahashi.refresh_from_db()
    assert (takahashi.region_code, takahashi.region_text, takahashi.desired_job, takahashi.note,
            takahashi.contact_allowed) == ("14", "リモート可", "SRE", "2026年に再連絡する", False)
    assert labels(takahashi, "skill") == {"Python", "Ｇｏ", "TypeScript", "CI/CD"}  # a slash is not a separator
    assert labels(takahashi) == {"リーダー経験", "英語"}
    assert "神奈川県・リモート可" in page and "連絡しない" in page
    assert set(listed(recruiter, {"q": "typescript"})) == ids(takahashi)  # searchable at once


def test_a_bad_profile_is_refused_and_nothing_changes(people, login):
    takahashi = people["takahashi"]
    recruiter = login(people["company"], Role.RECRUITER)
    valid = {"skills": "Python", "tags": "", "region_code": "13", "region_text": "", "desired_job": "",
             "note": "", "contact_allowed": "on"}
    for change, error in [({"region_code": "99"}, "選択"), ({"skills": "x" * 51}, "50文字"),
                          ({"tags": "、".join(f"t{n}" for n in range(51))}, "50個"), ({"note": "x" * 5001}, "5000"),
                          ({"region_text": "x" * 101}, "100"), ({"desired_job": "x" * 201}, "200")]:
        response = recruiter.post(f"/console/candidates/{takahashi.pk}/edit/", {**valid, **change})
        assert response.status_code == 400, change
        assert error in response.content.decode(), change
    takahashi.refresh_from_db()
    assert takahashi.desired_job == "テックリード" and labels(takahashi, "skill") == {"Python", "AWS"}


def test_one_tag_is_added_and_removed_in_place_with_htmx_and_without(people, login):
    sato = people["sato"]
    recruiter = login(people["company"], Role.RECRUITER)
    url = f"/console/candidates/{sato.pk}/tags/"
    response = recruiter.post(url, {"action": "add", "label": "Kubernetes", "kind": "skill"},
                              headers={"HX-Request": "true"})
    fragment = response.content.decode()
    assert response.status_code == 200 and fragment.startswith('<div id="candidate-tags"')
    assert 'data-tag="Kubernetes"' in fragment and 'hx-swap-oob="true"' in fragment
    assert re.search(r'<input[^>]*name="skills"[^>]*value="Python、Go、Kubernetes"', fragment)
    assert labels(sato, "skill") == {"Python", "Go", "Kubernetes"}
    response = recruiter.post(url, {"action": "remove", "label": "Go", "kind": "skill"})
    assert response.status_code == 302 and response["Location"] == f"/console/candidates/{sato.pk}/"
    assert labels(sato, "skill") == {"Python", "Kubernetes"}
    response = recruiter.post(url, {"action": "add", "label": "x" * 51}, headers={"HX-Request": "true"})
    assert response.status_code == 400 and "50文字" in response.content.decode()
    assert labels(sato, "skill") == {"Python", "Kubernetes"} and not labels(sato)


def test_another_companys_candidate_is_404_and_viewers_are_refused(people, login, client):
    stranger, takahashi = people["stranger"], people["takahashi"]
    admin = login(people["company"], Role.ADMIN)
    for path in (f"/console/candidates/{stranger.pk}/",):
        assert admin.get(path).status_code == 404
    assert admin.post(f"/console/candidates/{stranger.pk}/edit/", {"note": "x"}).status_code == 404
    assert admin.post(f"/console/candidates/{stranger.pk}/tags/", {"action": "add", "label": "x"}).status_code == 404
    assert admin.get("/console/candidates/99999999/").status_code == 404
    assert admin.get("/console/candidates/" + "9" * 30 + "/").status_code == 404
    assert admin.post("/console/candidates/" + "9" * 30 + "/edit/", {"note": "x"}).status_code == 404
    assert admin.post("/console/candidates/saved/" + "9" * 30 + "/delete/").status_code == 404
    client.logout()
    viewer = login(people["company"], Role.VIEWER)
    assert viewer.post(f"/console/candidates/{takahashi.pk}/edit/", {"note": "x"}).status_code == 403
    assert viewer.post(f"/console/candidates/{takahashi.pk}/tags/", {"action": "add", "label": "x"}).status_code == 403
    stranger.refresh_from_db()
    takahashi.refresh_from_db()
    assert stranger.note == "" and takahashi.note == "英語で面接可能" and "x" not in labels(takahashi)
