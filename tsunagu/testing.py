"""What the tests of every app share (fixtures, which use these, are in conftest.py): an API client, a real
SMTP server and a local HTTP server, the real command line and `tsunagu serve` as subprocesses, and the browser
settings."""

from __future__ import annotations

import atexit
import email
import email.policy
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
from aiosmtpd.controller import Controller
from django.conf import settings
from django.test import Client

# --- the REST API ----------------------------------------------------------------------------------

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


# --- a real SMTP server, and a vendor's API played locally --------------------------------------

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
    # shutdown() waits for serve_forever to look up from its poll: at the default 0.5 s that was half a
    # second at the end of every test with a local server.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


# A vendor's API played by a local plain-HTTP server: what a private deployment would set to reach it
# (outbound requests are https to public addresses only by default; see tsunagu.lib.outbound).
LOCAL_OUTBOUND_ENV = {"TSUNAGU_OUTBOUND_ALLOW_HTTP": "1", "TSUNAGU_OUTBOUND_ALLOW_PRIVATE": "127.0.0.1/32"}


def allow_local_outbound(settings) -> None:
    """The same opt-in for this process (the pytest-django `settings` fixture)."""
    settings.TSUNAGU_OUTBOUND_ALLOW_HTTP = True
    settings.TSUNAGU_OUTBOUND_ALLOW_PRIVATE = ["127.0.0.1/32"]


def send_through(settings, sink: SmtpSink) -> SmtpSink:
    """Send through this real SMTP server instead of capturing."""
    settings.EMAIL_BACKEND = "tsunagu.messaging.backends.SMTPEmailBackend"
    settings.EMAIL_HOST = sink.host
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    return sink


def text_part(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_part(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


# --- the real command line and server -------------------------------------------------------------

def tsunagu_command() -> list[str]:
    script = Path(sys.executable).with_name("tsunagu")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tsunagu.cli"]


def base_env(data_dir: str, *, fresh: bool = False, **extra) -> dict:
    """The environment of a `tsunagu` subprocess on `data_dir`. Unless `fresh` (a test of what a new data dir
    gets) or another database is given, the data dir starts with an already migrated SQLite database: building
    the schema from nothing takes seconds, in every test of the real command line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TSUNAGU_", "DJANGO_"))}
    env.update(TSUNAGU_DATA_DIR=data_dir, **extra)
    if not fresh and "TSUNAGU_DATABASE_URL" not in extra:
        _seed_sqlite(Path(data_dir))
    return env


def run_cli(args: list[str], env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(tsunagu_command() + args, env=env, capture_output=True, text=True, timeout=timeout)


# Databases migrated once per test process, copied (SQLite) or cloned (PostgreSQL templates) for each test.
_migrated: dict[str, str] = {}


def _migrate(env: dict) -> None:
    result = run_cli(["manage", "migrate", "-v", "0"], env, timeout=300)
    assert result.returncode == 0, result.stderr


def _seed_sqlite(data_dir: Path) -> None:
    target = data_dir / "tsunagu.sqlite3"
    if target.exists() and target.stat().st_size > 0:
        return
    if "sqlite" not in _migrated:
        directory = tempfile.mkdtemp(prefix="tsunagu-migrated-")
        atexit.register(shutil.rmtree, directory, True)
        _migrate(base_env(directory, fresh=True))
        _migrated["sqlite"] = str(Path(directory) / "tsunagu.sqlite3")
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copyfile(_migrated["sqlite"], target)
    target.chmod(0o600)


def _postgres_template(admin_url: str) -> str:
    """A database migrated once, on the server at admin_url, for CREATE DATABASE … TEMPLATE."""

    if admin_url not in _migrated:
        name = f"tsunagu_migrated_{secrets.token_hex(4)}"
        _create_database(admin_url, name)
        atexit.register(_drop_database, admin_url, name)
        directory = tempfile.mkdtemp(prefix="tsunagu-migrated-")
        atexit.register(shutil.rmtree, directory, True)
        _migrate(base_env(directory, TSUNAGU_DATABASE_URL=f"{admin_url.rsplit('/', 1)[0]}/{name}"))
        _migrated[admin_url] = name
    return _migrated[admin_url]


def _create_database(admin_url: str, name: str, template: str = "") -> None:
    """A throw-away database whose commits do not wait for the disk (every connection to it, the servers' and
    workers' too): the same data seen the same way, without a WAL flush per commit."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')


def _drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_database():
    """A database URL for a subprocess: a fresh PostgreSQL database when the suite runs on PostgreSQL."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        yield None
        return
    user = database.get("USER") or "postgres"
    host, port = database.get("HOST") or "127.0.0.1", database.get("PORT") or 5432
    with scratch_postgres(f"postgresql://{user}@{host}:{port}/postgres") as url:
        yield url


@contextmanager
def scratch_postgres(admin_url: str, *, migrated: bool = True):
    """A throw-away database on the PostgreSQL server at admin_url (already migrated unless `migrated` is
    False), dropped afterwards."""

    name = f"tsunagu_e2e_{secrets.token_hex(4)}"
    base = admin_url.rsplit("/", 1)[0]
    _create_database(admin_url, name, _postgres_template(admin_url) if migrated else "")
    try:
        yield f"{base}/{name}"
    finally:
        _drop_database(admin_url, name)


class Server:
    def __init__(self, env: dict, port: int, command: str = "serve"):
        self.env, self.port = env, port
        self.url = f"http://127.0.0.1:{port}"
        self.log = tempfile.NamedTemporaryFile(prefix="tsunagu-serve-", suffix=".log", delete=False)
        self.process = subprocess.Popen(tsunagu_command() + [command, "--bind", f"127.0.0.1:{port}"], env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT)

    def wait_until_up(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"tsunagu serve exited: {Path(self.log.name).read_text()}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise AssertionError("tsunagu serve did not come up")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# What the end-to-end tests set TSUNAGU_QUICK_REGISTRATION_SECONDS to (10 by default): a relay form sent this
# soon after delivery is held, so a test that registers as a real person must wait this long first.
QUICK_REGISTRATION_SECONDS = 2
QUICK_REGISTRATION_ENV = {"TSUNAGU_QUICK_REGISTRATION_SECONDS": str(QUICK_REGISTRATION_SECONDS)}


@contextmanager
def running_tsunagu(smtp_port: int | None = None, command: str = "serve", **env_extra):
    """A data dir, a company (via the CLI) and `tsunagu serve` (or `web`); yields (server, company JSON)."""
    with tempfile.TemporaryDirectory(prefix="tsunagu-e2e-") as data_dir, scratch_database() as database_url:
        port = free_port()
        extra = {"TSUNAGU_BASE_URL": f"http://127.0.0.1:{port}", **env_extra}
        if smtp_port:
            extra["TSUNAGU_EMAIL_URL"] = f"smtp://127.0.0.1:{smtp_port}"
        if database_url:
            extra["TSUNAGU_DATABASE_URL"] = database_url
        env = base_env(data_dir, **extra)
        if command != "serve":
            assert run_cli(["manage", "migrate", "-v", "0"], env).returncode == 0
        server = Server(env, port, command)
        try:
            server.wait_until_up()
            created = run_cli(["company", "create", "--name", "株式会社つなぐテスト", "--slug", "e2e",
                               "--delay-minutes", "0", "--send-window", "always"], env)
            assert created.returncode == 0, created.stderr
            yield server, json.loads(created.stdout.strip().splitlines()[-1])
        finally:
            server.stop()


# --- signing in with the second factor -------------------------------------------------------------

def totp_code(device) -> str:
    """The code the user's authenticator app shows now, or the next one when the current one was already used
    (django-otp accepts a code once, and one step ahead of the clock)."""
    from django_otp.oath import TOTP

    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    if totp.t() <= device.last_t:
        totp.time += (device.last_t + 1 - totp.t()) * device.step
    return f"{totp.token():0{device.digits}d}"


def enrolled_device(user):
    """The user's confirmed TOTP device, enrolled now (as on the enrolment page) when there is none."""
    from tsunagu.companies import actions
    from tsunagu.companies.two_factor import confirmed_device

    device = confirmed_device(user)
    if device is None:
        device = actions.start_totp_enrolment(user)
        assert actions.confirm_totp_device(device, totp_code(device))
    return device


def login_with_second_factor(client: Client, email_address: str, password: str) -> Client:
    """Sign `client` in through the real pages, as operator staff must: the password on /console/login/, then
    the code of the user's authenticator (enrolled first if they have none)."""
    from django.contrib.auth import get_user_model

    device = enrolled_device(get_user_model().objects.get(username__iexact=email_address))
    response = client.post("/console/login/", {"username": email_address, "password": password})
    assert response.status_code == 302, response.status_code
    response = client.post("/console/login/code/", {"code": totp_code(device)})
    assert response.status_code == 302 and "/login/" not in response["Location"], response
    return client


# --- a real browser --------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PHONE = {"viewport": {"width": 375, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 860}}


# --- any JSON a sender could post (hypothesis strategies for the webhook fuzz tests) ---------------

def json_values(words: list[str]):
    """Any JSON value: huge integers and non-finite floats (json.dumps writes NaN/Infinity), NUL and lone
    surrogates in text, `words` the receiver looks for, nested lists and objects."""
    from hypothesis import strategies as st

    leaves = st.one_of(
        st.none(), st.booleans(), st.integers(), st.integers(min_value=10**18, max_value=10**400), st.floats(),
        st.text(max_size=20), st.sampled_from(["\x00", "\ud800", "²³", "", *words]),
    )
    return st.recursive(
        leaves,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
        max_leaves=12,
    )


def shaped(template, anything, *, min_items: int = 0):
    """The sender's documented payload, each field kept, reshaped, or replaced by `anything`."""
    from hypothesis import strategies as st

    if isinstance(template, dict):
        inner = st.fixed_dictionaries({key: shaped(value, anything, min_items=min_items)
                                       for key, value in template.items()})
    elif isinstance(template, list):
        inner = (st.lists(shaped(template[0], anything, min_items=min_items), min_size=min_items, max_size=2)
                 if template else st.just([]))
    else:
        inner = st.just(template)
    return st.one_of(inner, inner, anything)
