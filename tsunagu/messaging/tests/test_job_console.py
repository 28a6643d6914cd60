"""The console's job pages: list and add, a job's page with its shortlist, edit, open/close and follow, by role;
and in Chromium, ticking two people on the shortlist and going on to the invitation (desktop and phone)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from tsunagu.companies import actions as companies
from tsunagu.companies.models import Role
from tsunagu.messaging.tests.pool_people import person
from tsunagu.talent.actions.jobs import save_job
from tsunagu.talent.models import Job, JobStatus
from tsunagu.talent.stages import Stage
from tsunagu.testing import DESKTOP, PHONE

FORM = {"title": "データエンジニア", "category": "エンジニア", "location": "東京都", "requirements": "Python, SQL",
        "description": "分析基盤の開発", "status": "open"}


def a_job(company, **fields):
    values = {"external_id": "J-1", "title": "バックエンドエンジニア", "category": "エンジニア",
              "requirements": "Python, AWS"} | fields
    return save_job(company, **values)[0]


@pytest.mark.django_db
def test_a_recruiter_adds_a_job_and_sees_the_shortlist(make_company, login):
    company, _key = make_company()
    person(company, "佐藤 一郎", "ichiro@example.jp", skills=["Python"], stage=Stage.FINAL_INTERVIEW)
    recruiter = login(company, Role.RECRUITER)
    listing = recruiter.get("/console/jobs/")
    assert listing.status_code == 200 and "求人を追加" in listing.content.decode()
    response = recruiter.post("/console/jobs/", FORM, follow=True)
    job = Job.objects.get(title="データエンジニア")
    assert (job.company, job.status, job.external_id) == (company, JobStatus.OPEN, "")
    assert job.opened_at is not None
    page = response.content.decode()
    assert "佐藤 一郎" in page and "最終面接まで進んだ" in page and 'name="candidate"' in page
    assert 'name="kind" value="invitation"' in page and f'name="job" value="{job.pk}"' in page


@pytest.mark.django_db
def test_the_add_form_refuses_bad_input_and_keeps_it(make_company, login):
    company, _key = make_company()
    recruiter = login(company, Role.RECRUITER)
    response = recruiter.post("/console/jobs/", FORM | {"title": " ", "status": "paused"})
    assert response.status_code == 200 and Job.objects.count() == 0
    page = response.content.decode()
    assert "errorlist" in page and "分析基盤の開発" in page


@pytest.mark.django_db
def test_edit_close_reopen_and_follow(make_company, login):
    company, _key = make_company()
    job = a_job(company)
    recruiter = login(company, Role.RECRUITER)
    url = f"/console/jobs/{job.pk}/"
    recruiter.post(url, FORM | {"title": "SRE"})
    job.refresh_from_db()
    assert (job.title, job.external_id) == ("SRE", "J-1") and "sre" in job.search_tokens.split()
    first_opened = job.opened_at
    recruiter.post(url + "status/", {"status": "closed"})
    job.refresh_from_db()
    assert job.status == JobStatus.CLOSED
    page = recruiter.post(url + "status/", {"status": "open"}, follow=True).content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.OPEN and job.opened_at > first_opened and "募集を開始しました" in page
    recruiter.post(url + "follow/", {"follow": "1"})
    assert list(job.followers.values_list("email", flat=True)) == ["recruiter@acme.example"]
    recruiter.post(url + "follow/", {"follow": "0"})
    assert job.followers.count() == 0


@pytest.mark.django_db
def test_the_list_filters_open_and_closed(make_company, login):
    company, _key = make_company()
    a_job(company, external_id="J-1", title="募集中の求人")
    a_job(company, external_id="J-2", title="終了した求人", status="closed")
    viewer = login(company, Role.VIEWER)
    page = viewer.get("/console/jobs/", {"status": "closed"}).content.decode()
    assert "終了した求人" in page and "募集中の求人" not in page
    assert "募集中の求人" in viewer.get("/console/jobs/").content.decode()


@pytest.mark.django_db
def test_a_viewer_reads_but_cannot_act(make_company, login):
    company, _key = make_company()
    job = a_job(company)
    person(company, "佐藤 一郎", "ichiro@example.jp", skills=["Python"])
    viewer = login(company, Role.VIEWER)
    page = viewer.get(f"/console/jobs/{job.pk}/").content.decode()
    assert "佐藤 一郎" in page and "shortlist-send" not in page and "job-close" not in page
    assert "求人を追加" not in viewer.get("/console/jobs/").content.decode()
    assert viewer.post("/console/jobs/", FORM).status_code == 403
    assert viewer.post(f"/console/jobs/{job.pk}/", FORM).status_code == 403
    assert viewer.post(f"/console/jobs/{job.pk}/status/", {"status": "closed"}).status_code == 403
    assert viewer.post(f"/console/jobs/{job.pk}/follow/", {"follow": "1"}).status_code == 403
    job.refresh_from_db()
    assert job.status == JobStatus.OPEN and job.followers.count() == 0


@pytest.mark.django_db
def test_another_companys_job_is_404(make_company, login):
    company, _key = make_company()
    other, _key = make_company(slug="other", name="株式会社アザー")
    theirs = a_job(other)
    admin = login(company, Role.ADMIN)
    for path in ("", "status/", "follow/"):
        assert admin.post(f"/console/jobs/{theirs.pk}/{path}", {"status": "closed"}).status_code == 404
    assert admin.get(f"/console/jobs/{theirs.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == JobStatus.OPEN


# --- in Chromium -----------------------------------------------------------------------------------

@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_hr_ticks_two_people_on_the_shortlist_and_goes_on_to_the_invitation(make_company, live_server, new_page,
                                                                             device):
    company, _key = make_company()
    job = a_job(company)
    chosen = [person(company, "佐藤 一郎", "ichiro@example.jp", skills=["Python", "AWS"], stage=Stage.FINAL_INTERVIEW),
              person(company, "鈴木 二郎", "jiro@example.jp", skills=["Python"], stage=Stage.SECOND_INTERVIEW)]
    person(company, "田中 三郎", "saburo@example.jp", skills=["AWS"])
    companies.create_user(email="hr@acme.example", password="a-long-password", company=company,
                          role=Role.RECRUITER)

    page = new_page(device=device)
    page.goto(live_server.url + "/console/")
    page.fill("#id_username", "hr@acme.example")
    page.fill("#id_password", "a-long-password")
    page.click("button[type=submit]")
    page.wait_for_selector("nav.topbar")
    page.goto(live_server.url + f"/console/jobs/{job.pk}/")
    rows = page.locator("#shortlist tr[data-candidate]")
    assert rows.count() == 3
    assert rows.first.get_attribute("data-candidate") == str(chosen[0].pk)
    assert "最終面接まで進んだ" in rows.first.text_content()
    for candidate in chosen:
        page.check(f"#pick-{candidate.pk}")
    # Nothing overflows sideways (wide tables scroll inside the page).
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.click("#shortlist-send")
    page.wait_for_url("**/console/campaigns/new/**")
    params = parse_qs(urlparse(page.url).query)
    assert sorted(params["candidate"]) == sorted(str(c.pk) for c in chosen)
    assert params["job"] == [str(job.pk)] and params["kind"] == ["invitation"]
