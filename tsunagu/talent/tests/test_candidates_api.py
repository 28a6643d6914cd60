"""/api/v1/candidates over real HTTP (Django's test client): search with filters and reasons, read, edit;
another company's ids answer 404, bad input 422 with nothing changed."""

from __future__ import annotations

import pytest

from tsunagu.talent.models import Candidate, CandidateTag
from tsunagu.testing import ApiClient, application_body


@pytest.fixture
def acme(make_company):
    company, key = make_company("acme")
    client = ApiClient(key)
    client.post("/api/v1/applications", application_body("A-1", stage="最終面接", evaluation="A",
                                                          applied_at="2024-04-01T10:00:00+09:00"))
    client.post("/api/v1/applications", application_body(
        "A-2", email_address="kenta@example.jp", candidate={"name": "山﨑 健太", "name_kana": "ヤマザキ ケンタ",
                                                            "email": "kenta@example.jp"},
        stage="一次面接", applied_at="2024-05-01T10:00:00+09:00"))
    return company, client


@pytest.fixture
def globex(make_company):
    company, key = make_company("globex", name="グローベックス株式会社")
    client = ApiClient(key)
    client.post("/api/v1/applications", application_body("G-1", email_address="other@example.jp"))
    return company, client


def patch(client: ApiClient, path: str, body):
    return client.client.patch(path, data=body, content_type="application/json", headers=client.headers)


def candidate_id(company, email: str) -> int:
    return Candidate.objects.get(company=company, email_key=email).pk


def test_search_with_reasons_and_total(acme):
    _company, client = acme
    response = client.get("/api/v1/candidates")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 2
    assert [r["name"] for r in body["results"]] == ["山﨑 健太", "髙橋 𠮷子"]

    body = client.get("/api/v1/candidates", q="高橋").json()
    assert body["total"] == 1
    [yoshiko] = body["results"]
    assert yoshiko["name"] == "髙橋 𠮷子" and yoshiko["matched"] == ["氏名(異体字を同一視)"]
    assert yoshiko["stage_reached"] == "final_interview" and yoshiko["evaluation"] == "A"
    assert yoshiko["pool_state"] == "rejected"
    assert "最終面接まで" in yoshiko["automatic_tags"] and yoshiko["tags"] == []

    assert [r["matched"] for r in client.get("/api/v1/candidates", q="たかはし").json()["results"]] == [["フリガナ"]]
    assert client.get("/api/v1/candidates", q="yoshiko@example.jp").json()["results"][0]["matched"] == [
        "メールアドレス"]
    assert client.get("/api/v1/candidates", q="090-1234-5678").json()["total"] == 1


def test_filters_and_paging(acme):
    company, client = acme
    kenta = candidate_id(company, "kenta@example.jp")
    assert patch(client, f"/api/v1/candidates/{kenta}", {"skills": ["Python"], "tags": ["要再連絡"]}).status_code == 200

    def found(**params):
        return [r["name"] for r in client.get("/api/v1/candidates", **params).json()["results"]]

    assert found(stage_at_least="final_interview") == ["髙橋 𠮷子"]
    assert found(stage_at_least="20") == ["山﨑 健太", "髙橋 𠮷子"]
    assert found(tag=["python", "要再連絡"]) == ["山﨑 健太"]
    assert found(tag=["python", "最終面接まで"]) == []
    assert found(evaluation="A") == ["髙橋 𠮷子"]
    assert found(limit=1) == ["山﨑 健太"]
    assert found(limit=1, offset=1) == ["髙橋 𠮷子"]
    assert client.get("/api/v1/candidates", limit=1, offset=1).json()["total"] == 2
    assert found(offset=5) == []


@pytest.mark.parametrize("params", [
    {"limit": 0}, {"limit": 101}, {"limit": "x"}, {"offset": -1}, {"q": "あ" * 201}, {"tag": ["x" * 51]},
    {"tag": [str(n) for n in range(21)]}, {"stage_at_least": "7"}, {"stage_at_least": "最終"},
    {"region": "地" * 101}, {"state": "gone"}, {"rejected_from": "2024/01/01"}, {"contactable": "maybe"},
    {"q": "a\x00b"},
])
def test_bad_search_parameters_are_422(acme, params):
    _company, client = acme
    response = client.get("/api/v1/candidates", **params)
    assert response.status_code == 422, response.content
    assert response.json()["errors"]


def test_read_a_candidate_and_the_id_an_application_gives(acme):
    _company, client = acme
    application = client.get("/api/v1/applications/A-1").json()
    assert application["candidate"]["name"] == "髙橋 𠮷子"
    response = client.get(f"/api/v1/candidates/{application['candidate']['id']}")
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == "yoshiko@example.jp" and body["phone"] == "090-1234-5678"
    assert body["contact_allowed"] is True and body["merged_into"] is None
    assert [a["external_id"] for a in body["applications"]] == ["A-1"]
    assert body["applications"][0]["job_title"] == "バックエンドエンジニア"


def test_edit_a_candidate(acme):
    company, client = acme
    yoshiko = candidate_id(company, "yoshiko@example.jp")
    response = patch(client, f"/api/v1/candidates/{yoshiko}", {
        "skills": ["Python", "AWS"], "tags": ["リーダー経験"], "region": "東京", "desired_job": "データサイエンティスト",
        "note": "英語で面接可能。", "contact_allowed": False})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["skills"], body["tags"], body["region_code"], body["region_text"]) == (
        ["Python", "AWS"], ["リーダー経験"], "13", "")
    assert body["desired_job"] == "データサイエンティスト" and body["contact_allowed"] is False
    assert client.get("/api/v1/candidates", q="英語").json()["results"][0]["matched"] == ["メモ"]

    # Fields left out stay; a region that is no prefecture is free text; lists replace.
    body = patch(client, f"/api/v1/candidates/{yoshiko}", {"region": "リモート", "skills": []}).json()
    assert (body["region_code"], body["region_text"], body["skills"]) == ("", "リモート", [])
    assert body["tags"] == ["リーダー経験"] and body["note"] == "英語で面接可能。"
    assert patch(client, f"/api/v1/candidates/{yoshiko}", {}).status_code == 200


@pytest.mark.parametrize("body", [
    {"skills": ["x" * 51]}, {"tags": [f"t{n}" for n in range(101)]}, {"tags": "Python"}, {"region": "地" * 101},
    {"desired_job": "職" * 201}, {"note": "メ" * 5001}, {"contact_allowed": "no"}, {"contact_allowed": 0},
    {"tags": [1]}, [], '"x"', "5",
])
def test_a_bad_edit_is_422_and_changes_nothing(acme, body):
    company, client = acme
    yoshiko = candidate_id(company, "yoshiko@example.jp")
    before = Candidate.objects.get(pk=yoshiko)
    response = patch(client, f"/api/v1/candidates/{yoshiko}", body)
    assert response.status_code == 422, response.content
    after = Candidate.objects.get(pk=yoshiko)
    assert (after.note, after.desired_job, after.region_text, after.contact_allowed) == (
        before.note, before.desired_job, before.region_text, before.contact_allowed)
    assert not CandidateTag.objects.filter(candidate_id=yoshiko, automatic=False).exists()


def test_a_body_with_a_nul_is_400(acme):
    company, client = acme
    yoshiko = candidate_id(company, "yoshiko@example.jp")
    assert patch(client, f"/api/v1/candidates/{yoshiko}", {"note": "a\u0000b"}).status_code == 400


def test_another_companys_candidates_never_show(acme, globex):
    acme_company, acme_client = acme
    globex_company, globex_client = globex
    stranger = candidate_id(globex_company, "other@example.jp")
    assert acme_client.get(f"/api/v1/candidates/{stranger}").status_code == 404
    assert patch(acme_client, f"/api/v1/candidates/{stranger}", {"note": "見た"}).status_code == 404
    assert Candidate.objects.get(pk=stranger).note == ""
    assert "other@example.jp" not in acme_client.get("/api/v1/candidates", q="髙橋").content.decode()
    assert acme_client.get("/api/v1/candidates", q="other@example.jp").json()["total"] == 0
    assert globex_client.get("/api/v1/candidates").json()["total"] == 1


@pytest.mark.parametrize("path", ["/api/v1/candidates/0", "/api/v1/candidates/abc",
                                  f"/api/v1/candidates/{2**63}", "/api/v1/candidates/-1"])
def test_ids_that_cannot_be_are_refused(acme, path):
    _company, client = acme
    assert client.get(path).status_code in (404, 422)


def test_without_a_key_401(acme):
    assert ApiClient(None).get("/api/v1/candidates").status_code == 401
    assert ApiClient("wrong").get("/api/v1/candidates/1").status_code == 401
    assert patch(ApiClient(None), "/api/v1/candidates/1", {"note": "x"}).status_code == 401
