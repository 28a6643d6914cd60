"""Actions for ATSs that cannot push their changes (e.g. HERP Hire): the scheduler polls them.

A round, for one connection: claim the connection (a short lease, so the scheduler and the console's
"poll now" never work on it at once), let the ATS's adapter read the vendor's changes page by page within
its budget (base.PolledAdapter.start_round), store each page's changes as queued deliveries (the same log
and the same worker processing as a webhook: deliveries.process_delivery) and then the cursor the adapter
hands back, so the next round resumes after the last stored page. At the end: when the round ended, what
went wrong in it (the adapter's text for HR), and when the vendor asked us to come back (HTTP 429).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from tsunagu.intake import selectors
from tsunagu.intake.actions.deliveries import request_processing
from tsunagu.intake.adapters import pulled_kinds
from tsunagu.intake.adapters.base import Change, PollError, RateLimited
from tsunagu.intake.models import AtsConnection, DeliveryStatus, WebhookDelivery
from tsunagu.lib import queue

logger = logging.getLogger(__name__)

# How often each connection is polled (seconds); `TSUNAGU_POLL_INTERVAL` in the settings overrides it.
POLL_INTERVAL = 60
# Held while a round runs; a poller that died mid-round frees the connection when it runs out.
LEASE = timedelta(minutes=2)
# Connections polled per scheduler tick (the rest are due on the next ticks).
MAX_PER_TICK = 20
POLL_TASK = "tsunagu.intake.tasks.poll_connection_task"


def poll_interval() -> timedelta:
    return timedelta(seconds=getattr(settings, "TSUNAGU_POLL_INTERVAL", POLL_INTERVAL))


@dataclass
class PollResult:
    requests: int = 0
    pages: int = 0
    queued: int = 0
    swept: bool = False
    error: str = ""
    deliveries: list[int] = field(default_factory=list)


def poll_key(connection_id: int) -> str:
    return f"tsunagu:poll:{connection_id}"


def poll_due_connections(*, now: datetime | None = None) -> int:
    """The scheduler's tick: ask a worker to poll each polling connection that is due (one waiting task per
    connection however often this runs; the round itself claims a lease, so two never overlap). A round
    can take seconds of HTTP: in a worker it never holds up the scheduler's other jobs, and many tenants
    are polled in parallel. Returns how many rounds were requested."""
    now = now or timezone.now()
    due = list(
        AtsConnection.objects.filter(kind__in=pulled_kinds(), active=True)
        .filter(Q(last_polled_at__isnull=True) | Q(last_polled_at__lte=now - poll_interval()))
        .filter(Q(poll_not_before__isnull=True) | Q(poll_not_before__lte=now))
        .filter(Q(poll_lease_until__isnull=True) | Q(poll_lease_until__lte=now))
        .order_by(F("last_polled_at").asc(nulls_first=True), "pk")
        .values_list("pk", flat=True)[:MAX_PER_TICK]
    )
    requested = 0
    for connection_id in due:
        if queue.request_once(poll_key(connection_id), POLL_TASK, connection_id):
            requested += 1
    return requested


def request_poll(connection: AtsConnection) -> bool:
    """The console's "poll now": queue a round at once, unless the vendor asked us to wait (429)."""
    if connection.poll_not_before and connection.poll_not_before > timezone.now():
        return False
    queue.enqueue_on_commit(POLL_TASK, connection.pk)
    return True


def poll_connection(connection_id: int) -> PollResult | None:
    """One round for one connection; None when another poller holds it or the vendor asked us to wait."""
    now = timezone.now()
    claimed = (
        AtsConnection.objects.filter(pk=connection_id, kind__in=pulled_kinds(), active=True)
        .filter(Q(poll_lease_until__isnull=True) | Q(poll_lease_until__lte=now))
        .filter(Q(poll_not_before__isnull=True) | Q(poll_not_before__lte=now))
        .update(poll_lease_until=now + LEASE)
    )
    if not claimed:
        return None
    connection = AtsConnection.objects.select_related("company").get(pk=connection_id)
    result = PollResult()
    not_before = None
    try:
        _round(connection, result)
    except RateLimited as exc:
        not_before = timezone.now() + timedelta(seconds=exc.retry_after)
        result.error = str(exc)
    except PollError as exc:
        result.error = str(exc)
    except Exception as exc:  # noqa: BLE001 - recorded for HR and logged; the next round tries again
        logger.exception("polling ATS connection %s failed", connection_id)
        result.error = f"{type(exc).__name__}: {exc}"
    if result.error:
        logger.warning("polling ATS connection %s: %s", connection_id, result.error)
    AtsConnection.objects.filter(pk=connection_id).update(
        last_polled_at=timezone.now(), last_poll_error=result.error[:2000], poll_not_before=not_before,
        poll_lease_until=None,
    )
    return result


def _round(connection: AtsConnection, result: PollResult) -> None:
    poll = connection.adapter.start_round(
        connection, already_stored=partial(selectors.stored_event_ids, connection))
    try:
        for page in poll.pages():
            result.deliveries += _store_changes(connection, page.changes)
            result.pages += 1
            result.swept = page.swept
            AtsConnection.objects.filter(pk=connection.pk).update(poll_cursor=page.cursor)
    finally:
        result.requests = poll.requests
        result.queued = len(result.deliveries)


def _store_changes(connection: AtsConnection, changes: list[Change]) -> list[int]:
    """Store one page's changes as queued deliveries; returns their ids."""
    stored = []
    for change in changes:
        delivery = WebhookDelivery(
            connection=connection, event_id=change.event_id[:200], action=change.action[:100],
            application_external_id=change.application_id[:200], status=DeliveryStatus.QUEUED,
            payload=change.payload,
        )
        try:
            with transaction.atomic():
                delivery.save()
        except IntegrityError:
            continue  # another poller stored the same change a moment ago
        stored.append(delivery.pk)
    if stored:
        transaction.on_commit(request_processing)
    return stored
