"""The long-running parts: web server, queue worker and scheduler, alone or together."""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections

from tsunagu.analytics.actions.monthly_summary import send_monthly_summaries
from tsunagu.analytics.actions.rollup import refresh_all as refresh_dashboards
from tsunagu.companies.actions import schedule_access_log_purge
from tsunagu.intake.actions.deliveries import sweep_deliveries
from tsunagu.intake.actions.polling import poll_due_connections
from tsunagu.messaging.actions.alerts import alert_failures
from tsunagu.messaging.actions.campaigns import plan_due_campaigns
from tsunagu.messaging.actions.delivery import sweep_outbox
from tsunagu.messaging.actions.followups import plan_due_follow_ups
from tsunagu.privacy.actions.retention import purge_past_retention

logger = logging.getLogger("tsunagu")


def parse_bind(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"--bind expects HOST:PORT, got {value!r}")
    return host.strip("[]"), int(port)


def run_web(host: str, port: int, threads: int = 8) -> None:
    import waitress

    # Imported here: building the WSGI application is the web process's business, not the worker's.
    from tsunagu.wsgi import application

    # Behind trusted proxies (TSUNAGU_TRUSTED_PROXIES) Django reads X-Forwarded-For and -Proto itself
    # (lib/client_ip.py, SECURE_PROXY_SSL_HEADER); waitress would otherwise drop them. Without, it drops them.
    proxied = {"clear_untrusted_proxy_headers": False} if settings.TSUNAGU_TRUSTED_PROXIES else {}
    waitress.serve(application, host=host, port=port, threads=threads, ident="tsunagu", _quiet=True, **proxied)


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


def scheduler_jobs() -> list[tuple[str, object, float]]:
    """What the scheduler runs: (name, function, how often in seconds; 0 = every tick). Each reads our
    own tables, so a job missed during an outage simply finds more to do when the system is back."""
    return [
        ("outbox sweep", sweep_outbox, 0),
        ("webhook delivery sweep", sweep_deliveries, 0),
        ("ATS polling", poll_due_connections, 0),
        ("failure alerts", alert_failures, 60),
        ("follow-ups", plan_due_follow_ups, 60),
        ("campaigns", plan_due_campaigns, 0),
        ("retention", purge_past_retention, 3600),
        ("dashboard counts", refresh_dashboards, 300),
        ("monthly summaries", send_monthly_summaries, 3600),
        ("access log purge", schedule_access_log_purge, 24 * 60 * 60),
    ]


def scheduler_loop(stop: threading.Event, interval: float | None = None) -> None:
    """Run the scheduler's jobs on a short interval: every due row is handed to the queue, whatever the
    queue lost; ATSs without webhooks (HERP Hire) are polled, each when its interval is up."""
    interval = interval or settings.TSUNAGU_SCHEDULER_INTERVAL
    jobs = scheduler_jobs()
    last_run: dict[str, float] = {}
    while not stop.is_set():
        for name, job, every in jobs:
            now = time.monotonic()
            if every and now - last_run.get(name, -every) < every:
                continue
            last_run[name] = now
            try:
                job()
            except Exception:  # noqa: BLE001 - one failing job (a database hiccup) must not stop the others
                logger.exception("scheduler job %r failed; retrying", name)
        close_old_connections()
        stop.wait(interval)
