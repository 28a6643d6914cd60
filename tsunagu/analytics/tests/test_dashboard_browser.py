"""The dashboard in a real browser: the cards a person sees first, and machines and opens kept apart."""

import pytest

from tsunagu.analytics.tests import history
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


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_period_dashboard_on_a_phone(make_company, live_server, new_page):
    company, _key = make_company(delay_minutes=60, send_window="business")
    history.build(company)
    companies.create_user(email="hr@acme.example", password="a-long-password", company=company, role=Role.VIEWER)
    page = new_page({"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True})
    page.goto(live_server.url + "/console/?from=2026-10-01&to=2026-11-30")
    page.fill("#id_username", "hr@acme.example")
    page.fill("#id_password", "a-long-password")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('ダッシュボード')")
    assert page.text_content("[data-figure=notices_sent]") == "3"
    charts = page.locator("figure.chart")
    assert charts.count() == 3
    # Weekly buckets over two months, Japanese titles and legends, drawn inside the phone's width.
    assert charts.first.locator("figcaption").text_content() == "不採用と通知"
    assert "通知を送った人" in charts.first.locator(".chart-legend").text_content()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    for n in range(3):
        box = charts.nth(n).locator("svg").first.bounding_box()
        assert box["width"] > 300 and box["x"] >= 0 and box["x"] + box["width"] <= 390
    # The hidden data table holds the same numbers: 2 notices in the week of 2 November.
    table = charts.first.locator("table").text_content()
    assert "11/02" in table
    # Choosing another period with the form.
    page.fill("input[name=from]", "2026-11-01")
    page.fill("input[name=to]", "2026-11-30")
    page.click("#period button[type=submit]")
    page.wait_for_url("**/console/?from=2026-11-01&to=2026-11-30")
    assert page.text_content("[data-figure=rejections]") == "2"
    # The funnel table scrolls inside its box instead of widening the page.
    page.click("#funnel-links a:has-text('応募経路')")
    page.wait_for_selector("#funnel")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
