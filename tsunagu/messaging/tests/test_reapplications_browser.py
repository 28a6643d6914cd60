"""HR meets a re-application in a real Chromium: the badge in the top bar, the list, the person's history, and
the probable match answered and merged; at desktop and phone width."""

import pytest

from tsunagu.companies import actions
from tsunagu.companies.models import Role
from tsunagu.talent.models import Candidate, Reapplication, ReviewStatus
from tsunagu.testing import DESKTOP, PHONE, ApiClient, application_body

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_hr_sees_the_badge_reads_the_history_confirms_and_merges(make_company, live_server, new_page, device):
    company, key = make_company()
    api = ApiClient(key)
    api.post("/api/v1/applications", application_body(
        "B-1", candidate={"name": "山崎 太郎", "name_kana": "ヤマザキ タロウ", "email": "taro@example.jp"},
        evaluation="A"))
    api.post("/api/v1/applications", application_body(
        "B-2", status="active", job={"external_id": "J-2", "title": "SRE"},
        candidate={"name": "山﨑 太郎", "name_kana": "やまざき たろう", "email": "taro.y@example.jp"}))
    actions.create_user(email="hr@acme.example", password="a-long-password", company=company, role=Role.RECRUITER)

    page = new_page(device)
    page.goto(live_server.url + "/console/")
    page.fill("#id_username", "hr@acme.example")
    page.fill("#id_password", "a-long-password")
    page.click("button[type=submit]")
    page.wait_for_selector("#reapplication-badge")
    assert page.text_content("#reapplication-badge").strip().endswith("1")

    page.click("#nav-reapplications")
    page.wait_for_selector("#reapplications")
    page.click("#reapplications >> text=山﨑 太郎")
    page.wait_for_selector("#reapplication-summary")
    history = page.text_content("main")
    assert "スキル不一致" in history and "バックエンドエンジニア" in history and "不採用通知" in history
    assert page.locator("#reapplication-badge").count() == 0  # read now

    page.click("#confirm")
    page.wait_for_selector("text=同一人物として記録しました")
    page.click("#merge")
    page.wait_for_selector("text=記録を1つに統合しました")
    assert Reapplication.objects.get().status == ReviewStatus.MERGED
    assert Candidate.objects.get(email="taro.y@example.jp").merged_into is not None
    # Nothing overflows sideways (wide tables scroll inside the page).
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1
