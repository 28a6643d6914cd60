"""The public environment contract, read in one place.

Every setting Tsunagu takes from the environment is parsed here so that the
settings module, the command line and the tests agree on defaults.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
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
    # A provider scheme: its name ("sendgrid", "postmark", "mailgun", "amazon_ses") and django-anymail's
    # settings for it (the ANYMAIL dict; the webhook secret is added by the settings module).
    provider: str = ""
    anymail: dict = field(default_factory=dict)
    # Amazon SES: SNS topics whose notifications the event webhook accepts (empty: any topic).
    sns_topic_arns: tuple = ()


SMTP_SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
PROVIDER_BACKENDS = {
    "sendgrid": "tsunagu.messaging.provider_backends.SendGridBackend",
    "postmark": "tsunagu.messaging.provider_backends.PostmarkBackend",
    "mailgun": "tsunagu.messaging.provider_backends.MailgunBackend",
    "amazon_ses": "tsunagu.messaging.provider_backends.AmazonSESBackend",
}
MAILGUN_REGIONS = {"us": "https://api.mailgun.net/v3", "eu": "https://api.eu.mailgun.net/v3"}
SUPPORTED_SCHEMES = "capture://, smtp://, smtp+starttls://, smtps://, sendgrid://, postmark://, mailgun:// or ses://"


def email(url: str | None = None) -> EmailConfig:
    """The transport TSUNAGU_EMAIL_URL names: capture, SMTP, or an e-mail provider's API (django-anymail)."""
    url = url if url is not None else (os.environ.get("TSUNAGU_EMAIL_URL") or "capture://")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "capture":
        return EmailConfig(backend="tsunagu.messaging.backends.CaptureEmailBackend")
    if scheme in SMTP_SCHEMES:
        if not parts.hostname:
            raise ConfigError(f"TSUNAGU_EMAIL_URL: no host in {_redact(url)!r}")
        query = _query(url, parts, allowed={"timeout"})
        return EmailConfig(
            backend="tsunagu.messaging.backends.SMTPEmailBackend",
            host=parts.hostname,
            port=_port(url, parts) or SMTP_SCHEMES[scheme],
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            use_tls=scheme == "smtp+starttls",
            use_ssl=scheme == "smtps",
            timeout=_timeout(url, query),
        )
    if scheme == "sendgrid":
        return _sendgrid(url, parts)
    if scheme == "postmark":
        return _postmark(url, parts)
    if scheme == "mailgun":
        return _mailgun(url, parts)
    if scheme == "ses":
        return _amazon_ses(url, parts)
    raise ConfigError(f"TSUNAGU_EMAIL_URL: unsupported scheme {scheme!r} (use {SUPPORTED_SCHEMES})")


def _sendgrid(url: str, parts) -> EmailConfig:
    """sendgrid://API_KEY[?webhook_key=SIGNED_EVENT_WEBHOOK_PUBLIC_KEY&api_url=...&timeout=N]"""
    query = _query(url, parts, allowed={"webhook_key", "api_url", "timeout"})
    api_key = _whole_netloc(url, parts, "the API key")
    settings = {"SENDGRID_API_KEY": api_key, "REQUESTS_TIMEOUT": _timeout(url, query)}
    if query.get("webhook_key"):
        # The signed event webhook's verification key (base64 DER, as SendGrid shows it).
        settings["SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY"] = _base64_param(query["webhook_key"])
    _api_url(settings, "SENDGRID_API_URL", url, query)
    return _provider("sendgrid", settings)


def _postmark(url: str, parts) -> EmailConfig:
    """postmark://SERVER_TOKEN[?api_url=...&timeout=N]"""
    query = _query(url, parts, allowed={"api_url", "timeout"})
    settings = {"POSTMARK_SERVER_TOKEN": _whole_netloc(url, parts, "the server token"),
                "REQUESTS_TIMEOUT": _timeout(url, query)}
    _api_url(settings, "POSTMARK_API_URL", url, query)
    return _provider("postmark", settings)


def _mailgun(url: str, parts) -> EmailConfig:
    """mailgun://API_KEY@[SENDING_DOMAIN][?region=us|eu&webhook_key=SIGNING_KEY&api_url=...&timeout=N]"""
    query = _query(url, parts, allowed={"region", "webhook_key", "api_url", "timeout"})
    api_key = unquote(parts.username or "")
    if "@" not in parts.netloc or not api_key or parts.password is not None:
        raise ConfigError(f"TSUNAGU_EMAIL_URL: write Mailgun as mailgun://API_KEY@SENDING_DOMAIN, not {_redact(url)!r}")
    region = query.get("region", "us").lower()
    if region not in MAILGUN_REGIONS:
        raise ConfigError(f"TSUNAGU_EMAIL_URL: Mailgun region {region!r} is unknown (use us or eu)")
    settings = {"MAILGUN_API_KEY": api_key, "MAILGUN_API_URL": MAILGUN_REGIONS[region],
                "REQUESTS_TIMEOUT": _timeout(url, query)}
    if parts.hostname:
        # Without a domain, each mail goes through the domain of its sender address.
        settings["MAILGUN_SENDER_DOMAIN"] = parts.hostname
    if query.get("webhook_key"):
        settings["MAILGUN_WEBHOOK_SIGNING_KEY"] = query["webhook_key"]
    _api_url(settings, "MAILGUN_API_URL", url, query)
    return _provider("mailgun", settings)


def _amazon_ses(url: str, parts) -> EmailConfig:
    """ses://[ACCESS_KEY_ID:SECRET_ACCESS_KEY@][?region=R&configuration_set=NAME&topic=ARN&endpoint_url=...]

    Without credentials in the URL, boto3 finds them the standard way (AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance role, ...); without a region, AWS_REGION."""
    query = _query(url, parts, allowed={"region", "configuration_set", "topic", "endpoint_url"}, repeated={"topic"})
    if parts.hostname or parts.path not in {"", "/"}:
        raise ConfigError(f"TSUNAGU_EMAIL_URL: write Amazon SES as ses://[KEY_ID:SECRET@]?region=..., "
                          f"not {_redact(url)!r}")
    session, client = {}, {}
    if parts.username or parts.password:
        if not (parts.username and parts.password):
            raise ConfigError("TSUNAGU_EMAIL_URL: Amazon SES needs both the access key id and the secret "
                              "(ses://KEY_ID:SECRET@?region=...), or neither")
        session = {"aws_access_key_id": unquote(parts.username), "aws_secret_access_key": unquote(parts.password)}
    if query.get("region"):
        if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", query["region"]):
            raise ConfigError(f"TSUNAGU_EMAIL_URL: {query['region']!r} is not an AWS region (e.g. ap-northeast-1)")
        client["region_name"] = query["region"]
    if query.get("endpoint_url"):
        client["endpoint_url"] = _http_url(url, query["endpoint_url"])
    settings = {"AMAZON_SES_SESSION_PARAMS": session, "AMAZON_SES_CLIENT_PARAMS": client}
    if query.get("configuration_set"):
        settings["AMAZON_SES_CONFIGURATION_SET_NAME"] = query["configuration_set"]
    topics = tuple(query.get("topic", ()))
    for topic in topics:
        if not topic.startswith("arn:") or topic.count(":") < 5:
            raise ConfigError(f"TSUNAGU_EMAIL_URL: {topic!r} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)")
    return _provider("amazon_ses", settings, sns_topic_arns=topics)


def _provider(name: str, settings: dict, **extra) -> EmailConfig:
    return EmailConfig(backend=PROVIDER_BACKENDS[name], provider=name, anymail=settings, **extra)


def _query(url: str, parts, *, allowed: set[str], repeated: frozenset | set = frozenset()) -> dict:
    """The URL's query as {name: value} ({name: [values]} for repeated names); unknown names are errors."""
    values = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ConfigError(f"TSUNAGU_EMAIL_URL: unknown parameter {unknown[0]!r} in {_redact(url)!r} "
                          f"(known: {', '.join(sorted(allowed))})")
    result = {}
    for name, found in values.items():
        if name in repeated:
            result[name] = found
        elif len(found) > 1:
            raise ConfigError(f"TSUNAGU_EMAIL_URL: parameter {name!r} is given twice")
        else:
            result[name] = found[0]
    return result


def _timeout(url: str, query: dict) -> int:
    raw = query.get("timeout", "30")
    if not raw.isdigit() or not 1 <= int(raw) <= 600:
        raise ConfigError(f"TSUNAGU_EMAIL_URL: timeout must be a number of seconds (1-600), not {raw!r}")
    return int(raw)


def _port(url: str, parts) -> int | None:
    try:
        return parts.port
    except ValueError as exc:
        raise ConfigError(f"TSUNAGU_EMAIL_URL: bad port in {_redact(url)!r}") from exc


def _whole_netloc(url: str, parts, what: str) -> str:
    """A provider key written as the URL's authority, case and all (hostname would lower-case it)."""
    value = unquote(parts.netloc)
    if not value or "@" in value or ":" in value or "/" in value:
        raise ConfigError(f"TSUNAGU_EMAIL_URL: put {what} after {parts.scheme}:// "
                          f"(e.g. {parts.scheme}://KEY), not {_redact(url)!r}")
    return value


def _base64_param(value: str) -> str:
    # parse_qs turns an unencoded "+" into a space; base64 has no spaces, so put them back.
    return value.replace(" ", "+").strip()


def _api_url(settings: dict, name: str, url: str, query: dict) -> None:
    if query.get("api_url"):
        settings[name] = _http_url(url, query["api_url"])


def _http_url(url: str, value: str) -> str:
    if urlsplit(value).scheme not in {"http", "https"} or not urlsplit(value).hostname:
        raise ConfigError(f"TSUNAGU_EMAIL_URL: {value!r} is not an http(s) URL")
    return value


def _redact(url: str) -> str:
    """The URL without its secrets, for error messages."""
    parts = urlsplit(url)
    if parts.scheme.lower() in {"sendgrid", "postmark"}:
        return f"{parts.scheme}://…" + (f"?{parts.query}" if parts.query else "")
    if "@" in parts.netloc:
        return url.replace(parts.netloc, "…@" + parts.netloc.rsplit("@", 1)[1], 1)
    return url


def email_webhook_secret(directory: Path) -> str:
    """The `user:password` that provider event webhooks must present (HTTP basic auth), from
    TSUNAGU_EMAIL_WEBHOOK_SECRET, else one made once and kept in the data dir."""
    value = os.environ.get("TSUNAGU_EMAIL_WEBHOOK_SECRET")
    if value:
        user, _, password = value.partition(":")
        if not user or not password:
            raise ConfigError("TSUNAGU_EMAIL_WEBHOOK_SECRET: write it as user:password")
        return value
    secret_file = directory / "email_webhook_secret"
    if not secret_file.exists():
        try:
            fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # made a moment ago by another process
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(f"tsunagu:{secrets.token_urlsafe(24)}")
    return secret_file.read_text().strip()


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
        return {**common, "huey_class": "tsunagu.lib.queue.PostgresHuey", "url": url}
    raise ConfigError(f"TSUNAGU_QUEUE_URL: unsupported scheme in {url!r} (use sqlite:///, redis:// or postgresql://)")
