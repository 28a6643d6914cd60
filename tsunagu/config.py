"""The public environment contract, read in one place.

Every setting Tsunagu takes from the environment is parsed here so that the
settings module, the command line and the tests agree on defaults.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit


class ConfigError(ValueError):
    """A TSUNAGU_* variable has a value Tsunagu cannot use."""


def data_dir() -> Path:
    path = Path(os.environ.get("TSUNAGU_DATA_DIR") or "./var").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def base_url() -> str:
    return (os.environ.get("TSUNAGU_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")


def debug() -> bool:
    return (os.environ.get("TSUNAGU_DEBUG") or "").lower() in {"1", "true", "yes", "on"}


def secret_key(directory: Path) -> str:
    """The secret from the environment, else one made once and kept in the data dir."""
    value = os.environ.get("TSUNAGU_SECRET_KEY")
    if value:
        return value
    key_file = directory / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


def database(directory: Path) -> dict:
    url = os.environ.get("TSUNAGU_DATABASE_URL")
    if not url:
        return sqlite_database(directory / "tsunagu.sqlite3")
    if url.startswith("sqlite:"):
        import dj_database_url

        parsed = dj_database_url.parse(url)
        return sqlite_database(Path(parsed["NAME"]))
    if url.startswith(("postgres://", "postgresql://")):
        import dj_database_url

        parsed = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
        parsed["ENGINE"] = "django.db.backends.postgresql"
        return parsed
    raise ConfigError(f"TSUNAGU_DATABASE_URL: unsupported scheme in {url!r} (use sqlite:/// or postgresql://)")


def sqlite_database(path: Path) -> dict:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            # IMMEDIATE takes the write lock at BEGIN, so concurrent writers wait
            # (busy timeout) instead of failing on a lock upgrade.
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        },
        "TEST": {"NAME": str(path.with_name("test-" + path.name))},
        # Reuse connections: opening one (and its PRAGMAs) per request was a measured share of webhook ingest.
        "CONN_MAX_AGE": 600,
        "CONN_HEALTH_CHECKS": True,
    }


@dataclass(frozen=True)
class EmailConfig:
    backend: str
    host: str = ""
    port: int = 0
    username: str = ""
    password: str = ""
    use_tls: bool = False
    use_ssl: bool = False
    timeout: int = 30


def email(url: str | None = None) -> EmailConfig:
    url = url if url is not None else (os.environ.get("TSUNAGU_EMAIL_URL") or "capture://")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "capture":
        return EmailConfig(backend="tsunagu.messaging.backends.CaptureEmailBackend")
    if scheme in {"smtp", "smtp+starttls", "smtps"}:
        if not parts.hostname:
            raise ConfigError(f"TSUNAGU_EMAIL_URL: no host in {url!r}")
        default_port = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}[scheme]
        query = parse_qs(parts.query)
        return EmailConfig(
            backend="tsunagu.messaging.backends.SMTPEmailBackend",
            host=parts.hostname,
            port=parts.port or default_port,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            use_tls=scheme == "smtp+starttls",
            use_ssl=scheme == "smtps",
            timeout=int(query.get("timeout", ["30"])[0]),
        )
    raise ConfigError(
        f"TSUNAGU_EMAIL_URL: unsupported scheme {scheme!r} (use capture://, smtp://, smtp+starttls:// or smtps://)"
    )


def queue(directory: Path) -> dict:
    """Huey settings for TSUNAGU_QUEUE_URL (SQLite in the data dir by default)."""
    url = os.environ.get("TSUNAGU_QUEUE_URL") or ""
    common = {"name": "tsunagu", "immediate": False, "utc": True}
    if not url or url.startswith("sqlite:"):
        path = directory / "queue.sqlite3"
        if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
            path = Path(url[len("sqlite:///"):])
        return {**common, "huey_class": "huey.SqliteHuey", "filename": str(path)}
    if url.startswith(("redis://", "rediss://")):
        return {**common, "huey_class": "huey.RedisHuey", "url": url, "blocking": True}
    if url.startswith(("postgres://", "postgresql://")):
        return {**common, "huey_class": "tsunagu.core.queue.PostgresHuey", "url": url}
    raise ConfigError(f"TSUNAGU_QUEUE_URL: unsupported scheme in {url!r} (use sqlite:///, redis:// or postgresql://)")
