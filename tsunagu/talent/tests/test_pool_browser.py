"""The talent pool in a real Chromium, at desktop and phone width: filter the pool, click a facet, tick rows and
tag them; on a candidate page, add and remove a tag in place and edit the profile."""

from __future__ import annotations

import pytest

from tsunagu.companies import actions
from tsunagu.companies.models import Role
from tsunagu.talent.actions import pool
from tsunagu.talent.models import Candidate, CandidateTag
from tsunagu.testing import DESKTOP, PHONE, ApiClient, application_body

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEVICES = pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=["desktop", "phone"])


def make_pool(make_company) -> dict[str, Candidate]:
    company, key = make_company()
    api = ApiClient(key)
    people = {}
    for number, (name, kana, stage, category) in enumerate([
            ("髙橋 一郎", "タカハシ イチロウ", "最終面接", "エンジニア"), ("山﨑 花子", "ヤマザキ ハナコ", "書類選考", "営業"),
            ("佐藤 健", "サトウ ケン", "二次面接", "エンジニア")]):
        email = f"p{number}@example.jp"
        assert api.post("/api/v1/applications", application_body(
            f"A-{number}", email_address=email, stage=stage, notify=False,
            candidate={"name": name, "name_kana": kana, "email": email, "phone": f"090-1111-000{number}"},
            job={"external_id": f"J-{category}", "title": f"{category}職", "category": category},
        )).status_code in (200, 201)
        people[name] = Candidate.objects.get(email=email)
    pool.update_candidate_profile(company, people["髙橋 一郎"], skills=["Python", "AWS"], region_code="13")
    pool.update_candidate_profile(company, people["佐藤 健"], skills=["Python"], region_code="27")
    pool.update_candidate_profile(company, people["山﨑 花子"], skills=["Excel"], region_code="13")
    actions.create_user(email="hr@acme.example", password="a-long-password", company=company, role=Role.RECRUITER)
    return people


def log_in(page, live_server):
    page.goto(live_server.url + "/console/")
    page.fill("#id_username", "hr@acme.example")
    page.fill("#id_password", "a-long-password")
    page.click("button[type=submit]")
    page.wait_for_selector("text=ダッシュボード")


def listed_names(page) -> set[str]:
    return {text.strip() for text in page.locator(".pool-table tr[data-candidate] td a").all_text_contents()}


WIDER_THAN_THE_PAGE = """() => {
  const limit = document.documentElement.clientWidth;
  return [...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > limit + 1)
    .slice(0, 5).map(e => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right));
}"""


def fits(page) -> bool:
    """Nothing overflows sideways (compared with clientWidth: mobile emulation widens innerWidth)."""
    width, viewport = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width <= viewport, page.evaluate(WIDER_THAN_THE_PAGE)
    return True


@DEVICES
def test_filter_the_pool_click_a_facet_and_tag_the_ticked_rows(make_company, live_server, new_page, device):
    people = make_pool(make_company)
    page = new_page(device)
    log_in(page, live_server)
    page.goto(live_server.url + "/console/candidates/")
    assert listed_names(page) == {"髙橋 一郎", "山﨑 花子", "佐藤 健"}
    assert fits(page)

    filters = page.locator("details.pool-filters")
    if device is PHONE:  # folded away on a phone until asked for
        assert filters.get_attribute("open") is None
        page.click("details.pool-filters > summary")
    else:
        assert filters.get_attribute("open") is not None
    page.select_option("#f-stage", "30")  # 二次面接 or later
    page.click("details.pool-filters button[type=submit]")
    page.wait_for_url("**stage_at_least=30**")
    assert listed_names(page) == {"髙橋 一郎", "佐藤 健"}

    if device is PHONE:
        page.click("details.pool-facets > summary")
    page.click('[data-facet="region"] a:has-text("東京都")')
    page.wait_for_url("**region=13**")
    assert listed_names(page) == {"髙橋 一郎"}
    assert "stage_at_least=30" in page.url  # the facet added to the filters, not replaced them
    assert fits(page)

    page.check(f'input[name=candidate][value="{people["髙橋 一郎"].pk}"]')
    page.fill(".pool-bulk input[name=label]", "再連絡候補")
    page.click(".pool-bulk button[value=add]")
    page.wait_for_selector("text=1人にタグ「再連絡候補」を追加しました")
    assert "region=13" in page.url
    assert CandidateTag.objects.filter(candidate=people["髙橋 一郎"], label="再連絡候補").exists()
    assert not CandidateTag.objects.filter(candidate=people["佐藤 健"], label="再連絡候補").exists()


@DEVICES
def test_add_and_remove_a_tag_in_place_and_edit_the_profile(make_company, live_server, new_page, device):
    people = make_pool(make_company)
    sato = people["佐藤 健"]
    page = new_page(device)
    log_in(page, live_server)
    page.goto(live_server.url + f"/console/candidates/{sato.pk}/")
    page.fill("#tag-add-label", "Kubernetes")
    page.select_option(".tag-add select[name=kind]", "skill")
    page.click(".tag-add button[type=submit]")
    page.wait_for_selector('#candidate-tags [data-tag="Kubernetes"]')
    assert page.input_value("#id_skills") == "Python、Kubernetes"  # the edit form follows the change
    assert "/tags/" not in page.url  # swapped in place

    page.click('#candidate-tags [data-tag="Python"] .tag-remove')
    page.wait_for_selector('#candidate-tags [data-tag="Python"]', state="detached")
    assert page.input_value("#id_skills") == "Kubernetes"

    page.fill("#tag-add-label", "x" * 60)
    page.click(".tag-add button[type=submit]")
    page.wait_for_selector("#candidate-tags .errorlist")
    assert fits(page)

    page.click("#candidate-edit > summary")
    page.fill("#id_tags", "リーダー経験、英語")
    page.select_option("#id_region_code", "14")
    page.fill("#id_desired_job", "SRE")
    page.uncheck("#id_contact_allowed")
    page.click("#candidate-edit button[type=submit]")
    page.wait_for_selector("text=候補者の情報を保存しました")
    assert page.text_content("#fact-region").strip() == "神奈川県"
    assert "連絡しない" in page.text_content("#fact-contact")
    assert page.locator('#candidate-tags [data-tag="英語"]').count() == 1
    sato.refresh_from_db()
    assert (sato.region_code, sato.desired_job, sato.contact_allowed) == ("14", "SRE", False)
    assert set(CandidateTag.objects.filter(candidate=sato, automatic=False).values_list("label", flat=True)) == {
        "Kubernetes", "リーダー経験", "英語"}
    assert fits(page)
