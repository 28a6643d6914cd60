"""The operator's review queue in a real Chromium, on a desktop and on a phone."""

import pytest

from tsunagu.relay.models import CreditStatus, LedgerEntry, LedgerKind
from tsunagu.relay.selectors import ledger_summary
from tsunagu.relay.tests.desk_factories import OPERATOR_EMAIL, PASSWORD, make_registration
from tsunagu.testing import PHONE, enrolled_device, totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server):
    """Operator staff sign in with the password, then the code of their authenticator app."""
    from tsunagu.companies.actions import create_user

    device = enrolled_device(create_user(email=OPERATOR_EMAIL, password=PASSWORD, operator=True).user)
    page.goto(live_server.url + "/console/operator/review/")
    page.fill("#id_username", OPERATOR_EMAIL)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.fill("#id_code", totp_code(device))
    page.click("#verify-code")
    page.wait_for_selector("#review-queue")


def fits_the_screen(page) -> bool:
    # clientWidth, not innerWidth: in mobile emulation Chromium widens innerWidth to fit the content.
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


@pytest.mark.parametrize("device", [None, PHONE], ids=["desktop", "phone"])
def test_approve_and_void_held_registrations(make_company, live_server, new_page, device):
    company = make_company(slug="acme", name="株式会社アクメ")[0]
    genuine = make_registration(company, email="yoshiko@example.jp", status=CreditStatus.HELD,
                                reasons=["a_reason_code_without_a_label"])
    fake = make_registration(company, email="taro@example.jp", name="山田 太郎", status=CreditStatus.HELD,
                             reasons=["同じ端末からの登録が多数"])
    page = new_page(device)
    log_in(page, live_server)
    assert fits_the_screen(page)
    assert "a_reason_code_without_a_label" in page.text_content(f"#registration-{genuine.pk}")
    assert "同じ端末からの登録が多数" in page.text_content(f"#registration-{fake.pk}")

    page.click(f"#registration-{genuine.pk} button.approve")
    page.wait_for_selector("text=髙橋 𠮷子さん(株式会社アクメ)の登録を承認しました。")
    assert page.locator(f"#registration-{genuine.pk}").count() == 0  # left the queue
    genuine.refresh_from_db()
    assert genuine.credit_status == CreditStatus.CREDITED and ledger_summary(company).credits == 1

    # Void without a reason: the browser asks for one and nothing is sent.
    page.click(f"#registration-{fake.pk} button.void")
    assert page.evaluate(f"document.querySelector('#registration-{fake.pk} input[name=reason]').validity.valueMissing")
    fake.refresh_from_db()
    assert fake.credit_status == CreditStatus.HELD
    page.fill(f"#registration-{fake.pk} input[name=reason]", "会社の従業員による登録")
    page.click(f"#registration-{fake.pk} button.void")
    page.wait_for_selector("#review-empty")
    fake.refresh_from_db()
    assert (fake.credit_status, fake.review_note) == (CreditStatus.VOIDED, "会社の従業員による登録")
    assert not LedgerEntry.objects.filter(registration=fake).exists()
    assert fits_the_screen(page)

    # The credited one can be taken back from the credited tab, with a reason.
    page.click("#review-tabs >> text=クレジット付与")
    page.fill(f"#registration-{genuine.pk} input[name=reason]", "本人から登録の覚えがないと連絡")
    page.click(f"#registration-{genuine.pk} button.reverse")
    page.wait_for_selector("text=のクレジットを取り消しました")
    assert LedgerEntry.objects.filter(kind=LedgerKind.CREDIT_REVERSED).count() == 1
    assert ledger_summary(company).credits == 0

    # The other desk pages fit a phone too.
    for path in ("/console/operator/", "/console/operator/registrants/",
                 f"/console/operator/registrants/{genuine.registrant_id}/", "/console/operator/identity/",
                 "/console/operator/companies/acme/"):
        page.goto(live_server.url + path)
        assert fits_the_screen(page), path
