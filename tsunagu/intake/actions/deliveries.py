"""Webhook deliveries: received fast (verify, de-duplicate, one insert), processed in the worker.

Polled changes (intake.actions.polling) are stored as deliveries too, and processed the same way.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from tsunagu.intake.actions.erasures import erase_deleted_people
from tsunagu.intake.actions.events import ERASED_OUTCOME, record_application_event
from tsunagu.intake.actions.job_events import record_jobs
from tsunagu.intake.adapters.base import BadPayload, VendorUnavailable, load_json
from tsunagu.intake.models import AtsConnection, DeliveryStatus, WebhookDelivery
from tsunagu.lib import queue
from tsunagu.lib.db import serialized_writes, yield_to_requests
from tsunagu.talent.stages import Stage

logger = logging.getLogger(__name__)

PROCESSING_WAKE_KEY = "tsunagu.intake.processing-requested"
PROCESSING_BATCH = 100
# One processing task works this long at most, then queues its successor.
PROCESSING_TASK_SECONDS = 30.0
RETRY_DELAY_SECONDS = 60
# A delivery left "processing" this long (worker died, retries exhausted) is queued again by the sweep.
PROCESSING_LEASE = timedelta(minutes=5)


@dataclass
class Receipt:
    status_code: int
    detail: str
    delivery: WebhookDelivery | None = None


def receive_delivery(connection: AtsConnection, headers, body: bytes) -> Receipt:
    """The webhook request's whole job: verify, de-duplicate, one insert, wake a worker for the rest."""
    adapter = connection.adapter
    if not adapter.verify(connection, headers, body):
        # Nothing of an unverified request is stored: a log line and a counter HR sees.
        logger.warning("webhook %s/%s: signature check failed", connection.kind, connection.pk)
        AtsConnection.objects.filter(pk=connection.pk).update(refused_signatures=F("refused_signatures") + 1,
                                                              last_refused_at=timezone.now())
        return Receipt(401, "invalid signature")
    try:
        payload = load_json(body)  # within limits (depth, numbers, text): a 400, never a server error
        if not isinstance(payload, dict):
            raise BadPayload("malformed JSON: not a JSON object")
        parsed = adapter.parse(connection, headers, payload, body)
    except ValueError as exc:  # BadPayload, or a value an adapter could not read
        return Receipt(400, str(exc))
    delivery = WebhookDelivery(
        connection=connection, event_id=parsed.event_id[:200], action=parsed.action[:100],
        application_external_id=parsed.application_id[:200],
        payload=payload if parsed.relevant else {},
        status=DeliveryStatus.QUEUED if parsed.relevant else DeliveryStatus.IGNORED,
        outcome="" if parsed.relevant else (parsed.ignored or _("対象外のイベント")),
    )
    try:
        with serialized_writes(), transaction.atomic():
            delivery.save()
    except IntegrityError:
        return Receipt(200, "duplicate delivery: already received")
    if parsed.relevant:
        transaction.on_commit(request_processing)
    return Receipt(200, "queued" if parsed.relevant else "ignored", delivery)


def send_test_event(connection: AtsConnection) -> Receipt:
    """The console's "send a test event": a correctly signed harmless delivery through the real check."""
    headers, body, _payload = connection.adapter.sample(connection)
    return receive_delivery(connection, headers, body)


class RetryLater(Exception):
    """Processing hit a passing problem (e.g. the vendor's API is down): the task is retried."""


def request_processing() -> None:
    """Make sure a worker will process the queued deliveries (one waiting task covers a whole burst)."""
    queue.request_once(PROCESSING_WAKE_KEY, "tsunagu.intake.tasks.process_queued_deliveries_task")


def process_queued_deliveries(*, batch_size: int = PROCESSING_BATCH,
                              max_seconds: float = PROCESSING_TASK_SECONDS) -> int:
    """The worker's task: process queued deliveries oldest first until none is left (or max_seconds
    have passed; then a fresh task continues). A delivery whose vendor API is down is handed to a
    retrying task of its own. Returns how many were processed."""
    deadline = time.monotonic() + max_seconds
    processed = 0
    while True:
        queued = list(WebhookDelivery.objects.filter(status=DeliveryStatus.QUEUED)
                      .order_by("pk").values_list("pk", flat=True)[:batch_size])
        if len(queued) == batch_size:
            request_processing()  # more is waiting: another worker may join in
        for delivery_id in queued:
            yield_to_requests()
            try:
                process_delivery(delivery_id)
            except RetryLater:
                queue.enqueue("tsunagu.intake.tasks.process_delivery_task", delivery_id,
                              delay=RETRY_DELAY_SECONDS)
            processed += 1
        if len(queued) < batch_size:
            return processed
        if time.monotonic() >= deadline:
            request_processing()
            return processed


def process_delivery(delivery_id: int, *, retry: bool = False) -> WebhookDelivery:
    """Turn a delivery into application events and apply them (the worker's part). The delivery is
    claimed first, so two workers never process it at once; a retry takes it over from its earlier try."""
    claimable = [DeliveryStatus.QUEUED, DeliveryStatus.PROCESSING] if retry else [DeliveryStatus.QUEUED]
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, status__in=claimable).update(
        status=DeliveryStatus.PROCESSING, claimed_at=timezone.now())
    delivery = WebhookDelivery.objects.select_related("connection__company").get(pk=delivery_id)
    if not claimed:
        return delivery
    connection = delivery.connection
    try:
        outcome = connection.adapter.events(connection, delivery.payload)
    except VendorUnavailable as exc:
        # Stays "processing" (no other worker takes it) while its retries run; the sweep gives it back
        # to the queue if they all fail or are lost.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(outcome=str(exc)[:300])
        raise RetryLater(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - a payload we cannot read is recorded for HR, not retried forever
        logger.exception("webhook delivery %s could not be processed", delivery.pk)
        return _finish(delivery, DeliveryStatus.FAILED, f"{type(exc).__name__}: {exc}")
    if outcome.erasures:  # the ATS deleted a person: erased here too, and the delivery keeps no payload
        erased, text = erase_deleted_people(connection, outcome.erasures, delivery)
        return _finish(delivery, DeliveryStatus.PROCESSED if erased else DeliveryStatus.IGNORED, text)
    if outcome.jobs:  # a job event: the job is stored; nothing is mailed because it opened
        return _finish(delivery, DeliveryStatus.PROCESSED, record_jobs(connection.company, outcome.jobs))
    if not outcome.events:
        return _finish(delivery, DeliveryStatus.IGNORED, outcome.ignored)
    results = []
    message = None
    for event in outcome.events:
        result = record_application_event(connection.company, _mapped(connection, event, delivery))
        results.append(result.outcome or "recorded")
        message = result.application.messages.filter(kind="rejection").first() or message
    if results and all(result == ERASED_OUTCOME for result in results):
        # About a person whose data was erased: what the ATS sent of them is not kept either.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(payload={})
    return _finish(delivery, DeliveryStatus.PROCESSED, "; ".join(results), message)


def _mapped(connection: AtsConnection, event, delivery: WebhookDelivery):
    stage_code = connection.stage_mapping.get(event.stage)
    reason = connection.reason_mapping.get(event.rejection_reason, event.rejection_reason)
    event_id = delivery.event_id or f"delivery-{delivery.pk}"
    return replace(event, rejection_reason=reason, event_id=event_id,
                   stage_code=Stage(stage_code) if stage_code is not None else None)


def _finish(delivery, status, outcome, message=None) -> WebhookDelivery:
    delivery.status, delivery.outcome, delivery.message = status, (outcome or "")[:300], message
    delivery.processed_at = timezone.now()
    delivery.save(update_fields=["status", "outcome", "message", "processed_at"])
    return delivery


def sweep_deliveries(*, queued_for: timedelta = timedelta(minutes=1),
                     lease: timedelta = PROCESSING_LEASE) -> int:
    """The scheduler's tick for webhooks: a verified delivery is stored before a worker is woken, so
    one left waiting (the wake-up was lost with a restarted queue) or left "processing" past the lease
    (its worker died, its retries ran out) is queued again and a worker woken. Processing twice is
    harmless: the delivery's event id makes the second a duplicate. Returns how many were waiting."""
    now = timezone.now()
    WebhookDelivery.objects.filter(status=DeliveryStatus.PROCESSING, claimed_at__lt=now - lease).update(
        status=DeliveryStatus.QUEUED)
    waiting = WebhookDelivery.objects.filter(status=DeliveryStatus.QUEUED, received_at__lt=now - queued_for).count()
    if waiting:
        request_processing()
    return waiting


def forget_payloads(company, application_external_ids: list[str]) -> int:
    """Empty the stored payloads of the company's deliveries about these applications (the person was erased):
    the delivery's id, action and outcome stay, for the record of what arrived. Rows changed."""
    if not application_external_ids:
        return 0
    return WebhookDelivery.objects.filter(connection__company=company,
                                          application_external_id__in=application_external_ids).update(payload={})
