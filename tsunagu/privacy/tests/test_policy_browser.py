"""The privacy policy page in a real Chromium, at phone size: reached from the mail-preference page every
notice links to."""

import pytest

from tsunagu.messaging import unsubscribe
from tsunagu.messaging.models import Message, MessageKind
from tsunagu.testing import PHONE, application_body

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_policy_page_opens_from_the_preferences_page(api, company, live_server, new_page):
    company.privacy_policy = "当社の個人情報保護方針\n<b>太字ではありません</b>"
    company.reply_to = "hr@acme.example"
    company.save()
    api.post("/api/v1/applications", application_body())
    message = Message.objects.get(kind=MessageKind.REJECTION)
    preferences = live_server.url + "/u/" + unsubscribe.unsubscribe_url(message.pk).rsplit("/u/", 1)[1] + "/preferences"

    page = new_page(PHONE)
    page.goto(preferences)
    page.click("#privacy-policy-link")
    page.wait_for_selector("#facts")
    assert page.url == live_server.url + "/privacy/policy/acme/"
    assert "株式会社アクメ" in page.text_content("h1")
    assert "<b>太字ではありません</b>" in page.text_content("#policy-text")  # shown as text, not markup
    assert "hr@acme.example" in page.text_content("#fact-contact")
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.click("#operator-policy-link")
    page.wait_for_selector("#fact-provision")
    assert "企業ごと" in page.text_content("#fact-provision")
