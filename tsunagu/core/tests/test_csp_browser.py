"""The main pages under the Content-Security-Policy in a real Chromium: everything works and the browser
reports no violation (neither a securitypolicyviolation event nor a console message), and nothing is
fetched from another origin."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db.models import F

from tsunagu.companies import actions as companies
from tsunagu.companies.models import Role
from tsunagu.messaging.models import Message, MessageKind, MessageStatus
from tsunagu.relay.tests.referrals import rejected
from tsunagu.testing import enrolled_device, totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-password"
# Runs in every frame (the sandboxed mail preview too) before the page's own scripts.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
});
"""


class Watched:
    """A page whose CSP violations, console complaints and other-origin requests are recorded."""

    def __init__(self, new_page, origin: str):
        self.page = new_page()
        self.origin = origin
        self.complaints: list[str] = []
        self.foreign: list[str] = []
        self.page.context.add_init_script(RECORD_VIOLATIONS)
        self.page.on("console", self._console)
        self.page.on("request", self._request)

    def _console(self, message):
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.complaints.append(text)

    def _request(self, request):
        if not request.url.startswith((self.origin, "data:", "about:")):
            self.foreign.append(request.url)

    def violations(self) -> list[str]:
        found = []
        for frame in self.page.frames:
            try:
                found += frame.evaluate("window.__violations || []")
            except Exception:  # noqa: BLE001 - a sandboxed frame without scripts has nothing to report
                pass
        return found

    def reset(self):
        self.complaints.clear()
        self.page.evaluate("window.__violations = []")

    def assert_clean(self, where: str):
        assert not self.violations(), (where, self.violations())
        assert not self.complaints, (where, self.complaints)
        assert not self.foreign, (where, self.foreign)


@pytest.fixture
def scene(make_company, live_server):
    company, _key = make_company()
    rejected(company, email="yoshiko@example.jp", name="髙橋 𠮷子")
    message = Message.objects.get(kind=MessageKind.REJECTION)
    assert message.status == MessageStatus.SENT
    Message.objects.filter(pk=message.pk).update(sent_at=F("sent_at") - timedelta(minutes=2))
    companies.create_user(email="hr@acme.example", password=PASSWORD, company=company, role=Role.ADMIN)
    return company, message


def sign_in(watched, url, email):
    watched.page.goto(url)
    watched.page.fill("#id_username", email)
    watched.page.fill("#id_password", PASSWORD)
    watched.page.click("button[type=submit]")


def test_the_console_and_the_mail_previews_raise_no_violation(scene, live_server, new_page):
    _company, message = scene
    watched = Watched(new_page, live_server.url)
    page = watched.page
    sign_in(watched, live_server.url + "/console/", "hr@acme.example")
    page.wait_for_selector("[data-figure=rejections]")
    watched.assert_clean("dashboard")
    # The recorder works: an inline style set now is refused, and reported both ways.
    page.evaluate("document.body.setAttribute('style', 'color: red')")
    page.wait_for_function("() => window.__violations.length > 0")
    assert any("style-src" in text for text in watched.violations()) and watched.complaints
    watched.reset()

    # The template editor: htmx renders the preview as one types; the HTML part in its sandboxed frame.
    page.goto(live_server.url + "/console/templates/rejection/")
    page.fill("#id_body_text", "{{ candidate_name }}様\n\nご応募ありがとうございました。")
    page.wait_for_function("() => document.querySelector('#preview-text')?.textContent.includes('ご応募ありがとうございました')")
    page.click("#preview-html summary")
    frame = page.frame_locator("#preview-html iframe")
    assert "ご応募ありがとうございました" in frame.locator("body").text_content()
    sandbox = page.get_attribute("#preview-html iframe", "sandbox")
    assert sandbox is not None and "allow-scripts" not in sandbox
    # The mail's own layout (inline styles allowed by hash) is applied inside the frame.
    assert frame.locator("body").evaluate("b => getComputedStyle(b).maxWidth") == "640px"
    watched.assert_clean("template editor")

    page.goto(live_server.url + f"/console/outbox/{message.pk}/")
    page.click("#message-html summary")
    assert "様" in page.frame_locator("#message-html iframe").locator("body").text_content()
    watched.assert_clean("outbox message")

    # console.js (no inline handler): the language menu submits itself.
    page.click(".account summary")
    page.select_option("select[name=language]", "en")
    page.wait_for_selector("html[lang=en]")
    assert f"/console/outbox/{message.pk}/" in page.url
    watched.assert_clean("language switch")


def test_the_candidate_pages_and_the_api_docs_raise_no_violation(scene, live_server, new_page):
    _company, message = scene
    watched = Watched(new_page, live_server.url)
    page = watched.page
    path = re.search(r"/r/\S+", message.body_text).group(0)
    response = page.goto(live_server.url + path)
    assert response.headers["referrer-policy"] == "strict-origin"
    page.wait_for_selector("#name")
    watched.assert_clean("referral landing")
    # The page's own form still passes the CSRF check (the browser sends our origin, not the token), and
    # the stylesheet was fetched without the token in its Referer.
    referers = []
    page.on("request", lambda request: referers.append(request.headers.get("referer", "")))
    page.fill("#name", "髙橋 𠮷子")
    page.fill("#email", "yoshiko@example.jp")
    page.fill("#desired_job", "エンジニア")
    page.select_option("#desired_region", "東京都")
    page.check("#consent_purpose")
    page.check("#consent_provision")
    page.click("button[type=submit]")
    page.wait_for_selector("text=確認メールをお送りしました")
    assert referers and all(path not in referer for referer in referers), referers
    watched.assert_clean("registration sent")

    page.goto(live_server.url + re.search(r"/u/\S+", message.body_text).group(0))
    page.wait_for_load_state("load")
    watched.assert_clean("unsubscribe")

    page.goto(live_server.url + "/api/v1/docs")
    page.wait_for_selector(".swagger-ui .info .title")  # Swagger UI read the schema and rendered
    page.wait_for_selector(".opblock")
    watched.assert_clean("api docs")


def test_the_admin_raises_no_violation(scene, live_server, new_page):
    _company, message = scene
    user = get_user_model().objects.create_superuser("root@operator.example", "root@operator.example", PASSWORD)
    device = enrolled_device(user)
    watched = Watched(new_page, live_server.url)
    page = watched.page
    # Staff sign in on the console's pages, with their second factor, and then use the admin.
    sign_in(watched, live_server.url + "/console/login/", "root@operator.example")
    page.wait_for_selector("input[name=code]")
    page.fill("input[name=code]", totp_code(device))
    page.click("#verify-code")
    page.wait_for_url(lambda url: "/login/" not in url)
    watched.assert_clean("second factor")
    page.goto(live_server.url + "/admin/")
    page.wait_for_selector("#site-name")
    watched.assert_clean("admin index")
    page.goto(live_server.url + "/admin/messaging/message/")
    page.wait_for_selector("#result_list")
    watched.assert_clean("admin change list")
    page.goto(live_server.url + f"/admin/messaging/message/{message.pk}/change/")
    page.wait_for_selector("#content-main")
    watched.assert_clean("admin change form")
