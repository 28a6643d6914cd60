"""The dashboard in a real browser: the cards a person sees first, and machines and opens kept apart."""

import pytest

from tsunagu.analytics.tests.test_dashboard import build_activity
from tsunagu.companies import actions as companies
from tsunagu.companies.models import Role


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_dashboard_in_a_browser(make_company, client, events, live_server, new_page):
    company, _other = build_activity(make_company, client)
    companies.create_user(email="hr@acme.example", password="a-long-password", company=company, role=Role.ADMIN)
    page = new_page()
    page.goto(live_server.url + "/console/")
    page.fill("#id_username", "hr@acme.example")
    page.fill("#id_password", "a-long-password")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('ダッシュボード')")
    first_cards = page.locator(".cards").first.locator(".card .label").all_text_contents()
    assert first_cards[:2] == ["リンクを開いた人", "登録"]
    assert page.text_content("[data-count=clicks]") == "2"
    assert page.text_content("[data-count=registrations]") == "1"
    assert "送信済みに対して 67%" in page.text_content(".card:has([data-count=clicks])")
    assert page.text_content("[data-count=machine-clicks]") == "4"
    assert page.is_visible("#machine-clicks")
    assert page.text_content("[data-count=opens]") == "2"
    assert "読み込み2回(うち自動1回)" in page.text_content("#opens")
    note = page.locator("#opens-note")
    assert note.is_visible() and "Mail Privacy Protection" in note.text_content()
