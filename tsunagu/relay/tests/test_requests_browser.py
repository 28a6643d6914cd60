"""A company's referral request in a real Chromium: filed from the ledger page, waiting (anonymously) for the
person's consent, then the consented profile and the answer `入社`; and the page on a phone."""

import pytest

from tsunagu.companies import actions as companies
from tsunagu.companies.models import Role
from tsunagu.messaging.models import Message, MessageKind
from tsunagu.relay.actions import introductions
from tsunagu.relay.models import Introduction, ReferralRequest, RequestStatus
from tsunagu.relay.selectors import ledger_summary
from tsunagu.relay.tests.referrals import consent_path, earn_slots, registrant
from tsunagu.testing import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, email):
    page.goto(live_server.url + "/console/ledger/")
    page.fill("#id_username", email)
    page.fill("#id_password", "a-long-password")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('キャリアリレー台帳')")


@pytest.mark.parametrize("device", [None, PHONE], ids=["desktop", "phone"])
def test_a_request_from_the_ledger_page_to_a_hire(make_company, live_server, new_page, device):
    company, _key = make_company(referral_ratio=1)
    companies.create_user(email="hr@acme.example", password="a-long-password", company=company, role=Role.ADMIN)
    earn_slots(company, 1)
    page = new_page(device)
    log_in(page, live_server, "hr@acme.example")
    assert page.text_content("#ledger-available").strip() == "1"
    # clientWidth, not innerWidth: in mobile emulation Chromium widens innerWidth to fit the content.
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")

    # A wrong salary range comes back with the message and what was typed; nothing is filed.
    page.fill("#title", "法人営業")
    page.fill("#location", "東京都")
    page.select_option("#employment_type", "contract")
    page.fill("#salary_min", "7000000")
    page.fill("#salary_max", "5000000")
    page.click("#file-request")
    page.wait_for_selector("#request-errors")
    assert "年収上限は年収下限以上にしてください" in page.text_content("#request-errors")
    assert page.input_value("#title") == "法人営業" and page.input_value("#employment_type") == "contract"
    assert not ReferralRequest.objects.exists()
    page.fill("#salary_max", "8000000")
    page.click("#file-request")
    page.wait_for_selector("#slot-state")
    referral = ReferralRequest.objects.get()
    assert page.text_content("#slot-state").strip() == "確保中"
    assert "まだ推薦はありません" in page.text_content("#no-introductions")
    assert ledger_summary(company).slots_available == 0

    # The operator proposes someone: the page says someone waits for consent, never who.
    person = registrant()
    introductions.propose(referral, person, recommendation="営業経験5年。")
    page.reload()
    assert "1名の推薦が、ご本人の同意を待っています" in page.text_content("#waiting")
    assert "山田" not in page.content() and "hanako@example.jp" not in page.content()

    # The person consents on the page their mail links to (no login; it fits their phone too).
    introduction = Introduction.objects.get()
    mail = Message.objects.get(kind=MessageKind.CONSENT_REQUEST)
    person_page = new_page(device)
    person_page.goto(live_server.url + consent_path(mail.body_text))
    assert "株式会社アクメ" in person_page.text_content("#consent-company")
    assert "営業経験5年。" in person_page.text_content("#consent-text")
    assert person_page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    person_page.click("#consent")
    person_page.wait_for_selector("text=ご同意ありがとうございます")

    # The profile appears, and the company answers 入社.
    page.reload()
    card = page.locator(f"#introduction-{introduction.pk}")
    assert "山田 花子" in card.text_content() and "hanako@example.jp" in card.text_content()
    assert "営業経験5年。" in card.text_content()
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    card.locator("select[name=outcome]").select_option("hired")
    card.locator("button[type=submit]").click()
    page.wait_for_selector("text=選考結果を記録しました")
    assert page.text_content("#request-status").strip() == "採用決定"
    assert page.text_content("#slot-state").strip() == "採用で利用済み"
    assert "無料紹介枠の利用" in page.text_content("#history")
    referral.refresh_from_db()
    assert referral.status == RequestStatus.FILLED
    assert ledger_summary(company).slots_redeemed == 1
