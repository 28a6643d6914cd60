"""The candidate's pages in a real Chromium, on a desktop and on a phone."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.db.models import F

from tsunagu.lib.tokens import referral_token
from tsunagu.messaging.models import Message, MessageKind, MessageStatus
from tsunagu.relay.models import CreditStatus, Registration, RegistrationRequest
from tsunagu.relay.selectors import ledger_summary
from tsunagu.testing import PHONE, application_body

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def rejected_link(api, live_server):
    api.post("/api/v1/applications", application_body())
    message = Message.objects.get(kind=MessageKind.REJECTION)
    assert message.status == MessageStatus.SENT  # delivered at once (no delay, the capture backend)
    # Delivered two minutes ago: a person reads the mail before registering.
    Message.objects.filter(pk=message.pk).update(sent_at=F("sent_at") - timedelta(minutes=2))
    path = re.search(r"/r/\S+", message.body_text).group(0)
    return live_server.url + path


def fits(page) -> bool:
    # clientWidth, not innerWidth: in mobile emulation Chromium widens innerWidth to fit the content.
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


@pytest.mark.parametrize("device", [None, PHONE], ids=["desktop", "phone"])
def test_register_and_verify_in_the_browser(api, company, live_server, new_page, device):
    link = rejected_link(api, live_server)
    page = new_page(device)
    page.goto(link)
    assert "株式会社アクメからのご案内" in page.text_content("h1")
    # Nothing of the candidate is filled in: a forwarded link shows neither name nor address.
    assert page.input_value("#name") == "" and page.input_value("#email") == ""
    assert "yoshiko@example.jp" not in page.content()
    assert fits(page)

    mail.outbox.clear()
    page.fill("#name", "髙橋 𠮷子")
    page.fill("#email", "yoshiko@example.jp")
    page.fill("#desired_job", "バックエンドエンジニア")
    page.select_option("#desired_region", "大阪府")
    page.click("button[type=submit]")
    # Without the two consents the form comes back with both errors and nothing is sent.
    assert page.locator(".errorlist").count() == 2
    assert mail.outbox == [] and RegistrationRequest.objects.count() == 0
    assert page.input_value("#name") == "髙橋 𠮷子"  # what they typed is kept
    # A name with a link in it is refused, clearly.
    page.fill("#name", "当選 https://evil.example/")
    page.check("#consent_purpose")
    page.check("#consent_provision")
    page.click("button[type=submit]")
    assert "氏名にURLやメールアドレスは入力できません" in page.text_content(".errorlist")
    assert mail.outbox == []
    page.fill("#name", "髙橋 𠮷子")
    page.check("#consent_purpose")
    page.check("#consent_provision")
    page.click("button[type=submit]")
    page.wait_for_selector("text=確認メールをお送りしました")

    [verification] = mail.outbox
    verify_url = re.search(r"http://\S+/r/verify/\S+", verification.body).group(0)
    verify_path = verify_url.split("/r/", 1)[1]
    page.goto(f"{live_server.url}/r/{verify_path}")
    assert Registration.objects.count() == 0
    page.click("#complete")
    page.wait_for_selector("#done")
    registration = Registration.objects.get()
    assert (registration.name, registration.desired_region) == ("髙橋 𠮷子", "大阪府")
    assert registration.credit_status == CreditStatus.CREDITED
    assert ledger_summary(company).credits == 1


def test_a_link_that_does_not_work_says_so_politely_on_a_phone(make_company, live_server, new_page):
    from tsunagu.testing import ApiClient

    company, key = make_company(delay_minutes=600)
    ApiClient(key).post("/api/v1/applications", application_body())
    message = Message.objects.get(kind=MessageKind.REJECTION)  # scheduled: not delivered yet
    page = new_page(PHONE)
    response = page.goto(f"{live_server.url}/r/{referral_token(message.pk)}")
    assert response.status == 410
    assert "現在ご利用いただけません" in page.text_content("h1")
    assert page.locator("form").count() == 0 and fits(page)


def test_landing_page_in_english_for_an_english_browser(api, live_server, new_page):
    link = rejected_link(api, live_server)
    page = new_page(locale="en-US")
    page.goto(link)
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Register for free" in page.content()
