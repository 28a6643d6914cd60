"""The candidate's unsubscribe and preference pages in a real Chromium, at phone size."""

import pytest

from tsunagu.messaging import unsubscribe
from tsunagu.messaging.actions import suppression as suppressing
from tsunagu.messaging.models import Message, MessageEvent, MessageKind, Suppression, SuppressionReason
from tsunagu.testing import PHONE, application_body

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def notice_link(api, live_server) -> str:
    api.post("/api/v1/applications", application_body())
    message = Message.objects.get(kind=MessageKind.REJECTION)
    url = unsubscribe.unsubscribe_url(message.pk)
    assert url in message.body_text  # the link the footer shows
    return live_server.url + "/u/" + url.rsplit("/u/", 1)[1]


def fits_the_screen(page) -> bool:
    # clientWidth, not innerWidth: in mobile emulation Chromium widens innerWidth to fit the content.
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_preference_page_on_a_phone_stops_all_mail_from_the_company(api, company, live_server, new_page):
    company.postal_address = "東京都千代田区丸の内1-1-1"
    company.save()
    link = notice_link(api, live_server)
    page = new_page(PHONE)
    page.goto(link + "/preferences")
    assert page.text_content("header .service") == "株式会社アクメ"
    assert page.text_content("#state") == "受け取る"
    assert fits_the_screen(page)
    button = page.locator("#stop-all").bounding_box()
    assert button["width"] > 300 and button["height"] >= 44  # a full-width, thumb-sized button

    page.click("#stop-all")
    page.wait_for_selector("#done")
    assert "配信を停止しました" in page.text_content("#done")
    assert page.text_content("#state") == "停止中"
    assert fits_the_screen(page)
    assert Suppression.objects.get(company=company).reason == SuppressionReason.UNSUBSCRIBED

    page.click("#resume")
    page.wait_for_selector("text=配信を再開しました")
    assert page.text_content("#state") == "受け取る"
    assert not Suppression.objects.exists()


def test_confirmation_page_on_a_phone(api, company, live_server, new_page):
    link = notice_link(api, live_server)
    page = new_page(PHONE)
    page.goto(link)
    assert not Suppression.objects.exists()  # opening the link changes nothing
    assert fits_the_screen(page)
    page.click("#unsubscribe")
    page.wait_for_selector("#unsubscribed")
    assert page.url == link  # answered in place, no redirect
    assert Suppression.objects.get(company=company).email == "yoshiko@example.jp"
    assert MessageEvent.objects.get().detail == suppressing.VIA_PAGE
    page.click("text=メールの設定を見る")
    assert page.text_content("#state") == "停止中"
