"""Recording opens and clicks without making the candidate wait.

A request (messaging/views/tracking.py) calls record(), which classifies the open or click
(tracking/rules.py) and appends the event, already in the shape of an INSERT's parameters, to an in-process
buffer (a list under a lock); the request answers at once. A background thread writes the buffer every
FLUSH_INTERVAL seconds, or as soon as FLUSH_AT events are waiting, with multi-row INSERT statements (raw SQL,
measured: see EventBuffer._write), and the buffer is flushed at interpreter exit (atexit), so a normal
shutdown of `tsunagu serve` / `tsunagu web` (SIGTERM: waitress finishes the requests in flight, then the
interpreter exits) loses nothing. After that final flush, an event is written at once.

Why not the queue: handing events to Huey would write each batch twice (into the queue, then into our
table) and make a worker do what one INSERT does; the queue is for durable intent (mail to send), and an
open or a click is a statistic. The trade-off: if the process is killed hard (SIGKILL, OOM, power loss),
the events of the last second (at most FLUSH_AT; more only if the database was unwritable for a while,
up to MAX_PENDING) are lost; the candidate's redirect never is. Each event carries a unique source id and
the insert ignores duplicates, so a batch that is retried after a failed flush (database briefly locked or
restarting) is never counted twice.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import secrets
import sqlite3
import threading
from datetime import UTC, datetime
from functools import lru_cache

from django.db import IntegrityError, connection, transaction

from tsunagu.messaging.models import Message, MessageEvent
from tsunagu.messaging.tracking.rules import machine_reason
from tsunagu.messaging.tracking.tokens import MAX_URL_LENGTH, TrackedLink

logger = logging.getLogger(__name__)

SOURCE = "tracking"  # MessageEvent.source of the events recorded here
FLUSH_INTERVAL = 1.0  # seconds between background writes
# ... or sooner, once this many events wait. Few, large writes disturb the request threads least (every
# write passes the GIL back and forth); up to 2,000 clicks a second this is one write a second.
FLUSH_AT = 2000
ROWS_PER_STATEMENT = 500
# Memory bound if the database stays unwritable: beyond this, the oldest waiting events are dropped (logged).
MAX_PENDING = 200_000

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
