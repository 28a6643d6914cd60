"""Fixtures shared by every app's tests: companies, API clients, a real SMTP server, a real browser. The helpers
they use, which tests import too, are in tsunagu/testing.py."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest

from tsunagu.companies import actions as companies
from tsunagu.companies.models import Role
from tsunagu.messaging.actions import tracking_events
from tsunagu.relay.actions import contracts
from tsunagu.testing import CHROMIUM, DESKTOP, ApiClient, send_through, smtp_running


def pytest_configure(config):
    """The suite starts hundreds of fresh interpreters (the command line, `tsunagu serve`, render processes):
    let them share compiled bytecode in a cache of the run's own, outside the checkout, rather than compile
    every module again each time when the environment says PYTHONDONTWRITEBYTECODE (about a third of a
    second of CPU per process)."""
    if os.environ.get("PYTHONPYCACHEPREFIX"):
        return
    prefix = tempfile.mkdtemp(prefix="tsunagu-pycache-")
    atexit.register(shutil.rmtree, prefix, True)
    os.environ["PYTHONPYCACHEPREFIX"] = prefix
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def pytest_sessionstart(session):
    _flush_postgres_by_deleting_rows()
    _scan_static_files_once()


# Settings that decide which static files WhiteNoise finds and the headers it serves them with.
_STATIC_SETTINGS = ("STATIC_URL", "STATICFILES_DIRS", "STATICFILES_FINDERS", "INSTALLED_APPS", "DEBUG",
                    "FORCE_SCRIPT_NAME", "WHITENOISE_STATIC_PREFIX", "WHITENOISE_MAX_AGE",
                    "WHITENOISE_ALLOW_ALL_ORIGINS", "WHITENOISE_CHARSET", "WHITENOISE_MIMETYPES",
                    "WHITENOISE_ADD_HEADERS_FUNCTION", "WHITENOISE_INDEX_FILE", "WHITENOISE_IMMUTABLE_FILE_TEST")


def _scan_static_files_once():
    """WhiteNoise (WHITENOISE_USE_FINDERS: no collectstatic step) lists and stats every static file, Django's
    admin's included, when its middleware is made: once per server process, but once per test client in the
    tests (each Client builds its own middleware chain), about a tenth of a second each, thousands of times.
    The files do not change during a test run: scan them once per set of static settings and reuse the
    result."""
    from django.conf import settings
    from whitenoise.middleware import WhiteNoiseMiddleware

    scan = WhiteNoiseMiddleware.add_files_from_finders
    scanned: dict[tuple, dict] = {}

    def add_files_from_finders(self):
        key = (self.static_prefix, *(repr(getattr(settings, name, None)) for name in _STATIC_SETTINGS))
        if key not in scanned:
            before = dict(self.files)
            scan(self)
            scanned[key] = {url: found for url, found in self.files.items() if before.get(url) is not found}
        else:
            self.files.update(scanned[key])

    WhiteNoiseMiddleware.add_files_from_finders = add_files_from_finders


def _flush_postgres_by_deleting_rows():
    """After each transactional test (the browser, live-server and concurrency tests) Django empties every
    table. On PostgreSQL it does so with one TRUNCATE, which makes new files for every table and index: seconds
    per test for tables that hold a few rows. DELETE leaves the same empty tables in milliseconds (Django's
    foreign keys are DEFERRABLE INITIALLY DEFERRED, and the flush runs in one transaction, so the order of the
    tables does not matter). Resetting sequences or cascading still goes to TRUNCATE."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade:
            return truncate(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        return [f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};" for table in tables]

    DatabaseOperations.sql_flush = sql_flush


@pytest.fixture
def make_company(db):
    def make(slug="acme", name="株式会社アクメ", referral_ratio=None, **options):
        options.setdefault("delay_minutes", 0)
        options.setdefault("send_window", "always")
        company, api_key = companies.create_company(name=name, slug=slug, sender_email=f"recruit@{slug}.example",
                                                    **options)
        if referral_ratio is not None:  # the operator's contract with the company
            contracts.set_contract(company, ratio=referral_ratio)
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


@pytest.fixture
def login(client):
    """Log the test client in as a new user of `company` with `role`."""

    def do_login(company, role=Role.ADMIN, email_address=None):
        email_address = email_address or f"{role}@{company.slug}.example"
        companies.create_user(email=email_address, password="a-long-password", company=company, role=role)
        assert client.login(username=email_address, password="a-long-password")
        return client

    return do_login


@pytest.fixture
def events():
    """Tracking's event buffer without its background thread: the test decides when it is written
    (tracking_events.flush())."""
    original = tracking_events.buffer
    tracking_events.buffer = tracking_events.EventBuffer(autostart=False)
    try:
        yield tracking_events.buffer
    finally:
        tracking_events.buffer = original


# --- a real SMTP server ----------------------------------------------------------------------------

@pytest.fixture
def smtp_server():
    with smtp_running() as sink:
        yield sink


@pytest.fixture
def smtp_settings(settings, smtp_server):
    return send_through(settings, smtp_server)


# --- a real browser --------------------------------------------------------------------------------

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
