"""Fixtures shared by every app's tests: companies, API clients, and a real SMTP server."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from django.test import Client

from tsunagu.companies import actions as companies
from tsunagu.companies.models import Role


@pytest.fixture
def make_company(db):
    def make(slug="acme", name="株式会社アクメ", **options):
        options.setdefault("delay_minutes", 0)
        options.setdefault("send_window", "always")
        company, api_key = companies.create_company(name=name, slug=slug, sender_email=f"recruit@{slug}.example",
                                                    **options)
        return company, api_key

    return make


@pytest.fixture
def company_and_key(make_company):
    return make_company()


@pytest.fixture
def company(company_and_key):
    return company_and_key[0]


@pytest.fixture
def api(company_and_key):
    return ApiClient(company_and_key[1])


class ApiClient:
    """Django's test client speaking JSON with the company's API key."""

    def __init__(self, key: str | None):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}

    def post(self, path, data):
        return self.client.post(path, data=data, content_type="application/json", headers=self.headers)

    def get(self, path, **params):
        return self.client.get(path, params, headers=self.headers)


def application_body(external_id="A-1001", status="rejected", email_address="yoshiko@example.jp", **extra):
    body = {
        "external_id": external_id,
        "candidate": {"name": "髙橋 𠮷子", "name_kana": "タカハシ ヨシコ", "email": email_address,
                      "phone": "090-1234-5678"},
        "job": {"external_id": "J-1", "title": "バックエンドエンジニア", "category": "エンジニア"},
        "stage": "一次面接",
        "status": status,
        "rejection_reason": "スキル不一致",
    }
    body.update(extra)
    return body


@pytest.fixture
def login(client):
    """Log the test client in as a new user of `company` with `role`."""

    def do_login(company, role=Role.ADMIN, email_address=None):
        email_address = email_address or f"{role}@{company.slug}.example"
        companies.create_user(email=email_address, password="a-long-password", company=company, role=role)
        assert client.login(username=email_address, password="a-long-password")
        return client

    return do_login


# --- a real SMTP server ----------------------------------------------------------------------------

@dataclass
class SmtpSink:
    """Mail an aiosmtpd server received; `respond` lets a test make the server refuse with a code."""

    host: str = "127.0.0.1"
    port: int = 0
    received: list = field(default_factory=list)
    respond: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.respond:
            return self.respond
        raw = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        with self.lock:
            self.received.append({"rcpt": list(envelope.rcpt_tos), "mail_from": envelope.mail_from,
                                  "message": parsed, "raw": raw})
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10.0) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} mails, the SMTP server received {len(self.received)}")

    def messages_to(self, address: str) -> list:
        with self.lock:
            return [m["message"] for m in self.received if address in m["rcpt"]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_running(sink: SmtpSink | None = None, **options) -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) receiving into `sink` until the block ends; `options` go to aiosmtpd's
    Controller (e.g. ssl_context, tls_context)."""
    sink = sink or SmtpSink(port=free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port, **options)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@contextmanager
def http_serving(server):
    """Serve a test HTTP server (a vendor's API played locally) from a thread until the block ends."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def events():
    """Tracking's event buffer without its background thread: the test decides when it is written
    (tracking.flush())."""
    from tsunagu.messaging import tracking

    original = tracking.buffer
    tracking.buffer = tracking.EventBuffer(autostart=False)
    try:
        yield tracking.buffer
    finally:
        tracking.buffer = original


@pytest.fixture
def smtp_server():
    with smtp_running() as sink:
        yield sink


def send_through(settings, sink: SmtpSink) -> SmtpSink:
    """Send through this real SMTP server instead of capturing."""
    settings.EMAIL_BACKEND = "tsunagu.messaging.backends.SMTPEmailBackend"
    settings.EMAIL_HOST = sink.host
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    return sink


@pytest.fixture
def smtp_settings(settings, smtp_server):
    return send_through(settings, smtp_server)


def text_part(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_part(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


# --- a real browser --------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright; the browser tests are skipped, saying so, without it."""
    if not CHROMIUM:
        pytest.skip("Debian's chromium is not installed: browser tests skipped (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make are still sync.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        try:
            yield instance
        finally:
            instance.close()


PHONE = {"viewport": {"width": 375, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 860}}


@pytest.fixture
def new_page(browser):
    contexts = []

    def make(device=None, locale="ja-JP"):
        context = browser.new_context(locale=locale, **(device or DESKTOP))
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(autouse=True)
def empty_queue():
    """Each test starts with an empty (in-memory, immediate) queue and no leftover wake-up marker."""
    from huey.contrib.djhuey import HUEY

    HUEY.flush()
    yield
    HUEY.flush()
