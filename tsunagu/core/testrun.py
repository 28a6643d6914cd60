"""`make test`: the suite against SQLite, then against PostgreSQL (both are tested on every CI run)."""

from __future__ import annotations

import os
import subprocess
import sys

PG_URL = os.environ.get("TSUNAGU_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def postgres_available(url: str) -> bool:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False


def run_pytest(label: str, env: dict, extra: list[str]) -> int:
    print(f"\n=== tests on {label} ===", flush=True)
    return subprocess.call([sys.executable, "-m", "pytest", "-q", *extra], env=env)


def main() -> int:
    extra = sys.argv[1:]
    base = {k: v for k, v in os.environ.items() if k not in {"TSUNAGU_DATABASE_URL", "TSUNAGU_DATA_DIR"}}
    results = {"SQLite": run_pytest("SQLite", base, extra)}
    if postgres_available(PG_URL):
        results["PostgreSQL"] = run_pytest("PostgreSQL", {**base, "TSUNAGU_DATABASE_URL": PG_URL}, extra)
    elif os.environ.get("CI"):
        print(f"PostgreSQL is not reachable at {PG_URL}; CI requires it.", file=sys.stderr)
        results["PostgreSQL"] = 1
    else:
        print(f"\nPostgreSQL is not reachable at {PG_URL}: skipped the PostgreSQL run "
              "(set TSUNAGU_TEST_POSTGRES_URL to point at a server).")
    print("\n" + "; ".join(f"{db}: {'passed' if code == 0 else 'FAILED'}" for db, code in results.items()))
    return 0 if all(code == 0 for code in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
