"""The long-running parts: web server, queue worker and scheduler, alone or together."""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger("tsunagu")


def parse_bind(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"--bind expects HOST:PORT, got {value!r}")
    return host.strip("[]"), int(port)


def run_web(host: str, port: int, threads: int = 8) -> None:
    import waitress

    from tsunagu.wsgi import application

    waitress.serve(application, host=host, port=port, threads=threads, ident="tsunagu", _quiet=True)


def create_consumer(workers: int | None = None):
    from django.db import connections
    from huey.contrib.djhuey import HUEY

    options = dict(settings.TSUNAGU_WORKER_OPTIONS)
    if workers:
        options["workers"] = workers
    # Worker processes are forked: they must not inherit this process's database connections.
    connections.close_all()
    # Periodic work is the scheduler's; workers only execute tasks.
    return HUEY.create_consumer(periodic=False, **options)


def scheduler_loop(stop: threading.Event, interval: float | None = None) -> None:
    """Sweep the outbox on a short interval: every due row is handed to the queue, whatever the queue lost.
    ATSs without webhooks (HERP Hire) are polled from here too, each when its interval is up."""
    from tsunagu.intake.polling import poll_due_connections
    from tsunagu.intake.webhooks import sweep_deliveries
    from tsunagu.messaging.actions import sweep_outbox

    interval = interval or settings.TSUNAGU_SCHEDULER_INTERVAL
    while not stop.is_set():
        try:
            sweep_outbox()
            sweep_deliveries()
        except Exception:  # noqa: BLE001 - the loop must survive a database hiccup
            logger.exception("scheduler sweep failed; retrying")
        try:
            poll_due_connections()
        except Exception:  # noqa: BLE001 - a polling failure must not stop the outbox sweeps
            logger.exception("ATS polling failed; retrying")
        finally:
            close_old_connections()
        stop.wait(interval)
