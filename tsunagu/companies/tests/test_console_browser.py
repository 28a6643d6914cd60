"""HR's console in a real Chromium: log in, follow a notice, preview a template, cancel."""

import pytest

from tsunagu.companies import actions
from tsunagu.companies.models import Role
from tsunagu.messaging.models import Message, MessageStatus
from tsunagu.testing import PHONE, ApiClient, application_body

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_hr_logs_in_sees_the_notice_previews_a_template_and_cancels(make_company, live_server, new_page):
    company, key = make_company(delay_minutes=120)
    ApiClient(key).post("/api/v1/applications", application_body())
    actions.create_user(email="hr@acme.example", password="a-long-password", company=company, role=Role.ADMIN)

    page = new_page()
    page.goto(live_server.url + "/console/")
    page.fill("#id_username", "hr@acme.example")
    page.fill("#id_password", "a-long-password")
    page.click("button[type=submit]")
    page.wait_for_selector("text=ダッシュボード")
    assert page.text_content("[data-figure=rejections]").strip() == "1"
    assert page.text_content("[data-count=scheduled]").strip() == "1"

    page.click("text=送信箱")
    page.click("text=髙橋 𠮷子")
    assert "髙橋 𠮷子様" in page.text_content("pre.mail")

    page.click("text=送信を取り消す")
    page.wait_for_selector("text=送信を取り消しました")
    assert Message.objects.get().status == MessageStatus.CANCELLED

    page.goto(live_server.url + "/console/templates/rejection/")
    page.fill("#id_body_text", "{{ candidate_name }}様、{{ job_title }}へのご応募ありがとうございました。")
    # An arrow function, not a bare expression: Playwright evals an expression, which the CSP forbids.
    page.wait_for_function("() => document.querySelector('#preview-text') && "
                           "document.querySelector('#preview-text').textContent.includes('バックエンドエンジニアへのご応募')")
    assert "髙橋 𠮷子様" in page.text_content("#preview-text")
    page.fill("#id_body_text", "{{ candidate_nam }}様")
    page.wait_for_selector("#preview-errors")
    assert "candidate_nam" in page.text_content("#preview-errors")


def test_the_top_bar_is_one_line_on_a_laptop_and_the_account_menu_switches_language_and_logs_out(
        make_company, live_server, new_page):
    company, _key = make_company()
    actions.create_user(email="a-rather-long-name@recruiting.acme.example", password="a-long-password",
                        company=company, role=Role.ADMIN)
    page = new_page(device={"viewport": {"width": 1280, "height": 800}})
    page.goto(live_server.url + "/console/")
    page.fill("#id_username", "a-rather-long-name@recruiting.acme.example")
    page.fill("#id_password", "a-long-password")
    page.click("button[type=submit]")
    page.wait_for_selector("text=ダッシュボード")
    bar = page.locator("nav.topbar")
    links = page.locator("nav.topbar a:visible")  # the account menu's links are folded away
    tops = {round(box["y"]) for box in (links.nth(n).bounding_box() for n in range(links.count()))}
    summary = page.locator(".account summary").bounding_box()
    assert len(tops) == 1 and abs(summary["y"] - min(tops)) < 12  # links and account on one row
    assert bar.bounding_box()["height"] < 60

    page.click(".account summary")
    page.select_option("select[name=language]", "en")
    page.wait_for_selector("h1:text('Dashboard')")
    page.click(".account summary")
    page.click("text=Log out")
    page.wait_for_selector("#id_username")
    assert "/console/login/" in page.url


def test_console_pages_fit_a_phone(make_company, live_server, new_page):
    """At 375 px nothing overflows sideways: the page links scroll in their own row, wide tables inside
    the page. (Compared with documentElement.clientWidth: mobile emulation widens innerWidth.)"""
    company, key = make_company(delay_minutes=120)
    api = ApiClient(key)
    for number in range(3):
        api.post("/api/v1/applications", application_body(f"A-{number}", email_address=f"p{number}@example.jp"))
    actions.create_user(email="hr@acme.example", password="a-long-password", company=company, role=Role.ADMIN)
    page = new_page(PHONE)
    page.goto(live_server.url + "/console/")
    page.fill("#id_username", "hr@acme.example")
    page.fill("#id_password", "a-long-password")
    page.click("button[type=submit]")
    page.wait_for_selector("[data-figure=rejections]")
    message = Message.objects.filter(company=company).first()
    for path in ["/console/", "/console/outbox/", f"/console/outbox/{message.pk}/", "/console/candidates/",
                 f"/console/candidates/{message.application.candidate_id}/", "/console/templates/ab/",
                 "/console/ledger/", "/console/templates/", "/console/templates/rejection/",
                 "/console/templates/coverage/", "/console/templates/follow-ups/", "/console/suppressions/",
                 "/console/settings/"]:
        page.goto(live_server.url + path)
        width, viewport = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert viewport == 375 and width <= viewport, (path, width)
    # The links that do not fit scroll sideways within the bar, and all of them are there.
    assert page.locator("nav.topbar .links a").count() >= 8
