"""Credits nobody can manufacture, through `tsunagu serve` and a real SMTP server: real candidates who got the
notice register from their own homes and are credited at once, and the 10th earns a slot; the company finds no
personal link in its outbox or API, and the candidates it made up on its own domain, registered from its
office, are held; a stranger with a forwarded link can neither mail a victim a phishing "name" nor flood them;
a person registering again through another company's link earns nothing."""

import json
import re
import time

import pytest
import requests
from requests.adapters import HTTPAdapter

from tsunagu.testing import (
    QUICK_REGISTRATION_ENV,
    QUICK_REGISTRATION_SECONDS,
    run_cli,
    running_tsunagu,
    text_part,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PERSONAL = re.compile(r"/r/(?:verify/)?[0-9A-Za-z]+[.:][0-9A-Za-z_\-]")
PASSWORD = "a-long-password-for-hr"


class FromAddress(HTTPAdapter):
    """Requests from one local address (127.0.0.0/8 is all loopback): a network of the test's choosing."""

    def __init__(self, source: str):
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def browser_at(source: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", FromAddress(source))
    session.headers["User-Agent"] = f"Mozilla/5.0 (test browser at {source})"
    return session


def csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def rejection(external_id: str, email: str, name: str = "候補者") -> dict:
    return {"external_id": external_id, "status": "rejected", "candidate": {"name": name, "email": email},
            "job": {"external_id": "J-1", "title": "営業"}}


def mails_to(sink, address: str, subject_part: str) -> list:
    return [m for m in sink.messages_to(address) if subject_part in m["Subject"]]


def mail_to(sink, address: str, subject_part: str, *, after: int = 0):
    """The newest mail to the address with that subject, once there are more than `after` of them."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = mails_to(sink, address, subject_part)
        if len(found) > after:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError(f"no new mail with {subject_part!r} to {address}")


def fill_in(browser, link: str, *, name: str, email: str, **extra) -> requests.Response:
    page = browser.get(link, timeout=10)
    assert page.status_code == 200, page.text[:500]
    form = {"csrfmiddlewaretoken": csrf(page.text), "name": name, "email": email, "desired_region": "東京都",
            "consent_purpose": "on", "consent_provision": "on",
            "consent_digest": re.search(r'name="consent_digest" value="([^"]+)"', page.text).group(1), **extra}
    return browser.post(link, data=form, allow_redirects=False, timeout=10)


def register(sink, browser, link: str, *, name: str, email: str) -> None:
    """Fill in the form, then complete it from the operator's verification mail."""
    before = len(mails_to(sink, email, "メールアドレスのご確認"))
    assert fill_in(browser, link, name=name, email=email).status_code == 302
    verification = mail_to(sink, email, "メールアドレスのご確認", after=before)
    assert verification["From"].addresses[0].display_name == "キャリアリレー"  # the operator, not the company
    verify_url = re.search(r"http://\S+/r/verify/\S+", text_part(verification)).group(0)
    page = browser.get(verify_url, timeout=10)
    done = browser.post(verify_url, data={"csrfmiddlewaretoken": csrf(page.text)}, timeout=10)
    assert done.status_code == 200 and "ご登録が完了しました" in done.text


def personal_link(sink, address: str) -> str:
    return re.search(r"http://\S+/r/\S+", text_part(mail_to(sink, address, "選考結果"))).group(0)


def console_login(server, email: str) -> requests.Session:
    console = requests.Session()
    page = console.get(server.url + "/console/login/", timeout=10)
    response = console.post(server.url + "/console/login/", data={
        "csrfmiddlewaretoken": csrf(page.text), "username": email, "password": PASSWORD}, timeout=10)
    assert response.ok and "/console/login/" not in response.url
    return console


def test_credits_count_only_what_is_real_through_tsunagu_serve(smtp_server):
    with running_tsunagu(smtp_port=smtp_server.port, **QUICK_REGISTRATION_ENV) as (server, company):
        env = server.env
        assert run_cli(["user", "create", "--company", "e2e", "--email", "hr@e2e-corp.example", "--password",
                        PASSWORD, "--role", "admin"], env).returncode == 0
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {company['api_key']}"

        def post(body):
            assert api.post(server.url + "/api/v1/applications", json=body, timeout=10).ok

        def ledger():
            return api.get(server.url + "/api/v1/relay/ledger", timeout=10).json()

        for index in range(10):
            post(rejection(f"A-{index}", f"real{index}@gmail.com", f"本物 {index}"))
        for index in range(3):  # candidates the company made up, on its own domain (its own mailbox)
            post(rejection(f"F-{index}", f"fake{index}@e2e-corp.example", f"架空 {index}"))
        post(rejection("A-forwarded", "forwarder@gmail.com", "転送 する"))  # forwards the mail unread
        smtp_server.wait_for(14, timeout=30)
        delivered_at = time.monotonic()

        # The company finds no personal link in its API or its outbox (list and each message's page).
        listed = api.get(server.url + "/api/v1/messages", params={"limit": 1000}, timeout=10)
        assert len(listed.json()) == 14 and not PERSONAL.search(listed.text)
        console = console_login(server, "hr@e2e-corp.example")
        outbox = console.get(server.url + "/console/outbox/", timeout=10).text
        assert not PERSONAL.search(outbox)
        for message in listed.json()[:3]:
            page = console.get(f"{server.url}/console/outbox/{message['id']}/", timeout=10)
            assert page.status_code == 200 and not PERSONAL.search(page.text)
            assert "(候補者ごとのリンク)" in page.text

        # Real candidates read the mail first (registering within seconds of delivery would be held).
        time.sleep(max(0.0, QUICK_REGISTRATION_SECONDS + 1 - (time.monotonic() - delivered_at)))
        for index in range(10):
            address = f"real{index}@gmail.com"
            register(smtp_server, browser_at(f"127.{10 + index}.0.1"), personal_link(smtp_server, address),
                     name=f"本物 {index}", email=address)
            assert ledger()["credits"] == index + 1  # at once, no review
        assert (ledger()["credits"], ledger()["slots_earned"], ledger()["slots_available"]) == (10, 1, 1)

        # The company registers its made-up candidates from its office: held, no credit.
        office = browser_at("127.200.0.1")
        for index in range(3):
            address = f"fake{index}@e2e-corp.example"
            register(smtp_server, office, personal_link(smtp_server, address), name=f"架空 {index}", email=address)
        body = ledger()
        assert (body["credits"], body["credits_held"], body["slots_earned"]) == (10, 3, 1)

        # A stranger with a forwarded link: no phishing "name", and no flood of mail to a victim.
        stranger = browser_at("127.201.0.1")
        link = personal_link(smtp_server, "forwarder@gmail.com")
        page = stranger.get(link, timeout=10).text
        assert "forwarder@gmail.com" not in page and "転送" not in page
        refused = fill_in(stranger, link, name="ご当選 https://evil.example/login " * 100, email="victim@example.org")
        assert refused.status_code == 400 and "氏名は100文字以内" in refused.text
        answers = [fill_in(stranger, link, name="山田 花子", email="victim@example.org").status_code
                   for _ in range(6)]
        assert answers == [302, 302, 302, 302, 302, 429]
        time.sleep(1)
        assert len(smtp_server.messages_to("victim@example.org")) == 5
        assert all("evil.example" not in text_part(m) for m in smtp_server.messages_to("victim@example.org"))

        # The same person through another company's notice: a repeat, never a second credit.
        other = run_cli(["company", "create", "--name", "株式会社べつ", "--slug", "other", "--delay-minutes", "0",
                         "--send-window", "always"], env)
        other_api = requests.Session()
        other_api.headers["Authorization"] = f"Bearer {json.loads(other.stdout.strip().splitlines()[-1])['api_key']}"
        assert other_api.post(server.url + "/api/v1/applications", timeout=10,
                              json=rejection("B-1", "real1@gmail.com", "本物 1")).ok
        second = mail_to(smtp_server, "real1@gmail.com", "株式会社べつ")
        time.sleep(QUICK_REGISTRATION_SECONDS + 1)
        link = re.search(r"http://\S+/r/\S+", text_part(second)).group(0)
        register(smtp_server, browser_at("127.11.0.1"), link, name="本物 1", email="real1@gmail.com")
        other_ledger = other_api.get(server.url + "/api/v1/relay/ledger", timeout=10).json()
        assert (other_ledger["credits"], other_ledger["credits_held"]) == (0, 0)
        assert ledger()["credits"] == 10
