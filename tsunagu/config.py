"""The public environment contract, read in one place.

Every setting Tsunagu takes from the environment is parsed here so that the
settings module, the command line and the tests agree on defaults.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit


class ConfigError(ValueError):
    """A TSUNAGU_* variable has a value Tsunagu cannot use."""


def data_dir() -> Path:
    """The data dir, private to the user Tsunagu runs as (0700): it holds the keys and the SQLite database."""
    path = Path(os.environ.get("TSUNAGU_DATA_DIR") or "./var").resolve()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    private(path)
    return path


def base_url() -> str:
    return (os.environ.get("TSUNAGU_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")


def trusted_proxies() -> int:
    """How many reverse proxies (load balancers) stand in front of the server: 0 (the default) trusts no
    X-Forwarded-* header; N takes the client's address N hops from the right of X-Forwarded-For and the scheme
    from X-Forwarded-Proto."""
    value = (os.environ.get("TSUNAGU_TRUSTED_PROXIES") or "0").strip()
    if not value.isascii() or not value.isdigit() or int(value) > 10:
        raise ValueError(f"TSUNAGU_TRUSTED_PROXIES must be a number from 0 to 10, not {value!r}")
    return int(value)


LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def allowed_hosts(url: str | None = None) -> list[str]:
    """The Host headers the server answers: TSUNAGU_BASE_URL's host, the comma-separated
    TSUNAGU_ALLOWED_HOSTS (Django's syntax: `.example.jp` takes subdomains too), and localhost only while the
    base URL is itself local. Any other Host gets 400, so a forged Host cannot end up in links or mail."""
    url = url if url is not None else base_url()
    host = urlsplit(url).hostname
    if not host:
        raise ConfigError(f"TSUNAGU_BASE_URL: no host in {url!r}")
    hosts = [f"[{host}]" if ":" in host else host]
    if hosts[0] in LOCAL_HOSTS or host.endswith(".localhost"):
        hosts += [name for name in LOCAL_HOSTS if name not in hosts]
    for name in (os.environ.get("TSUNAGU_ALLOWED_HOSTS") or "").split(","):
        name = name.strip().lower()
        if name and name not in hosts:
            if "/" in name or " " in name:
                raise ConfigError(f"TSUNAGU_ALLOWED_HOSTS: {name!r} is not a host name (no scheme or path)")
            hosts.append(name)
    return hosts


def hsts_seconds(url: str | None = None) -> int:
    """Strict-Transport-Security max-age: TSUNAGU_HSTS_SECONDS, by default a year with an https:// base URL
    and 0 (no header) otherwise. Browsers see it only on requests known to be https (see trusted_proxies)."""
    url = url if url is not None else base_url()
    default = 31536000 if url.startswith("https://") else 0
    value = (os.environ.get("TSUNAGU_HSTS_SECONDS") or str(default)).strip()
    if not value.isascii() or not value.isdigit():
        raise ConfigError(f"TSUNAGU_HSTS_SECONDS must be a number of seconds (0 turns HSTS off), not {value!r}")
    return int(value)


def quick_registration_seconds() -> int:
    """TSUNAGU_QUICK_REGISTRATION_SECONDS: a relay form sent within this many seconds of the notice's delivery
    is held for review (nobody reads a mail and fills in the form that fast). 10 by default."""
    value = (os.environ.get("TSUNAGU_QUICK_REGISTRATION_SECONDS") or "10").strip()
    if not value.isascii() or not value.isdigit() or int(value) > 3600:
        raise ConfigError(f"TSUNAGU_QUICK_REGISTRATION_SECONDS must be a number of seconds up to 3600, not {value!r}")
    return int(value)


def debug() -> bool:
    return (os.environ.get("TSUNAGU_DEBUG") or "").lower() in {"1", "true", "yes", "on"}


def outbound_allow_http() -> bool:
    """TSUNAGU_OUTBOUND_ALLOW_HTTP: let ATS API base URLs use plain http (tests, private deployments)."""
    return (os.environ.get("TSUNAGU_OUTBOUND_ALLOW_HTTP") or "").lower() in {"1", "true", "yes", "on"}


def outbound_allow_private() -> list[str]:
    """TSUNAGU_OUTBOUND_ALLOW_PRIVATE: comma-separated networks (e.g. `10.20.0.0/16,fd00::/8`) that ATS API
    requests may reach although they are not public; empty (the default) allows public addresses only."""
    import ipaddress

    networks = []
    for item in (os.environ.get("TSUNAGU_OUTBOUND_ALLOW_PRIVATE") or "").split(","):
        if item.strip():
            try:
                networks.append(str(ipaddress.ip_network(item.strip(), strict=False)))
            except ValueError:
                raise ConfigError(f"TSUNAGU_OUTBOUND_ALLOW_PRIVATE: {item.strip()!r} is not a network "
                                  "(e.g. 10.0.0.0/8 or 192.0.2.7/32)") from None
    return networks


def secret_key(directory: Path) -> str:
    """The secret from the environment, else one made once and kept in the data dir."""
    value = os.environ.get("TSUNAGU_SECRET_KEY")
    if value:
        return value
    key_file = directory / "secret_key"
    create_private_file(key_file, secrets.token_urlsafe(50))
    private(key_file)
    return key_file.read_text().strip()


ENCRYPTION_KEY_FILE = "encryption_key"


def encryption_keys(directory: Path) -> list[str]:
    """The keys that encrypt the secrets stored in the database (lib/encryption.py), newest first: from
    TSUNAGU_ENCRYPTION_KEY (comma-separated), else the data dir's `encryption_key` file (one a line, `#`
    comments), made once with a new key."""
    from cryptography.fernet import Fernet

    value = os.environ.get("TSUNAGU_ENCRYPTION_KEY", "").strip()
    if value:
        source, keys = "TSUNAGU_ENCRYPTION_KEY", [key.strip() for key in value.split(",") if key.strip()]
    else:
        key_file = directory / ENCRYPTION_KEY_FILE
        create_private_file(key_file, Fernet.generate_key().decode() + "\n")
        private(key_file)
        source = str(key_file)
        keys = [line.strip() for line in key_file.read_text().splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    if not keys:
        raise ConfigError(f"{source}: no encryption key in it (make one with `tsunagu secrets new-key`)")
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise ConfigError(f"{source}: key {number} is not an encryption key (32 url-safe base64-encoded "
                              "bytes; make one with `tsunagu secrets new-key`)") from None
    return keys


def add_encryption_key(directory: Path, key: str) -> Path:
    """Put a new key in front of the data dir's key file; the older keys stay after it, so what they
    encrypted still opens until `tsunagu secrets rotate` has re-encrypted it. Replaced whole (0600)."""
    key_file = directory / ENCRYPTION_KEY_FILE
    old = key_file.read_text() if key_file.exists() else ""
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{ENCRYPTION_KEY_FILE}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{key}\n{old}")
        os.replace(temporary, key_file)
    except BaseException:
        os.unlink(temporary)
        raise
    return key_file


def create_private_file(path: Path, content: str) -> bool:
    """Write a new file readable by its owner only (0600), whole or not at all; False if it exists already
    (another process may be making it at the same moment: it appears with its content or not at all)."""
    if path.exists():
        return False
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp makes it 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(content)
        try:
            os.link(temporary, path)
        except FileExistsError:
            raise
        except OSError:  # a filesystem without hard links: create in place (O_EXCL, so still only once)
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
                handle.write(content)
    except FileExistsError:
        return False
    finally:
        os.unlink(temporary)
    return True


def private(path: Path) -> None:
    """Take group and other permissions off a file or directory that holds secrets (made before Tsunagu
    did this, or copied in with a looser mode). Not ours to change (another owner): left as it is."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            os.chmod(path, mode & 0o700)
    except (FileNotFoundError, PermissionError):
        pass


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


def private_sqlite_file(path: Path) -> None:
    """Make a SQLite database 0600 before SQLite does (an empty file is an empty database): SQLite gives its
    -wal and -shm files the database file's mode. Files made before this rule are tightened."""
    if str(path) in {"", ":memory:"} or str(path).startswith("file:"):
        return
    if path.parent.is_dir():
        create_private_file(path, "")
    for suffix in ("", "-wal", "-shm", "-journal"):
        private(path.with_name(path.name + suffix))


def sqlite_database(path: Path) -> dict:
    private_sqlite_file(path)
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
    create_private_file(secret_file, f"tsunagu:{secrets.token_urlsafe(24)}")
    private(secret_file)
    return secret_file.read_text().strip()


def queue(directory: Path) -> dict:
    """Huey settings for TSUNAGU_QUEUE_URL (SQLite in the data dir by default)."""
    url = os.environ.get("TSUNAGU_QUEUE_URL") or ""
    common = {"name": "tsunagu", "immediate": False, "utc": True}
    if not url or url.startswith("sqlite:"):
        path = directory / "queue.sqlite3"
        if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
            path = Path(url[len("sqlite:///"):])
        private_sqlite_file(path)
        return {**common, "huey_class": "huey.SqliteHuey", "filename": str(path)}
    if url.startswith(("redis://", "rediss://")):
        return {**common, "huey_class": "huey.RedisHuey", "url": url, "blocking": True}
    if url.startswith(("postgres://", "postgresql://")):
        return {**common, "huey_class": "tsunagu.lib.queue.PostgresHuey", "url": url}
    raise ConfigError(f"TSUNAGU_QUEUE_URL: unsupported scheme in {url!r} (use sqlite:///, redis:// or postgresql://)")
