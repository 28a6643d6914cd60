"""`make test`: the suite against SQLite and against PostgreSQL at the same time (both are tested on every CI
run). Each half has its own test database; the SQLite half prints as it goes, the PostgreSQL half's output
follows when it is done. The tests marked sqlite_data_dir run the command line on a SQLite data dir of their
own whichever database the suite uses: the SQLite half runs them, the PostgreSQL half would only repeat them.
`make test-fast` passes `--fast`: SQLite only, without the tests marked slow."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

PG_URL = os.environ.get("TSUNAGU_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
FAST = ["-m", "not slow and not browser"]
SAME_ON_EVERY_DATABASE = ["-m", "not sqlite_data_dir"]


def postgres_available(url: str) -> bool:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False


def pytest_command(extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", *extra]


def main() -> int:
    extra = sys.argv[1:]
    fast = "--fast" in extra
    if fast:
        extra = [arg for arg in extra if arg != "--fast"] + FAST
    base = {k: v for k, v in os.environ.items() if k not in {"TSUNAGU_DATABASE_URL", "TSUNAGU_DATA_DIR"}}
    started = time.monotonic()
    postgres = None
    if not fast:
        if postgres_available(PG_URL):
            log = tempfile.TemporaryFile(mode="w+")
            selection = [] if "-m" in extra else SAME_ON_EVERY_DATABASE
            postgres = (subprocess.Popen(pytest_command(extra + selection), env={**base, "TSUNAGU_DATABASE_URL": PG_URL},
                                         stdout=log, stderr=subprocess.STDOUT), log)
        elif os.environ.get("CI"):
            print(f"PostgreSQL is not reachable at {PG_URL}; CI requires it.", file=sys.stderr)
            return 1
        else:
            print(f"PostgreSQL is not reachable at {PG_URL}: only the SQLite half runs "
                  "(set TSUNAGU_TEST_POSTGRES_URL to point at a server).")
    print("\n=== tests on SQLite ===" + (" (fast set)" if fast else "") + "\n", flush=True)
    results = {"SQLite": subprocess.call(pytest_command(extra), env=base)}
    if postgres is not None:
        process, log = postgres
        if process.poll() is None:
            print("\n(waiting for the PostgreSQL half)", flush=True)
        results["PostgreSQL"] = process.wait()
        log.seek(0)
        print("\n=== tests on PostgreSQL ===\n" + log.read(), flush=True)
    minutes = (time.monotonic() - started) / 60
    print("\n" + "; ".join(f"{db}: {'passed' if code == 0 else 'FAILED'}" for db, code in results.items())
          + f" ({minutes:.1f} min)")
    return 0 if all(code == 0 for code in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
