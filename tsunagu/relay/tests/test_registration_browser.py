"""The candidate's pages in a real Chromium, on a desktop and on a phone."""

import re

import pytest
from django.core import mail

from tsunagu.messaging.models import Message, MessageKind
from tsunagu.relay.models import Registration
from tsunagu.relay.selectors import ledger_summary
from tsunagu.testing import PHONE, application_body

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def rejected_link(api, live_server):
    api.post("/api/v1/applications", application_body())
    message = Message.objects.get(kind=MessageKind.REJECTION)
    path = re.search(r"/r/\S+", message.body_text).group(0)
    return live_server.url + path


@pytest.mark.parametrize("device", [None, PHONE], ids=["desktop", "phone"])
def test_register_and_verify_in_the_browser(api, company, live_server, new_page, device):
    link = rejected_link(api, live_server)
    page = new_page(device)
    page.goto(link)
    assert "株式会社アクメからのご案内" in page.text_content("h1")
    assert page.input_value("#name") == "髙橋 𠮷子"  # prefilled from the application
    # Nothing overflows sideways on a phone.
    # clientWidth, not innerWidth: in mobile emulation Chromium widens innerWidth to fit the content.
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")

    mail.outbox.clear()
    page.fill("#desired_job", "バックエンドエンジニア")
    page.fill("#desired_region", "大阪府")
    page.click("button[type=submit]")
    # Without the two consents the form comes back with both errors and nothing is sent.
    assert page.locator(".errorlist").count() == 2
    assert mail.outbox == []
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
    assert ledger_summary(company).credits == 1


def test_landing_page_in_english_for_an_english_browser(api, live_server, new_page):
    link = rejected_link(api, live_server)
    page = new_page(locale="en-US")
    page.goto(link)
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Register for free" in page.content()
