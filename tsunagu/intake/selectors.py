"""Reads of intake's tables that more than one caller needs."""

from __future__ import annotations

import threading
import time

from tsunagu.intake.adapters import pushed_kinds
from tsunagu.intake.models import AtsConnection, WebhookDelivery

CONNECTION_CACHE_SECONDS = 5.0

_CONNECTIONS: dict[tuple[str, str], tuple[float, AtsConnection | None]] = {}
_CONNECTIONS_LOCK = threading.Lock()


def webhook_connection(kind: str, token: str) -> AtsConnection | None:
    """The active webhook connection a URL names, or None. Remembered for a few seconds per web process:
    an ATS posts in bursts, and building this query was a large share of a webhook request's CPU.
    A connection switched off stops receiving within CONNECTION_CACHE_SECONDS."""
    now = time.monotonic()
    cached = _CONNECTIONS.get((kind, token))
    if cached is not None and cached[0] > now:
        return cached[1]
    connection = (AtsConnection.objects.filter(kind=kind, token=token, active=True, kind__in=pushed_kinds())
                  .select_related("company").first())
    with _CONNECTIONS_LOCK:
        if len(_CONNECTIONS) > 10_000:  # unknown tokens from a scanner must not grow it without bound
            _CONNECTIONS.clear()
        _CONNECTIONS[(kind, token)] = (now + CONNECTION_CACHE_SECONDS, connection)
    return connection


def forget_cached_connections() -> None:
    _CONNECTIONS.clear()


def stored_event_ids(connection: AtsConnection, event_ids: list[str]) -> set[str]:
    """Which of these event ids the connection's delivery log already holds."""
    return set(WebhookDelivery.objects.filter(connection=connection, event_id__in=event_ids)
               .values_list("event_id", flat=True))
