"""Local SMTP servers (aiosmtpd) that accept everything on 127.0.0.1 and deliver nothing.

- RecordingSink notes when each recipient's mail arrived (time.monotonic, comparable with the clock of
  the process it runs in), for the latency benchmark; it can keep each recipient's latest mail too, for
  the registrations benchmark, whose clients (in the load process) read their verification links in it.
- CountingSink runs in a process of its own and only counts, for the throughput benchmark: the
  baseline and the worker then pay exactly the same for the server side, and the sink does not
  compete for the GIL with whatever it is measuring.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from dataclasses import dataclass

from aiosmtpd.controller import Controller

from bench.harness import HOST, BenchError, free_port

# A fixed name spares aiosmtpd a reverse DNS lookup of this host at start-up.
SERVER_HOSTNAME = "bench-sink.localhost"


# --- in-process: arrival time per recipient --------------------------------------------------------

class _RecordingHandler:
    def __init__(self, keep_messages: bool) -> None:
        self.arrivals: dict[str, float] = {}
        self.messages: dict[str, bytes] | None = {} if keep_messages else None
        self.changed = threading.Condition()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        arrived = time.monotonic()
        with self.changed:
            for recipient in envelope.rcpt_tos:
                self.arrivals[recipient.lower()] = arrived
                if self.messages is not None:
                    self.messages[recipient.lower()] = envelope.original_content or envelope.content
            self.changed.notify_all()
        return "250 OK"


class RecordingSink:
    """`with RecordingSink() as sink:` ... `sink.wait_for("c1@example.jp", timeout=10)` -> arrival time.

    `port`: one chosen beforehand (the server under test must know it before the sink starts, e.g. when the
    sink runs in the load process); `keep_messages`: keep each recipient's latest mail for `message()`.
    """

    def __init__(self, *, port: int | None = None, keep_messages: bool = False) -> None:
        self.port = port or free_port()
        self._handler = _RecordingHandler(keep_messages)
        self._controller = Controller(self._handler, hostname=HOST, port=self.port, server_hostname=SERVER_HOSTNAME)

    def __enter__(self) -> RecordingSink:
        self._controller.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://{HOST}:{self.port}"

    def wait_for(self, recipient: str, *, timeout: float) -> float | None:
        """The time.monotonic() at which mail for `recipient` arrived, or None if it did not within `timeout`."""
        recipient = recipient.lower()
        with self._handler.changed:
            self._handler.changed.wait_for(lambda: recipient in self._handler.arrivals, timeout=timeout)
            return self._handler.arrivals.get(recipient)

    def message(self, recipient: str) -> bytes | None:
        """The latest mail for `recipient` as it arrived (with keep_messages), or None."""
        with self._handler.changed:
            return (self._handler.messages or {}).get(recipient.lower())


# --- separate process: counting only ----------------------------------------------------------------

@dataclass(frozen=True)
class SinkStats:
    mails: int
    distinct_recipients: int
    first_arrival: float | None  # time.time() in the sink process: comparable across processes
    last_arrival: float | None


class _CountingHandler:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.mails = 0
            self.recipients: set[str] = set()
            self.first_arrival: float | None = None
            self.last_arrival: float | None = None

    def snapshot(self) -> SinkStats:
        with self._lock:
            return SinkStats(self.mails, len(self.recipients), self.first_arrival, self.last_arrival)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        arrived = time.time()
        with self._lock:
            self.mails += 1
            self.recipients.update(recipient.lower() for recipient in envelope.rcpt_tos)
            if self.first_arrival is None:
                self.first_arrival = arrived
            self.last_arrival = arrived
        return "250 OK"


def _serve_counting_sink(port: int, control) -> None:
    """Entry point of the sink process: serve SMTP, answer "stats" / "reset" / "stop" on the control pipe."""
    handler = _CountingHandler()
    controller = Controller(handler, hostname=HOST, port=port, server_hostname=SERVER_HOSTNAME)
    controller.start()
    control.send("ready")
    try:
        while True:
            command = control.recv()
            if command == "stats":
                control.send(handler.snapshot())
            elif command == "reset":
                handler.reset()
                control.send("ok")
            elif command == "stop":
                break
    except EOFError:  # the benchmark process went away
        pass
    finally:
        controller.stop()


class CountingSink:
    """`with CountingSink() as sink:` ... `sink.stats()`, `sink.reset()`; the server runs in a child process."""

    def __init__(self) -> None:
        self.port = free_port()
        # spawn, not fork: the child must not inherit the benchmark's threads or sockets.
        context = multiprocessing.get_context("spawn")
        self._control, child_end = context.Pipe()
        self._process = context.Process(target=_serve_counting_sink, args=(self.port, child_end),
                                        name="bench-smtp-sink", daemon=True)

    def __enter__(self) -> CountingSink:
        self._process.start()
        self._expect("ready", timeout=30)
        return self

    def __exit__(self, *exc_info) -> None:
        if self._process.is_alive():
            try:
                self._control.send("stop")
            except OSError:
                pass
            self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=5)

    @property
    def url(self) -> str:
        return f"smtp://{HOST}:{self.port}"

    def stats(self) -> SinkStats:
        self._control.send("stats")
        return self._expect(SinkStats, timeout=10)

    def reset(self) -> None:
        self._control.send("reset")
        self._expect("ok", timeout=10)

    def _expect(self, expected, *, timeout: float):
        try:
            if not self._control.poll(timeout):
                raise BenchError(f"the SMTP sink process did not answer within {timeout:.0f} s")
            answer = self._control.recv()
        except EOFError as exc:
            raise BenchError(f"the SMTP sink process exited (exit code {self._process.exitcode})") from exc
        if (isinstance(expected, type) and not isinstance(answer, expected)) or (
            not isinstance(expected, type) and answer != expected
        ):
            raise BenchError(f"unexpected answer from the SMTP sink process: {answer!r}")
        return answer
