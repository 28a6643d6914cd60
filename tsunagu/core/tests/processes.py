"""Run the real `tsunagu` command line and server as subprocesses, as a user would."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import requests
from django.conf import settings

from tsunagu.conftest import free_port


def tsunagu_command() -> list[str]:
    script = Path(sys.executable).with_name("tsunagu")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tsunagu.cli"]


def base_env(data_dir: str, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TSUNAGU_", "DJANGO_"))}
    env.update(TSUNAGU_DATA_DIR=data_dir, **extra)
    return env


def run_cli(args: list[str], env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(tsunagu_command() + args, env=env, capture_output=True, text=True, timeout=timeout)


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
def scratch_postgres(admin_url: str):
    """A throw-away database on the PostgreSQL server at admin_url, dropped afterwards."""
    import psycopg

    name = f"tsunagu_e2e_{secrets.token_hex(4)}"
    base = admin_url.rsplit("/", 1)[0]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
