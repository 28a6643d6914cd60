"""HR reads the coverage grid in a real Chromium and fixes a fall-back from it."""

import pytest

from tsunagu.companies import actions as companies
from tsunagu.companies.models import Role
from tsunagu.messaging.actions import templates
from tsunagu.messaging.models import MessageKind
from tsunagu.messaging.template_sets import Slot
from tsunagu.talent.stages import Stage
from tsunagu.testing import ApiClient, application_body

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-password"


def test_the_coverage_grid_marks_fallbacks_and_leads_to_the_editor(make_company, live_server, new_page):
    company, key = make_company()
    companies.create_user(email="hr@acme.example", password=PASSWORD, company=company, role=Role.ADMIN)
    api = ApiClient(key)
    api.post("/api/v1/applications", application_body("A-1", stage="最終面接"))
    api.post("/api/v1/applications", application_body(
        "A-2", email_address="b@example.jp", stage="書類選考",
        job={"external_id": "J-2", "title": "法人営業", "category": "営業"}))
    templates.save_template(company, MessageKind.REJECTION, subject="書類選考の結果({{ company_name }})",
                          body_text="{{ candidate_name }}様\n書類選考の結果です。", slot=Slot(stage=Stage.DOCUMENT_SCREENING))

    page = new_page()
    page.goto(live_server.url + "/console/templates/coverage/")
    page.fill("#id_username", "hr@acme.example")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#coverage")
    assert "10件の組み合わせのうち、10件がフォールバックしています(うち8件は既定の文面)。" in page.text_content(
        "#coverage-summary")
    final = page.locator('#coverage td[data-category="エンジニア"][data-stage="40"]')
    assert "既定の文面" in final.text_content() and "(フォールバック)" in final.text_content()
    assert "不採用 1件" in final.text_content()
    # Highlighted: a default fall-back is red, a stage-only slot yellow.
    assert final.evaluate("cell => getComputedStyle(cell).backgroundColor") == "rgb(255, 227, 227)"
    screening = page.locator('#coverage td[data-category="営業"][data-stage="10"]')
    assert "書類選考" in screening.text_content()
    assert screening.evaluate("cell => getComputedStyle(cell).backgroundColor") == "rgb(255, 243, 196)"

    # HR makes wording for final interviews of engineers, from the cell.
    final.locator("text=専用の文面を作る").click()
    page.wait_for_selector("#fallback-note")
    assert "最終面接 × エンジニア" in page.text_content("#slot-label")
    page.wait_for_selector("#preview-text")
    page.fill("#id_subject", "最終面接の結果({{ company_name }})")
    page.fill("#id_body_text", "{{ candidate_name }}様\n最終面接までお時間をいただき、ありがとうございました。")
    # An arrow function, not a bare expression: Playwright evals an expression, which the CSP forbids.
    page.wait_for_function("() => document.querySelector('#preview-text').textContent.includes('最終面接までお時間')")
    assert "髙橋 𠮷子様" in page.text_content("#preview-text")
    page.click("form.panel button[type=submit]")
    page.wait_for_selector("text=テンプレートを保存しました")

    page.goto(live_server.url + "/console/templates/coverage/")
    final = page.locator('#coverage td[data-category="エンジニア"][data-stage="40"]')
    assert final.get_attribute("data-state") == "exact"
    assert "(フォールバック)" not in final.text_content()
    assert final.evaluate("cell => getComputedStyle(cell).backgroundColor") == "rgb(227, 249, 229)"
