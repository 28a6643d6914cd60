"""Actions for ATSs that cannot push their changes (HERP Hire): the scheduler polls them.

A round, for one connection: claim the connection (a short lease, so the scheduler and the console's
"poll now" never work on it at once), page through the vendor's candidacies within the round's request
budget, store each relevant change as a delivery (the same log and the same worker processing as a
webhook: `webhooks.process_delivery`), and move the cursor. The cursor is a resumable sweep: the page to
read next, when the sweep started, and `since`, the time from which changes are considered new.

What counts as a change on a page:
- a selection that ended (選考終了) at or after the connection was made, and was updated since `since`:
  one delivery per end, with the event id `herp:<candidacy id>:<選考終了日時>:<選考終了理由>`;
- a candidacy Tsunagu knows whose state now differs from Tsunagu's (active again, or hired): one
  delivery, `herp:<id>:<state>:<updatedAt>` — this is what cancels a pending notice.
A change seen twice has the same event id: the delivery's unique key and the application event's
de-duplication make the repeat a no-op, so windows may overlap freely. `since` trails by a whole sweep
plus OVERLAP: a candidacy that a page shift hid from one sweep (or that HERP stamped a little early) is
still seen by the next, and ends that share one timestamp are all seen because the test is `>=`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from tsunagu.intake import webhooks
from tsunagu.intake.adapters import herp
from tsunagu.intake.models import AtsConnection, DeliveryStatus, WebhookDelivery
from tsunagu.intake.webhooks import POLLING_KINDS
from tsunagu.talent.models import Application, Job

logger = logging.getLogger(__name__)

# How often each connection is polled (seconds); `TSUNAGU_POLL_INTERVAL` in the settings overrides it.
POLL_INTERVAL = 60
# A round's share of the tenant's 100 requests a minute, and its time in the scheduler thread.
REQUESTS_PER_ROUND = 20
ROUND_SECONDS = 15
# Stop early when HERP says fewer requests than this are left in its window (x-remaining-request).
RESERVE_REQUESTS = 20
# Held while a round runs; a poller that died mid-round frees the connection when it runs out.
LEASE = timedelta(minutes=2)
# How far back of a sweep's start changes are looked at again (clock skew, minute-precision end times).
OVERLAP = timedelta(minutes=5)
# Connections polled per scheduler tick (the rest are due on the next ticks).
MAX_PER_TICK = 20


def poll_interval() -> timedelta:
    return timedelta(seconds=getattr(settings, "TSUNAGU_POLL_INTERVAL", POLL_INTERVAL))


@dataclass
class Cursor:
    since: datetime
    page: int = 1
    sweep: datetime | None = None      # when the sweep in progress started
    previous: datetime | None = None   # when the last complete sweep started

    @classmethod
    def load(cls, connection: AtsConnection) -> Cursor:
        cursor = cls(since=connection.created_at - OVERLAP)
        try:
            data = json.loads(connection.poll_cursor) if connection.poll_cursor else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            return cursor
        stamps = {key: _stamp(data.get(key)) for key in ("since", "sweep", "previous")}
        cursor.since = stamps["since"] or cursor.since
        cursor.sweep, cursor.previous = stamps["sweep"], stamps["previous"]
        if cursor.sweep is not None and isinstance(data.get("page"), int) and data["page"] > 0:
            cursor.page = data["page"]
        return cursor

    def dumps(self) -> str:
        data = {"since": self.since.isoformat(), "page": self.page}
        if self.sweep:
            data["sweep"] = self.sweep.isoformat()
        if self.previous:
            data["previous"] = self.previous.isoformat()
        return json.dumps(data, separators=(",", ":"))

    def start_sweep(self) -> None:
        if self.sweep is None:
            self.sweep, self.page = timezone.now(), 1

    def finish_sweep(self) -> None:
        # Changes are new from the start of the sweep before this one on: a whole sweep of overlap.
        if self.previous is not None:
            self.since = max(self.since, self.previous - OVERLAP)
        self.previous, self.sweep, self.page = self.sweep, None, 1


def _stamp(value) -> datetime | None:
    parsed = parse_datetime(value) if isinstance(value, str) else None
    return parsed if parsed is not None and timezone.is_aware(parsed) else None


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
        AtsConnection.objects.filter(kind__in=POLLING_KINDS, active=True)
        .filter(Q(last_polled_at__isnull=True) | Q(last_polled_at__lte=now - poll_interval()))
        .filter(Q(poll_not_before__isnull=True) | Q(poll_not_before__lte=now))
        .filter(Q(poll_lease_until__isnull=True) | Q(poll_lease_until__lte=now))
        .order_by(F("last_polled_at").asc(nulls_first=True), "pk")
        .values_list("pk", flat=True)[:MAX_PER_TICK]
    )
    from tsunagu.lib.queue import request_once

    requested = 0
    for connection_id in due:
        if request_once(poll_key(connection_id), "tsunagu.intake.tasks.poll_connection_task", connection_id):
            requested += 1
    return requested


def request_poll(connection: AtsConnection) -> bool:
    """The console's "poll now": queue a round at once, unless the vendor asked us to wait (429)."""
    if connection.poll_not_before and connection.poll_not_before > timezone.now():
        return False
    from tsunagu.intake.tasks import poll_connection_task

    transaction.on_commit(lambda: poll_connection_task(connection.pk))
    return True


def poll_connection(connection_id: int) -> PollResult | None:
    """One round for one connection; None when another poller holds it or the vendor asked us to wait."""
    now = timezone.now()
    claimed = (
        AtsConnection.objects.filter(pk=connection_id, kind__in=POLLING_KINDS, active=True)
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
    except herp.RateLimited as exc:
        not_before = timezone.now() + timedelta(seconds=exc.retry_after)
        result.error = _("HERP Hire の利用上限(テナントごとに1分100リクエスト)に達しました。%(seconds)d 秒後に再開します。") % {
            "seconds": round(exc.retry_after)}
    except herp.HerpApiError as exc:
        result.error = _describe(exc)
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


def _describe(exc: herp.HerpApiError) -> str:
    if exc.status == 401:
        return _("HERP Hire が API キーを受け付けませんでした(HTTP 401)。キーを確認してください。")
    if exc.status == 403:
        return _("この API キーには必要な権限がありません(HTTP 403)。応募と職種を読めるキーを使ってください。")
    return _("HERP Hire の API を読めませんでした: %(error)s") % {"error": exc}


def _round(connection: AtsConnection, result: PollResult) -> None:
    cursor = Cursor.load(connection)
    cursor.start_sweep()
    client = herp.HerpClient(connection, max_requests=REQUESTS_PER_ROUND, seconds=ROUND_SECONDS,
                             reserve=RESERVE_REQUESTS)
    titles = JobTitles(connection, client)
    try:
        while client.can_request():
            try:
                candidacies, has_next = herp.read_page(
                    client.get(herp.CANDIDACIES_PATH, {**herp.CANDIDACY_ORDER, "page": cursor.page}))
                result.deliveries += _store_changes(connection, candidacies, cursor.since, titles)
            except herp.OutOfBudget:
                break  # the page is read again next round; what it already stored is de-duplicated
            result.pages += 1
            if has_next:
                cursor.page += 1
            else:
                cursor.finish_sweep()
                result.swept = True
            AtsConnection.objects.filter(pk=connection.pk).update(poll_cursor=cursor.dumps())
            if result.swept:
                break
    finally:
        result.requests = client.requests
        result.queued = len(result.deliveries)


def _store_changes(connection: AtsConnection, candidacies: list[herp.Candidacy], since: datetime,
                   titles: JobTitles) -> list[int]:
    """Store one page's relevant changes as queued deliveries; returns their ids."""
    floor = connection.created_at - OVERLAP  # ended before the connection was made: history, not news
    known = dict(Application.objects.filter(company=connection.company,
                                            external_id__in=[c.id for c in candidacies])
                 .values_list("external_id", "status"))
    changes: dict[str, tuple[str, herp.Candidacy]] = {}
    for candidacy in candidacies:
        status = candidacy.outcome
        if status in ("rejected", "withdrawn"):
            ended_at, changed_at = candidacy.ended_at, candidacy.changed_at
            if ended_at is None or ended_at < floor or (changed_at is not None and changed_at < since):
                continue
            # The reason is part of the id: HR correcting 不採用 to 辞退 is a new fact (it cancels the notice).
            reason = candidacy.termination_reason or "-"
            event_id = f"herp:{candidacy.id}:{candidacy.ended_stamp}:{reason}"
            action = f"terminated/{reason}"
        else:
            current = known.get(candidacy.id)
            if current is None or current == status:
                continue
            event_id = f"herp:{candidacy.id}:{status}:{candidacy.changed_stamp}"
            action = "reactivated" if status == "active" else status
        changes[event_id[:200]] = (action, candidacy)
    if not changes:
        return []
    seen = set(WebhookDelivery.objects.filter(connection=connection, event_id__in=list(changes))
               .values_list("event_id", flat=True))
    new = {event_id: change for event_id, change in changes.items() if event_id not in seen}
    if not new:
        return []
    job_titles = titles.lookup({candidacy.requisition_id for _action, candidacy in new.values()})
    stored = []
    for event_id, (action, candidacy) in new.items():
        delivery = WebhookDelivery(
            connection=connection, event_id=event_id, action=action[:100],
            application_external_id=candidacy.id[:200], status=DeliveryStatus.QUEUED,
            payload=candidacy.stored(job_titles.get(candidacy.requisition_id, "")),
        )
        try:
            with transaction.atomic():
                delivery.save()
        except IntegrityError:
            continue  # another poller stored the same change a moment ago
        stored.append(delivery.pk)
    if stored:
        transaction.on_commit(webhooks.request_processing)
    return stored


class JobTitles:
    """Requisition id -> job title: the jobs Tsunagu already has, else HERP's requisitions (read once a
    round, and only when a change needs a title Tsunagu does not have)."""

    def __init__(self, connection: AtsConnection, client: herp.HerpClient):
        self.connection, self.client = connection, client
        self.titles: dict[str, str] = {}
        self.fetched = False

    def lookup(self, requisition_ids: set[str]) -> dict[str, str]:
        wanted = {rid for rid in requisition_ids if rid}
        missing = wanted - self.titles.keys()
        if missing:
            self.titles.update(
                Job.objects.filter(company=self.connection.company, external_id__in=missing)
                .exclude(title__in=["", herp.FALLBACK_JOB_TITLE]).values_list("external_id", "title"))
            if (wanted - self.titles.keys()) and not self.fetched:
                self._fetch()
        return {rid: self.titles.get(rid, "") for rid in wanted}

    def _fetch(self) -> None:
        page, has_next, fetched = 1, True, {}
        while has_next:
            chunk, has_next = herp.read_requisitions(self.client.get(herp.REQUISITIONS_PATH, {"page": page}))
            if not chunk.keys() - fetched.keys():
                break  # an empty page, or the same one again: the list is complete
            fetched.update(chunk)
            page += 1
        self.titles.update(fetched)
        self.fetched = True
