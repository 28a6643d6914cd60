"""Operator staff enrol an authenticator app in a real Chromium (the QR code drawn by the server, the secret typed
by hand as an app would take it), then sign in again with password and code."""

from base64 import b32decode

import pytest
from django_otp.oath import TOTP

from tsunagu.companies import actions
from tsunagu.testing import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "staff@relay.example"
PASSWORD = "a-long-password"


class AuthenticatorApp:
    """What the phone does with the secret typed in: a code every 30 s, each given once."""

    def __init__(self, secret: str):
        self.totp = TOTP(b32decode(secret.replace(" ", "")))
        self.step = self.totp.t() - 1  # the first code is the one a moment ago (django-otp accepts one step back)

    def code(self) -> str:
        self.step = max(self.step + 1, self.totp.t() - 1)
        self.totp.time = (self.step * 30) + 1
        code = f"{self.totp.token():06d}"
        del self.totp.time
        return code


def sign_in(page, live_server, path):
    page.goto(live_server.url + path)
    page.fill("#id_username", EMAIL)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


@pytest.mark.parametrize("device", [None, PHONE], ids=["desktop", "phone"])
def test_staff_enrol_an_authenticator_then_sign_in_with_a_code(live_server, new_page, device, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # no wait after the wrong code below
    actions.create_user(email=EMAIL, password=PASSWORD, operator=True)
    page = new_page(device)
    sign_in(page, live_server, "/console/operator/")

    # No operator page before enrolment: the enrolment page, saying why.
    page.wait_for_selector("#two-factor-status")
    assert "必須" in page.text_content("#two-factor-status")
    page.click("#two-factor-start")
    page.wait_for_selector("#two-factor-qr")
    page.wait_for_load_state("load")  # images included
    assert page.evaluate("document.querySelector('#two-factor-qr').naturalWidth > 0")  # the server's own SVG
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    app = AuthenticatorApp(page.text_content("#two-factor-secret"))

    page.fill("#id_code", "000000")
    page.click("#two-factor-enrol button[type=submit]")
    assert "確認コードが正しくない" in page.text_content("#two-factor-enrol")
    page.fill("#id_code", app.code())
    page.click("#two-factor-enrol button[type=submit]")
    page.wait_for_selector("text=二段階認証を有効にしました")
    assert page.url == live_server.url + "/console/operator/"

    # Signed out and in again: the password, then the code.
    page.click("details.account summary")
    page.click("text=ログアウト")
    sign_in(page, live_server, "/console/operator/review/")
    page.wait_for_selector("#verify-code")
    page.fill("#id_code", app.code())
    page.click("#verify-code")
    page.wait_for_selector("#review-queue")
