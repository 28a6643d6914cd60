"""POST/GET /api/v1/jobs and GET /api/v1/jobs/{external_id}/rediscovery: upsert, validation, tenant isolation."""

from __future__ import annotations

import pytest

from tsunagu.messaging.models import Message
from tsunagu.messaging.tests.pool_people import person
from tsunagu.talent.models import Job
from tsunagu.talent.stages import Stage
from tsunagu.testing import ApiClient

pytestmark = pytest.mark.django_db

JOB = {"external_id": "J-42", "title": "バックエンドエンジニア", "category": "エンジニア",
       "description": "決済基盤の開発", "location": "東京都", "status": "open"}


def test_a_new_job_is_201_with_opened_at_and_a_repeat_is_200_unchanged(api):
    created = api.post("/api/v1/jobs", JOB)
    assert created.status_code == 201
    body = created.json()
    assert {key: body[key] for key in JOB} == JOB
    assert body["id"] == Job.objects.get().pk and body["opened_at"]
    again = api.post("/api/v1/jobs", JOB)
    assert again.status_code == 200 and again.json() == body
    assert Job.objects.count() == 1


def test_closing_then_reopening_moves_opened_at_and_fills_the_search_tokens(api):
    first = api.post("/api/v1/jobs", JOB).json()
    closed = api.post("/api/v1/jobs", JOB | {"status": "closed"}).json()
    assert closed["status"] == "closed" and closed["opened_at"] == first["opened_at"]
    reopened = api.post("/api/v1/jobs", JOB | {"status": "open", "title": "  SRE　エンジニア "}).json()
    assert reopened["opened_at"] > first["opened_at"] and reopened["title"] == "SRE エンジニア"
    job = Job.objects.get()
    assert "sre" in job.search_tokens.split() and "決済" in job.search_tokens.split()


def test_a_job_new_and_closed_has_no_opened_at(api):
    body = api.post("/api/v1/jobs", JOB | {"status": "closed"}).json()
    assert body["opened_at"] is None


def test_opening_a_job_mails_nobody(api):
    api.post("/api/v1/jobs", JOB | {"status": "closed"})
    job = Job.objects.get()
    person(job.company, "佐藤 一郎", "ichiro@example.jp", skills=["決済"], stage=Stage.FINAL_INTERVIEW)
    api.post("/api/v1/jobs", JOB)
    assert Message.objects.count() == 0


@pytest.mark.parametrize("change", [
    {"status": "paused"}, {"title": ""}, {"title": "   "}, {"external_id": ""}, {"external_id": " "},
    {"title": "x" * 301}, {"category": "x" * 201}, {"location": "x" * 201}, {"description": "x" * 20001},
    {"title": 5}, {"status": None}, {"external_id": "x" * 201},
])
def test_bad_input_is_422_and_changes_nothing(api, change):
    response = api.post("/api/v1/jobs", JOB | change)
    assert response.status_code == 422, response.content
    assert response.json()["errors"]
    assert Job.objects.count() == 0


@pytest.mark.parametrize("body", [b"not json", b'{"title": "a\\u0000"}', b"[]"])
def test_unreadable_bodies_are_4xx(api, body):
    response = api.client.post("/api/v1/jobs", data=body, content_type="application/json", headers=api.headers)
    assert response.status_code in (400, 422)
    assert Job.objects.count() == 0


def test_without_a_key_401(client):
    assert ApiClient(None).post("/api/v1/jobs", JOB).status_code == 401
    assert ApiClient("wrong").get("/api/v1/jobs").status_code == 401
    assert ApiClient("wrong").get("/api/v1/jobs/J-42/rediscovery").status_code == 401


def test_the_list_is_paginated_filtered_and_only_the_companys(api, make_company):
    _other, other_key = make_company(slug="other", name="株式会社アザー")
    ApiClient(other_key).post("/api/v1/jobs", JOB | {"title": "他社の求人"})
    for number in range(3):
        api.post("/api/v1/jobs", JOB | {"external_id": f"J-{number}", "status": "closed" if number else "open"})
    response = api.get("/api/v1/jobs", limit=2)
    assert response.status_code == 200 and response["X-Total-Count"] == "3" and len(response.json()) == 2
    assert [job["external_id"] for job in api.get("/api/v1/jobs", status="open").json()] == ["J-0"]
    assert len(api.get("/api/v1/jobs", offset=2).json()) == 1
    assert all(job["title"] != "他社の求人" for job in api.get("/api/v1/jobs").json())
    assert api.get("/api/v1/jobs", limit=0).status_code == 422
    assert api.get("/api/v1/jobs", status="paused").status_code == 422


def test_another_company_upserting_the_same_external_id_gets_its_own_job(api, make_company):
    _other, other_key = make_company(slug="other", name="株式会社アザー")
    api.post("/api/v1/jobs", JOB)
    assert ApiClient(other_key).post("/api/v1/jobs", JOB | {"title": "他社の求人"}).status_code == 201
    assert sorted(Job.objects.values_list("title", flat=True)) == ["バックエンドエンジニア", "他社の求人"]


def test_rediscovery_ranks_the_pool_and_hides_other_companies_jobs(api, make_company):
    api.post("/api/v1/jobs", JOB | {"requirements": "Python"})
    company = Job.objects.get().company
    best = person(company, "佐藤 一郎", "ichiro@example.jp", skills=["Python"], stage=Stage.FINAL_INTERVIEW)
    person(company, "鈴木 二郎", "jiro@example.jp", skills=["Python"], stage=Stage.DOCUMENT_SCREENING)
    response = api.get("/api/v1/jobs/J-42/rediscovery", limit=10)
    assert response.status_code == 200
    shortlist = response.json()
    assert [row["name"] for row in shortlist] == ["佐藤 一郎", "鈴木 二郎"]
    assert shortlist[0]["id"] == best.pk and shortlist[0]["score"] > shortlist[1]["score"]
    assert any("最終面接まで進んだ" in reason for reason in shortlist[0]["reasons"])
    assert len(api.get("/api/v1/jobs/J-42/rediscovery", limit=1).json()) == 1

    _other, other_key = make_company(slug="other", name="株式会社アザー")
    assert ApiClient(other_key).get("/api/v1/jobs/J-42/rediscovery").status_code == 404
    assert api.get("/api/v1/jobs/J-unknown/rediscovery").status_code == 404
    assert api.get("/api/v1/jobs/J-42/rediscovery", limit=0).status_code == 422
    assert api.get("/api/v1/jobs/J-42/rediscovery", limit=100000).status_code == 422


def test_a_console_job_without_external_id_is_not_reachable_by_a_blank_id(api):
    api.post("/api/v1/jobs", JOB)
    assert api.get("/api/v1/jobs/%20/rediscovery").status_code == 404


def test_unknown_query_parameters_are_422(api):
    api.post("/api/v1/jobs", JOB)
    assert api.get("/api/v1/jobs", stauts="open").status_code == 422
    assert api.get("/api/v1/jobs/J-42/rediscovery", limt=5).status_code == 422
