"""What every benchmark needs: a throw-away environment, the `tsunagu` processes, and reporting helpers.

Nothing here measures anything; it only makes the measurements repeatable and self-cleaning.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
# The console script installed next to the interpreter running the benchmarks (.venv/bin/tsunagu).
TSUNAGU = str(Path(sys.executable).with_name("tsunagu"))
HOST = "127.0.0.1"


class BenchError(RuntimeError):
    """The benchmark could not run as planned (a setup step failed); distinct from a missed target."""


# --- environment -----------------------------------------------------------------------------------

def database_kind() -> str:
    """Which database the benchmarks use: PostgreSQL when TSUNAGU_DATABASE_URL points at one, else SQLite."""
    url = os.environ.get("TSUNAGU_DATABASE_URL", "")
    return "PostgreSQL" if url.startswith(("postgres://", "postgresql://")) else "SQLite"


@dataclass
class BenchEnvironment:
    """A fresh data dir (and, on PostgreSQL, a fresh database) plus the environment for `tsunagu` processes."""

    name: str
    data_dir: Path
    env: dict[str, str]
    database_url: str = ""  # empty: SQLite in the data dir
    _cleanups: list[Callable[[], None]] = field(default_factory=list)

    def with_env(self, **values: str) -> dict[str, str]:
        return {**self.env, **values}

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "tsunagu.sqlite3"


@contextmanager
def bench_environment(name: str) -> Iterator[BenchEnvironment]:
    """Yield a throw-away environment; remove it afterwards (kept for inspection if the benchmark broke)."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"tsunagu-bench-{name}-"))
    # Start from a clean slate: no TSUNAGU_* of the caller may leak in (a TSUNAGU_QUEUE_URL pointing at a
    # shared Redis, for instance, would mix this run's tasks with someone else's). The queue therefore
    # always lives in the temporary data dir.
    env = {key: value for key, value in os.environ.items() if not key.startswith("TSUNAGU_")}
    env["TSUNAGU_DATA_DIR"] = str(data_dir)
    bench = BenchEnvironment(name=name, data_dir=data_dir, env=env)
    server_url = os.environ.get("TSUNAGU_DATABASE_URL", "")
    failed = False
    try:
        if database_kind() == "PostgreSQL":
            bench.database_url, drop = create_throwaway_postgres_database(server_url)
            bench._cleanups.append(drop)
            env["TSUNAGU_DATABASE_URL"] = bench.database_url
        # A sqlite:// URL is deliberately not passed through: every benchmark gets its own file in its data dir.
        yield bench
    except BaseException:
        failed = True
        raise
    finally:
        for cleanup in reversed(bench._cleanups):
            try:
                cleanup()
            except Exception as exc:  # noqa: BLE001 - report, but keep cleaning up the rest
                print(f"  warning: cleanup failed: {exc}", flush=True)
        if failed:
            print(f"  (kept {data_dir} for inspection)", flush=True)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


def create_throwaway_postgres_database(server_url: str) -> tuple[str, Callable[[], None]]:
    """Create tsunagu_bench_<random> on the server of `server_url`; return its URL and a function that drops it."""
    import psycopg
    from psycopg import sql

    name = f"tsunagu_bench_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    database_url = urlunsplit(urlsplit(server_url)._replace(path="/" + name))

    def drop() -> None:
        with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
            # Any connection a stopped process left behind would block the drop; only this database's are ended.
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))

    return database_url, drop


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


# --- processes -------------------------------------------------------------------------------------

def run_tsunagu(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    """Run one `tsunagu` command to completion; return its stdout, or raise BenchError with its stderr."""
    return run_checked([TSUNAGU, *args], env=env, timeout=timeout)


def run_python_module(env: dict[str, str], module: str, *args: str, timeout: float = 300) -> str:
    """Run `python -m module` from this repository (e.g. a helper that calls django.setup())."""
    env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))}
    return run_checked([sys.executable, "-m", module, *args], env=env, timeout=timeout)


def run_checked(command: list[str], *, env: dict[str, str], timeout: float) -> str:
    try:
        done = subprocess.run(command, env=env, cwd=env["TSUNAGU_DATA_DIR"], capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{' '.join(command[-3:])} did not finish within {timeout:.0f} s") from exc
    if done.returncode != 0:
        raise BenchError(f"{' '.join(command)} exited with {done.returncode}:\n{done.stderr[-3000:]}")
    return done.stdout


def last_json_line(output: str) -> dict:
    for line in reversed(output.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise BenchError(f"no JSON object in the output:\n{output[-2000:]}")


class Service:
    """A long-running `tsunagu` process (serve, worker, scheduler); its output goes to a log in the data dir."""

    def __init__(self, name: str, args: list[str], env: dict[str, str]):
        self.name = name
        self.args = args
        self.env = env
        self.log_path = Path(env["TSUNAGU_DATA_DIR"]) / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Service:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([TSUNAGU, *self.args], env=self.env, cwd=self.env["TSUNAGU_DATA_DIR"],
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    def check_running(self) -> None:
        """Raise BenchError (with the end of the log) if the process has exited."""
        if self.process is not None and self.process.poll() is not None:
            raise BenchError(f"`tsunagu {self.name}` exited with {self.process.returncode}:\n{self.log_tail()}")

    def stop(self, grace: float = 15) -> None:
        """SIGTERM, then SIGKILL if it has not exited within `grace` seconds."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            print(f"  warning: `tsunagu {self.name}` ignored SIGTERM for {grace:.0f} s; killing it", flush=True)
            self.process.kill()
            self.process.wait(timeout=10)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"


def wait_for_http_ok(url: str, *, timeout: float, service: Service) -> None:
    """Poll `url` until it answers 200, the service dies, or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        service.check_running()
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise BenchError(f"{url} did not answer 200 within {timeout:.0f} s:\n{service.log_tail()}")


def console_login(session, base_url: str, email: str, password: str, *, timeout: float = 60) -> None:
    """Log a requests session in to the console as a browser does (the form, its CSRF token, the Referer)."""
    login = f"{base_url}/console/login/"
    session.get(login, timeout=timeout)
    response = session.post(login, data={"username": email, "password": password,
                                         "csrfmiddlewaretoken": session.cookies.get("csrftoken", "")},
                            headers={"Referer": login}, timeout=timeout, allow_redirects=False)
    if response.status_code != 302:
        raise BenchError(f"console login answered {response.status_code}")


# --- reading the outbox from outside ---------------------------------------------------------------

class OutboxProbe:
    """Counts outbox rows by status straight from the database, so the benchmark process needs no Django."""

    QUERY = "SELECT status, COUNT(*) FROM messaging_message GROUP BY status"

    def __init__(self, bench: BenchEnvironment):
        if bench.database_url:
            import psycopg

            self._connection = psycopg.connect(bench.database_url, autocommit=True, connect_timeout=10)
        else:
            # Reads only; in WAL mode a reader never blocks the worker's writes.
            self._connection = sqlite3.connect(bench.sqlite_path, timeout=30)

    def counts(self) -> dict[str, int]:
        return dict(self.rows(self.QUERY))

    def rows(self, query: str) -> list[tuple]:
        """Any read of a subclass's own (a query without parameters: the two drivers' placeholders differ)."""
        return self._connection.execute(query).fetchall()

    def close(self) -> None:
        self._connection.close()


# --- reporting -------------------------------------------------------------------------------------

def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `fraction` of the values at or below it."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def verdict(met: bool) -> str:
    return "PASS" if met else "MISS"


def section(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


def say(text: str = "") -> None:
    print(f"  {text}" if text else "", flush=True)


def links_helper_main(argv: list[str] | None, *, benchmark: str, make_links: Callable[[str, int, str], dict],
                      default_count: int) -> int:
    """The command line of a benchmark's helper process (`python -m bench.<module> make-links ...`), run inside
    the benchmark's environment with Django: it makes the notices and writes their links to `--out`."""
    import argparse

    parser = argparse.ArgumentParser(description=f"helper of the {benchmark} benchmark (run inside its environment)")
    parser.add_argument("command", choices=["make-links"])
    parser.add_argument("--company", required=True)
    parser.add_argument("--count", type=int, default=default_count)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    print(json.dumps(make_links(args.company, args.count, args.out)))
    return 0
