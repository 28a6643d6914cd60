"""Honest tracking: the open pixel and the click redirect, and how machine traffic is told from people.

Links
    A tracked link is `/t/c/<token>`, the pixel `/t/o/<token>.gif`. The token carries, signed, everything
    the answer needs: message id, company id, the time the mail was built for sending, and (for a click)
    the target URL. So the redirect is answered from the token alone, with no database read, and it can
    only ever send a browser to a URL this server signed: a forged or altered token is a 404 page, never a
    redirect (no open redirect). Layout, all of it URL-safe:

        click: <message b62>.<company b62>.<sent b62>.<base64url(URL)>.<signature>
        open:  <message b62>.<company b62>.<sent b62>.<signature>

    The signature is HMAC-SHA256 over the kind and the fields, keyed by a key derived from SECRET_KEY
    (SECRET_KEY_FALLBACKS verify too, so rotating the key does not break links in old mail), truncated to
    128 bits (22 characters): unforgeable, and short enough for a link in mail.

Recording without making the candidate wait
    A request appends the event, already in the shape of an INSERT's parameters, to an in-process buffer
    (a list under a lock) and answers. A background thread writes the buffer every FLUSH_INTERVAL seconds,
    or as soon as FLUSH_AT events are waiting, with multi-row INSERT statements (raw SQL, measured: see
    EventBuffer._write), and the buffer is flushed at interpreter exit (atexit), so a normal shutdown of
    `tsunagu serve` / `tsunagu web` (SIGTERM: waitress finishes the requests in flight, then the
    interpreter exits) loses nothing. After that final flush, an event is written at once.

    Why not the queue: handing events to Huey would write each batch twice (into the queue, then into our
    table) and make a worker do what one INSERT does; the queue is for durable intent (mail to send), and an
    open or a click is a statistic. The trade-off: if the process is killed hard (SIGKILL, OOM, power loss),
    the events of the last second (at most FLUSH_AT; more only if the database was unwritable for a while,
    up to MAX_PENDING) are lost; the candidate's redirect never is. Each event carries a unique source id and the insert ignores duplicates, so a batch
    that is retried after a failed flush (database briefly locked or restarting) is never counted twice.

Machine traffic
    Mail security gateways (Microsoft Defender Safe Links, Proofpoint, Mimecast, Barracuda, ...) open and
    click links on delivery; Apple Mail Privacy Protection and webmail image proxies load every pixel. Such
    events are recorded but flagged (machine=True, machine_reason): HEAD requests, a missing or known
    scanner/proxy User-Agent (MACHINE_AGENTS, the one list to maintain), and anything within
    TOO_SOON_SECONDS of sending. People are counted by clicks that are not flagged; opens are shown only as
    an unreliable figure.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import hashlib
import hmac
import html as html_lib
import itertools
import logging
import os
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.core.signing import b62_decode, b62_encode
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.urls import reverse
from django.utils.encoding import iri_to_uri
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from tsunagu.messaging.models import EventKind, Message, MessageEvent

logger = logging.getLogger(__name__)

SOURCE = "tracking"
# A click or open this soon after the mail was sent is a gateway scanning it on delivery, not a person.
TOO_SOON_SECONDS = 10
FLUSH_INTERVAL = 1.0  # seconds between background writes
# ... or sooner, once this many events wait. Few, large writes disturb the request threads least (every
# write passes the GIL back and forth); up to 2,000 clicks a second this is one write a second.
FLUSH_AT = 2000
ROWS_PER_STATEMENT = 500
# Memory bound if the database stays unwritable: beyond this, the oldest waiting events are dropped (logged).
MAX_PENDING = 200_000

_KEY_SALT = b"tsunagu.messaging.tracking"
_SIGNATURE_BYTES = 16  # 128 bits
_SIGNATURE_CHARS = 22  # base64url of 16 bytes, unpadded
MAX_URL_LENGTH = 2000  # MessageEvent.url holds this much; longer links are left untracked

# --- machine traffic: the one list to maintain ------------------------------------------------------
#
# (match, pattern, label, kinds). `match` is "contains" (case-insensitive substring) or "exact" (the whole
# User-Agent, case-insensitive). `kinds` says whether a pattern flags clicks, opens or both: e.g. Outlook
# loads images as "Microsoft Office ... Outlook" when a person opens the mail (a real open), while a
# "Microsoft Office" client fetching a link is Office's link check, not a click.
# Sources: vendor documentation and published ESP field notes on security-gateway clicks and image
# proxies (Gmail's "via ggpht.com GoogleImageProxy", Yahoo's "YahooMailProxy", Apple MPP's bare
# "Mozilla/5.0" from Apple's proxy ranges). Microsoft Safe Links often sends no User-Agent or a generic
# Chrome one: the empty-agent and too-soon rules catch most of it.
CLICK = EventKind.CLICKED.value
OPEN = EventKind.OPENED.value
BOTH = frozenset({CLICK, OPEN})
CLICKS = frozenset({CLICK})
OPENS = frozenset({OPEN})

MACHINE_AGENTS: tuple[tuple[str, str, str, frozenset], ...] = (
    # Mail security gateways (scan every link, and often load images, on delivery).
    ("contains", "safelinks", "Microsoft Defender Safe Links", BOTH),
    ("contains", "microsoft office", "Microsoft Office link check", CLICKS),
    ("contains", "ms-office", "Microsoft Office link check", CLICKS),
    ("contains", "proofpoint", "Proofpoint", BOTH),
    ("contains", "urldefense", "Proofpoint URL Defense", BOTH),
    ("contains", "mimecast", "Mimecast", BOTH),
    ("contains", "barracuda", "Barracuda", BOTH),
    ("contains", "cudasvc", "Barracuda", BOTH),
    ("contains", "ironport", "Cisco Secure Email", BOTH),
    ("contains", "ciscosecureemail", "Cisco Secure Email", BOTH),
    ("contains", "trend micro", "Trend Micro", BOTH),
    ("contains", "trendmicro", "Trend Micro", BOTH),
    ("contains", "forcepoint", "Forcepoint", BOTH),
    ("contains", "symantec", "Symantec", BOTH),
    ("contains", "fortimail", "FortiMail", BOTH),
    ("contains", "sophos", "Sophos", BOTH),
    ("contains", "mcafee", "McAfee", BOTH),
    ("contains", "zscaler", "Zscaler", BOTH),
    ("contains", "vadesecure", "Vade", BOTH),
    # Image proxies and privacy prefetch (opens only: they load pixels whether or not anyone reads).
    ("contains", "googleimageproxy", "Google image proxy", OPENS),
    ("contains", "yahoomailproxy", "Yahoo Mail proxy", OPENS),
    ("exact", "mozilla/5.0", "Apple Mail Privacy Protection", OPENS),
    # A browser never sends a bare "Mozilla/5.0"; on a link it is a scanner.
    ("exact", "mozilla/5.0", "generic client", CLICKS),
    # Link previews, crawlers, headless browsers and HTTP libraries.
    ("contains", "headlesschrome", "headless browser", BOTH),
    ("contains", "phantomjs", "headless browser", BOTH),
    ("contains", "googlebot", "Googlebot", BOTH),
    ("contains", "google-safety", "Google Safe Browsing", BOTH),
    ("contains", "bingbot", "Bingbot", BOTH),
    ("contains", "bingpreview", "Bing preview", BOTH),
    ("contains", "applebot", "Applebot", BOTH),
    ("contains", "slackbot", "Slack link preview", BOTH),
    ("contains", "discordbot", "Discord link preview", BOTH),
    ("contains", "twitterbot", "X link preview", BOTH),
    ("contains", "facebookexternalhit", "Facebook link preview", BOTH),
    ("contains", "linkedinbot", "LinkedIn link preview", BOTH),
    ("contains", "telegrambot", "Telegram link preview", BOTH),
    ("contains", "whatsapp", "WhatsApp link preview", BOTH),
    ("contains", "skypeuripreview", "Skype link preview", BOTH),
    ("contains", "python-requests", "script", BOTH),
    ("contains", "python-urllib", "script", BOTH),
    ("contains", "aiohttp", "script", BOTH),
    ("contains", "go-http-client", "script", BOTH),
    ("contains", "okhttp", "script", BOTH),
    ("contains", "apache-httpclient", "script", BOTH),
    ("contains", "libwww-perl", "script", BOTH),
    ("contains", "curl/", "script", BOTH),
    ("contains", "wget/", "script", BOTH),
)

REASON_HEAD = "head"
REASON_NO_AGENT = "no_user_agent"
REASON_TOO_SOON = "too_soon"
REASON_AGENT_PREFIX = "agent:"


def _agent_rules(kind: str) -> tuple[tuple[tuple[str, str], ...], dict[str, str]]:
    contains = tuple((pattern, label) for match, pattern, label, kinds in MACHINE_AGENTS
                     if match == "contains" and kind in kinds)
    exact = {pattern: label for match, pattern, label, kinds in MACHINE_AGENTS if match == "exact" and kind in kinds}
    return contains, exact


_RULES = {CLICK: _agent_rules(CLICK), OPEN: _agent_rules(OPEN)}


def machine_reason(kind: str, *, method: str, user_agent: str, seconds_since_sent: float | None) -> str:
    """Why this open or click is probably not a person ("" when nothing says so)."""
    if method == "HEAD":
        return REASON_HEAD
    agent = user_agent.strip().lower()
    if not agent:
        return REASON_NO_AGENT
    contains, exact = _RULES[kind]
    label = exact.get(agent)
    if label is None:
        for pattern, candidate in contains:
            if pattern in agent:
                label = candidate
                break
    if label is not None:
        return REASON_AGENT_PREFIX + label
    if seconds_since_sent is not None and seconds_since_sent < TOO_SOON_SECONDS:
        return REASON_TOO_SOON
    return ""


def machine_agent_q(kind: str, field: str = "user_agent"):
    """The User-Agent rules as a database filter (for rows recorded elsewhere, e.g. relay clicks)."""
    contains, exact = _RULES[kind]
    query = Q(**{field: ""})
    for pattern, _label in contains:
        query |= Q(**{f"{field}__icontains": pattern})
    for pattern in exact:
        query |= Q(**{f"{field}__iexact": pattern})
    return query


def human_referral_clicks(clicks, *, sent_at=None):
    """Of these referral-link clicks (relay.Click, recorded by the /r/ landing page itself), those the rules
    above count as a person: no scanner User-Agent, and not within TOO_SOON_SECONDS of sending. `sent_at` is
    the sending time as an expression (the clicked message's own by default; OuterRef("sent_at") in a
    subquery about messages)."""
    sent_at = F("message__sent_at") if sent_at is None else sent_at
    not_too_soon = Q(message__sent_at__isnull=True) | Q(created_at__gte=sent_at + timedelta(seconds=TOO_SOON_SECONDS))
    return clicks.exclude(machine_agent_q(CLICK)).filter(not_too_soon)


def reason_label(reason: str) -> str:
    """The console's words for a machine_reason."""
    if not reason:
        return ""
    if reason == REASON_HEAD:
        return _("HEADリクエスト(リンクの存在確認)")
    if reason == REASON_NO_AGENT:
        return _("ブラウザ情報なし")
    if reason == REASON_TOO_SOON:
        return _("送信から%(seconds)d秒以内") % {"seconds": TOO_SOON_SECONDS}
    if reason.startswith(REASON_AGENT_PREFIX):
        return _("自動アクセス: %(name)s") % {"name": reason[len(REASON_AGENT_PREFIX):]}
    return reason


# --- tokens ---------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TrackedLink:
    message_id: int
    company_id: int
    sent: int  # unix seconds
    url: str = ""  # clicks only


def _derive(secret) -> bytes:
    if isinstance(secret, str):
        secret = secret.encode()
    return hashlib.sha256(_KEY_SALT + b"\x00" + secret).digest()


@lru_cache(maxsize=8)
def _keys_for(secret: str, fallbacks: tuple) -> tuple[bytes, ...]:
    return (_derive(secret), *(_derive(fallback) for fallback in fallbacks))


def _keys() -> tuple[bytes, ...]:
    # Cached per key material: deriving costs a hash, and tests may change the settings.
    return _keys_for(settings.SECRET_KEY, tuple(getattr(settings, "SECRET_KEY_FALLBACKS", ()) or ()))


def _signature(key: bytes, kind: bytes, value: str) -> str:
    digest = hmac.digest(key, kind + value.encode(), "sha256")[:_SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest)[:_SIGNATURE_CHARS].decode()


def _verified(kind: bytes, token: str) -> str | None:
    value, dot, signature = token.rpartition(".")
    if not dot or len(signature) != _SIGNATURE_CHARS:
        return None
    for key in _keys():
        if hmac.compare_digest(_signature(key, kind, value), signature):
            return value
    return None


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def _unb64(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


def _epoch(sent_at: datetime | None) -> int:
    return int((sent_at or datetime.now(UTC)).timestamp())


def click_token(url: str, *, message_id: int, company_id: int, sent_at: datetime | None = None) -> str:
    if not _is_http_url(url):
        raise ValueError("only http(s) URLs can be tracked")
    value = f"{b62_encode(message_id)}.{b62_encode(company_id)}.{b62_encode(_epoch(sent_at))}.{_b64(url)}"
    return f"{value}.{_signature(_keys()[0], b'c', value)}"


def open_token(*, message_id: int, company_id: int, sent_at: datetime | None = None) -> str:
    value = f"{b62_encode(message_id)}.{b62_encode(company_id)}.{b62_encode(_epoch(sent_at))}"
    return f"{value}.{_signature(_keys()[0], b'o', value)}"


def parse_click_token(token: str) -> TrackedLink | None:
    """The signed link, or None for anything this server did not sign (never a redirect then)."""
    value = _verified(b"c", token)
    if value is None:
        return None
    try:
        message, company, sent, url = value.split(".")
        link = TrackedLink(b62_decode(message), b62_decode(company), b62_decode(sent), _unb64(url))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return link if _is_http_url(link.url) else None


def parse_open_token(token: str) -> TrackedLink | None:
    value = _verified(b"o", token)
    if value is None:
        return None
    try:
        message, company, sent = value.split(".")
        return TrackedLink(b62_decode(message), b62_decode(company), b62_decode(sent))
    except ValueError:
        return None


def _is_http_url(url: str) -> bool:
    return url.startswith(("https://", "http://")) and len(url) <= MAX_URL_LENGTH and not any(
        ch in url for ch in "\r\n\t ")


def referral_path(message_id: int) -> str:
    """The path of a message's referral link (/r/<token>), which records its own clicks."""
    from tsunagu.lib.tokens import referral_token

    return reverse("relay:landing", args=[referral_token(message_id)])


# --- the HTML part --------------------------------------------------------------------------------

# Every <a ... href="http(s)://..."> (either quote), in one pass.
_HREF = re.compile(r"""(<a\s[^>]*?\bhref\s*=\s*)(["'])(https?://[^"'<>]+)\2""", re.IGNORECASE)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
# Links on our own site that record by themselves (the referral link /r/) or must stay exactly as they
# are (unsubscribe, RFC 8058), and tracked links themselves. Relative to TSUNAGU_BASE_URL; in addition, any
# link whose URL mentions "unsubscribe" is never rewritten.
UNTRACKED_PATHS = ("/r/", "/t/", "/u/", "/unsubscribe")


@lru_cache(maxsize=4)
def _link_prefixes(base_url: str) -> tuple[str, str, tuple[str, ...]]:
    click = base_url + reverse("track_click", args=["T"])[:-1]
    pixel = base_url + reverse("track_open", args=["T"])[: -len("T.gif")]
    return click, pixel, tuple(base_url + path for path in UNTRACKED_PATHS)


def tracked_html(html: str, *, message_id: int, company_id: int, sent_at: datetime | None = None) -> str:
    """Rewrite the http(s) links of a mail's HTML part to click redirects and add the open pixel.

    Not rewritten: the referral link (/r/, it records its own click), unsubscribe links, links already
    tracked, and URLs too long for a token. One regular-expression pass; the signing key is cached.
    """
    click_prefix, pixel_prefix, untracked = _link_prefixes(settings.BASE_URL)
    sent = _epoch(sent_at)
    head = f"{b62_encode(message_id)}.{b62_encode(company_id)}.{b62_encode(sent)}"
    key = _keys()[0]

    def rewrite(match: re.Match) -> str:
        raw = match.group(3)
        url = html_lib.unescape(raw) if "&" in raw else raw
        if url.startswith(untracked) or "unsubscribe" in url.lower() or not _is_http_url(url):
            return match.group(0)
        value = f"{head}.{_b64(url)}"
        quote = match.group(2)
        return f"{match.group(1)}{quote}{click_prefix}{value}.{_signature(key, b'c', value)}{quote}"

    html = _HREF.sub(rewrite, html)
    pixel = (f'<img src="{pixel_prefix}{head}.{_signature(key, b"o", head)}.gif" width="1" height="1" alt="" '
             'style="display:block;width:1px;height:1px;border:0;margin:0;padding:0">')
    ends = list(_BODY_END.finditer(html))
    if ends:
        at = ends[-1].start()
        return html[:at] + pixel + html[at:]
    return html + pixel


# --- the buffer -----------------------------------------------------------------------------------

# One event as the INSERT's parameters (see _INSERT_COLUMNS), built by the request thread so that writing
# a batch is a single executemany with no per-row Python work on the writer's side.
Row = tuple
_MESSAGE = 1  # the message id's position in a Row


class EventBuffer:
    """Events waiting to be written; a daemon thread writes them in bulk. See the module docstring."""

    def __init__(self, *, interval: float = FLUSH_INTERVAL, flush_at: int = FLUSH_AT, autostart: bool = True):
        self.interval = interval
        self.flush_at = flush_at
        self.autostart = autostart
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()  # one writer at a time (the thread, atexit, tests)
        self._pending: list[Row] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._known_messages: set[int] = set()  # ids seen to exist: a batch of known ids needs no read

    def add(self, row: Row) -> None:
        with self._lock:
            if not self._closed:
                self._pending.append(row)
                waiting = len(self._pending)
            else:
                waiting = -1
        if waiting < 0:  # after the final flush at shutdown: write it now rather than lose it
            self._write([row])
            return
        if self._thread is None and self.autostart:
            self._start()
        if waiting >= self.flush_at:
            self._wake.set()

    def pending(self) -> int:
        return len(self._pending)

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._closed:
                return
            self._thread = threading.Thread(target=self._run, name="tracking-flush", daemon=True)
            self._thread.start()
        atexit.register(self.close)

    def _run(self) -> None:
        try:
            while True:
                self._wake.wait(self.interval)
                self._wake.clear()
                if self._stop.is_set():
                    return  # close() writes the rest, in the thread that stops the process
                try:
                    self.flush()
                except Exception:  # noqa: BLE001 - kept for the next round; the thread must survive
                    logger.exception("writing tracking events failed; retrying in %.1f s", self.interval)
                    connection.close_if_unusable_or_obsolete()  # a broken connection is opened afresh
        finally:
            connection.close()

    def flush(self) -> int:
        """Write every waiting event now; returns how many were taken. On a database error the events are
        put back (to be retried) and the error is raised."""
        with self._flush_lock:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return 0
            try:
                self._write(batch)
            except Exception:
                with self._lock:
                    self._pending[:0] = batch
                    overflow = len(self._pending) - MAX_PENDING
                    if overflow > 0:
                        del self._pending[:overflow]
                        logger.error("tracking buffer full: dropped the %d oldest events", overflow)
                raise
            return len(batch)

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread and write what is left (atexit, i.e. a normal shutdown)."""
        thread = self._thread
        self._stop.set()
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._lock:
            self._closed = True
        try:
            self.flush()
        except Exception:  # noqa: BLE001 - at exit there is no later; say what was lost
            logger.exception("could not write %d tracking events at shutdown", self.pending())

    def _write(self, batch: list[Row]) -> None:
        """Multi-row INSERT ... ON CONFLICT DO NOTHING statements, a few hundred rows each.

        Raw SQL on a measured hot path (`python -m bench clicks`): bulk_create cost about 45 µs of Python per
        event (model instances, SQL compilation), taken under the GIL by this thread in bursts that showed
        up as tail latency of the web server's request threads; executemany still stepped (and passed the
        GIL back and forth) once per row. Now the requests build the rows and a flush is one statement per
        chunk: under load a click costs the server about the CPU of the bare /healthz view (about 590 µs
        each in one run), where with bulk_create it cost about 135 µs more. Plain SQL for SQLite (3.24+) and PostgreSQL; ON CONFLICT DO NOTHING skips an event written
        before (a retried batch: every event has a unique source id).
        """
        try:
            self._insert(self._existing(batch))
        except IntegrityError:
            # A message deleted after its id was seen: look every id up again, and retry once.
            self._known_messages.clear()
            self._insert(self._existing(batch))

    @staticmethod
    def _insert(rows: list[Row]) -> None:
        if not rows:
            return
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # One statement with one array per column: psycopg adapts a list in C, where a VALUES row per
                # event cost twice the CPU (measured: about 11 against 25-55 µs an event).
                cursor.execute(_unnest_insert_sql(), [list(column) for column in zip(*rows, strict=True)])
                return
            per = _rows_per_statement()
            for start in range(0, len(rows), per):
                chunk = rows[start:start + per]
                cursor.execute(_insert_sql(len(chunk)), [value for row in chunk for value in row])

    def _existing(self, batch: list[Row]) -> list[Row]:
        """The rows whose message still exists: a deleted message's links still verify, and its events are
        dropped. One indexed read for ids not seen before; none once a message's id is known."""
        known = self._known_messages
        unknown = list({row[_MESSAGE] for row in batch} - known)
        if not unknown:
            return batch
        if len(known) > 100_000:
            known.clear()
        for start in range(0, len(unknown), 900):
            known.update(Message.objects.filter(pk__in=unknown[start:start + 900]).values_list("pk", flat=True))
        return [row for row in batch if row[_MESSAGE] in known]


_INSERT_COLUMNS = ("company", "message", "kind", "occurred_at", "source", "source_event_id", "url", "user_agent",
                   "machine", "machine_reason")


def _rows_per_statement() -> int:
    # Django assumes SQLite's historical limit of 999 parameters a statement; the library in use reports
    # its own (32766 since SQLite 3.32). PostgreSQL takes 65535.
    limit = connection.features.max_query_params or 65535
    if connection.vendor == "sqlite" and hasattr(connection.connection, "getlimit"):
        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return max(1, min(ROWS_PER_STATEMENT, limit // len(_INSERT_COLUMNS)))


@lru_cache(maxsize=16)
def _insert_sql_for(vendor: str, table: str, columns: str, rows: int) -> str:
    values = "(" + ", ".join(["%s"] * len(_INSERT_COLUMNS)) + ", CURRENT_TIMESTAMP, '')"
    return f"INSERT INTO {table} ({columns}) VALUES {', '.join([values] * rows)} ON CONFLICT DO NOTHING"


def _insert_sql(rows: int) -> str:
    quote = connection.ops.quote_name
    field = MessageEvent._meta.get_field
    columns = ", ".join(quote(field(name).column) for name in (*_INSERT_COLUMNS, "recorded_at", "detail"))
    return _insert_sql_for(connection.vendor, quote(MessageEvent._meta.db_table), columns, rows)


def _unnest_insert_sql() -> str:
    """PostgreSQL: INSERT ... SELECT FROM unnest(one array per column), typed like the columns."""
    quote = connection.ops.quote_name
    fields = [MessageEvent._meta.get_field(name) for name in _INSERT_COLUMNS]
    columns = ", ".join(quote(field.column) for field in (*fields, *map(MessageEvent._meta.get_field,
                                                                        ("recorded_at", "detail"))))
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
    names = ", ".join(f"c{n}" for n in range(len(fields)))
    return (f"INSERT INTO {quote(MessageEvent._meta.db_table)} ({columns}) "
            f"SELECT {names}, CURRENT_TIMESTAMP, '' FROM unnest({arrays}) AS events({names}) "
            "ON CONFLICT DO NOTHING")


buffer = EventBuffer()

# Unique per event without a system call: a random per-process prefix and a counter (next() on
# itertools.count is atomic under the GIL). Lets a retried batch be de-duplicated by the database.
_process_id = secrets.token_hex(6)
_counter = itertools.count()


def _new_event_id() -> str:
    return f"{_process_id}-{next(_counter):x}"


def _after_fork_in_child() -> None:
    # A forked child (e.g. a queue worker process) must not inherit the parent's waiting events (the
    # parent writes them), its flush thread (gone in the child) or a lock held mid-append.
    global _process_id
    _process_id = secrets.token_hex(6)
    buffer._reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _db_time(moment: datetime):
    """A UTC datetime as the database column takes it: SQLite stores Django's naive UTC text (as
    connection.ops.adapt_datetimefield_value would make it), PostgreSQL takes the aware value."""
    if connection.vendor == "sqlite":
        return moment.replace(tzinfo=None).isoformat(" ")
    return moment


def event_row(kind: str, link: TrackedLink, *, occurred_at: datetime, user_agent: str, reason: str) -> Row:
    return (link.company_id, link.message_id, kind, _db_time(occurred_at), SOURCE, _new_event_id(),
            link.url[:MAX_URL_LENGTH], user_agent[:500], bool(reason), reason)


def record(kind: str, link: TrackedLink, *, method: str, user_agent: str) -> str:
    """Classify and buffer one open or click; returns its machine_reason ("" for a person)."""
    now = datetime.now(UTC)
    reason = machine_reason(kind, method=method, user_agent=user_agent,
                            seconds_since_sent=now.timestamp() - link.sent)
    buffer.add(event_row(kind, link, occurred_at=now, user_agent=user_agent, reason=reason))
    return reason


def flush() -> int:
    """Write the buffered events now (tests call this instead of waiting for the background thread)."""
    return buffer.flush()


# --- answering -----------------------------------------------------------------------------------
#
# What a tracked link or pixel answers, in one place for the Django views below and for fast_path(): no
# session, user, template or database work, just one HMAC check and one list append.

_NO_STORE = "private, no-store, no-cache, must-revalidate, max-age=0"
# The smallest transparent GIF: 1x1, one colour, transparent.
PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
PIXEL_HEADERS = (("Content-Type", "image/gif"), ("Cache-Control", _NO_STORE), ("Pragma", "no-cache"),
                 ("Expires", "0"))


def answer_click(token: str, *, method: str, user_agent: str) -> list[tuple[str, str]] | None:
    """Record the click and return the 302's headers; None (answer 404, never redirect) for a bad token.
    A HEAD (link checkers) gets the same headers and no body, as HTTP requires, and is flagged."""
    link = parse_click_token(token)
    if link is None:
        return None
    record(CLICK, link, method=method, user_agent=user_agent)
    return [("Location", iri_to_uri(link.url)), ("Cache-Control", _NO_STORE), ("Referrer-Policy", "no-referrer")]


def answer_pixel(token: str, *, method: str, user_agent: str) -> None:
    """Record the open. A pixel that does not verify (e.g. mail from before a key change without a
    fallback) is still answered with the image, so no mail shows a broken picture; it records nothing."""
    link = parse_open_token(token)
    if link is not None:
        record(OPEN, link, method=method, user_agent=user_agent)


@csrf_exempt
def click(request, token: str):
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    headers = answer_click(token, method=request.method, user_agent=request.META.get("HTTP_USER_AGENT", ""))
    if headers is None:
        raise Http404
    response = HttpResponse(status=302)
    for name, value in headers:
        response[name] = value
    return response


@csrf_exempt
def pixel(request, token: str):
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    answer_pixel(token, method=request.method, user_agent=request.META.get("HTTP_USER_AGENT", ""))
    response = HttpResponse(PIXEL_GIF)
    for name, value in PIXEL_HEADERS:
        response[name] = value
    return response


def fast_path(django_application):
    """WSGI middleware that answers valid tracked links and pixels before Django's middleware stack
    (sessions, locale, messages, CSRF, auth: none of which these answers use), as in tsunagu/wsgi.py:

        application = tracking.fast_path(get_wsgi_application())

    Measured with `python -m bench clicks` on 2 shared cores: through Django a redirect costs the server
    about 530-600 µs of CPU (the bare /healthz view about as much); through this path 180-225 µs, and the
    server answers 4,100 (SQLite) to 4,700 (PostgreSQL) redirects a second, 2.3-2.9 times the bare view's
    rate, with p99 9-11 ms (through Django: 73-90 % of the bare view, p99 17-20 ms). Everything else,
    including a token that does not verify (its 404 page) and other methods, goes to Django unchanged."""
    security = [("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY")]
    gif_length = ("Content-Length", str(len(PIXEL_GIF)))

    def application(environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "")
        if path.startswith("/t/") and method in ("GET", "HEAD"):
            agent = environ.get("HTTP_USER_AGENT", "")
            if path.startswith("/t/c/"):
                headers = answer_click(path[5:], method=method, user_agent=agent)
                if headers is not None:
                    start_response("302 Found", [*headers, ("Content-Length", "0"), *security])
                    return [b""]
            elif path.startswith("/t/o/") and path.endswith(".gif") and "/" not in path[5:]:
                answer_pixel(path[5:-4], method=method, user_agent=agent)
                start_response("200 OK", [*PIXEL_HEADERS, gif_length, *security])
                return [PIXEL_GIF]  # the server drops the body of a HEAD
        return django_application(environ, start_response)

    return application
