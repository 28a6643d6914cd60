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
    assert first_cards[:2] == ["リンクを開いた人", "登録した人"]
    assert page.text_content("[data-figure=notices_clicked]") == "2"
    assert page.text_content("[data-figure=notices_registered]") == "1"
    assert page.text_content("[data-figure=click_rate]") == "66.7%"
    assert "2 / 3" in page.text_content(".card:has([data-figure=click_rate])")
    assert page.text_content("[data-count=machine-clicks]") == "4"
    assert page.is_visible("[data-count=machine-clicks]")
    assert page.text_content("[data-figure=notices_opened]") == "2"
    note = page.locator("#opens-note")
    assert note.is_visible() and "Mail Privacy Protection" in note.text_content()
