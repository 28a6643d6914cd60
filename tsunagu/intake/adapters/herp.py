"""HERP Hire: no webhooks, so Tsunagu polls its public API (read by herp_api.py). This module is the
vendor's part of a polling round; the loop around it (lease, stored deliveries, cursor, errors and back-off)
is intake.actions.polling, the same for every polled ATS.

A round, for one connection: page through the candidacies within the round's request budget, and hand
back each page's relevant changes (each becomes a delivery: the same log and the same worker processing as
a webhook) with the cursor to keep. The cursor is a resumable sweep: the page to read next, when the sweep
started, and `since`, the time from which changes are considered new.

What counts as a change on a page:
- a selection that ended (選考終了) at or after the connection was made, and was updated since `since`:
  one delivery per end, with the event id `herp:<candidacy id>:<選考終了日時>:<選考終了理由>`;
- a candidacy Tsunagu knows whose state now differs from Tsunagu's (active again, or hired): one
  delivery, `herp:<id>:<state>:<updatedAt>` — this is what cancels a pending notice.
A change seen twice has the same event id: the delivery's unique key and the application event's
de-duplication make the repeat a no-op, so windows may overlap freely. `since` trails by a whole sweep
plus OVERLAP: a candidacy that a page shift hid from one sweep (or that HERP stamped a little early) is
still seen by the next, and ends that share one timestamp are all seen because the test is `>=`.

How a candidacy becomes an application event (`outcome`): ended with reason `rejected` → rejected (a
notice); ended for any other reason (辞退 `refusedByCandidate`, 対象外 `notEligible`, unknown) →
withdrawn (no notice); `hired` status or an accepted offer → hired; otherwise active. Candidates who came
through a recruitment agency (`agent`, `jobmiru`) hear from their agent, so they are recorded without a
notice, and so is one whose job title cannot be found.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tsunagu.intake.adapters import herp_api
from tsunagu.intake.adapters.base import (
    Change,
    Outcome,
    PolledAdapter,
    PolledPage,
    PollError,
    PollRound,
    RateLimited,
    StoredEventIds,
)
from tsunagu.intake.adapters.herp_api import JOB_TITLE_KEY, Candidacy, HerpClient
from tsunagu.intake.events import IncomingApplicationEvent
from tsunagu.talent.data import CandidateData, JobData
from tsunagu.talent.models import Application, Job
from tsunagu.talent.stages import Stage

# A round's share of the tenant's 100 requests a minute, and its time.
REQUESTS_PER_ROUND = 20
ROUND_SECONDS = 15
# Stop early when HERP says fewer requests than this are left in its window (x-remaining-request).
RESERVE_REQUESTS = 20
# How far back of a sweep's start changes are looked at again (clock skew, minute-precision end times).
OVERLAP = timedelta(minutes=5)

# A new HERP connection starts with every step mapped explicitly (editable on the connection page).
DEFAULT_STAGE_MAPPING = {
    "応募": Stage.APPLIED.value,
    "カジュアル面談": Stage.APPLIED.value,
    "書類選考": Stage.DOCUMENT_SCREENING.value,
    "一次面接": Stage.FIRST_INTERVIEW.value,
    "二次面接": Stage.SECOND_INTERVIEW.value,
    "三次面接": Stage.SECOND_INTERVIEW.value,
    "最終面接": Stage.FINAL_INTERVIEW.value,
    "内定": Stage.OFFER.value,
    "内定承諾": Stage.OFFER.value,
}
# The job of a candidacy whose requisition title is unknown (recorded without a notice).
FALLBACK_JOB_TITLE = "HERP Hire"


@dataclass
class Cursor:
    since: datetime
    page: int = 1
    sweep: datetime | None = None      # when the sweep in progress started
    previous: datetime | None = None   # when the last complete sweep started

    @classmethod
    def load(cls, connection) -> Cursor:
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


class JobTitles:
    """Requisition id -> job title: the jobs Tsunagu already has, else HERP's requisitions (read once a
    round, and only when a change needs a title Tsunagu does not have)."""

    def __init__(self, connection, client: HerpClient):
        self.connection, self.client = connection, client
        self.titles: dict[str, str] = {}
        self.fetched = False

    def lookup(self, requisition_ids: set[str]) -> dict[str, str]:
        wanted = {rid for rid in requisition_ids if rid}
        missing = wanted - self.titles.keys()
        if missing:
            self.titles.update(
                Job.objects.filter(company=self.connection.company, external_id__in=missing)
                .exclude(title__in=["", FALLBACK_JOB_TITLE]).values_list("external_id", "title"))
            if (wanted - self.titles.keys()) and not self.fetched:
                self._fetch()
        return {rid: self.titles.get(rid, "") for rid in wanted}

    def _fetch(self) -> None:
        page, has_next, fetched = 1, True, {}
        while has_next:
            chunk, has_next = herp_api.read_requisitions(
                self.client.get(herp_api.REQUISITIONS_PATH, {"page": page}))
            if not chunk.keys() - fetched.keys():
                break  # an empty page, or the same one again: the list is complete
            fetched.update(chunk)
            page += 1
        self.titles.update(fetched)
        self.fetched = True


class HerpRound(PollRound):
    """One round against one connection's HERP tenant, from where its cursor stands."""

    def __init__(self, connection, already_stored: StoredEventIds):
        self.connection, self.already_stored = connection, already_stored
        self.cursor = Cursor.load(connection)
        self.cursor.start_sweep()
        self.client = HerpClient(connection, max_requests=REQUESTS_PER_ROUND, seconds=ROUND_SECONDS,
                                 reserve=RESERVE_REQUESTS)
        self.titles = JobTitles(connection, self.client)

    @property
    def requests(self) -> int:
        return self.client.requests

    def pages(self) -> Iterator[PolledPage]:
        try:
            yield from self._pages()
        except herp_api.RateLimited as exc:
            raise RateLimited(
                _("HERP Hire の利用上限(テナントごとに1分100リクエスト)に達しました。%(seconds)d 秒後に再開します。") % {
                    "seconds": round(exc.retry_after)}, retry_after=exc.retry_after) from exc
        except herp_api.HerpApiError as exc:
            raise PollError(_describe(exc)) from exc

    def _pages(self) -> Iterator[PolledPage]:
        cursor = self.cursor
        while self.client.can_request():
            try:
                candidacies, has_next = herp_api.read_page(self.client.get(
                    herp_api.CANDIDACIES_PATH, {**herp_api.CANDIDACY_ORDER, "page": cursor.page}))
                changes = self._changes(candidacies)
            except herp_api.OutOfBudget:
                return  # the page is read again next round; what it already stored is de-duplicated
            if has_next:
                cursor.page += 1
            else:
                cursor.finish_sweep()
            yield PolledPage(changes, cursor.dumps(), swept=not has_next)
            if not has_next:
                return

    def _changes(self, candidacies: list[Candidacy]) -> list[Change]:
        """One page's relevant changes that the delivery log does not hold yet."""
        connection, since = self.connection, self.cursor.since
        floor = connection.created_at - OVERLAP  # ended before the connection was made: history, not news
        known = dict(Application.objects.filter(company=connection.company,
                                                external_id__in=[c.id for c in candidacies])
                     .values_list("external_id", "status"))
        found: dict[str, tuple[str, Candidacy]] = {}
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
            found[event_id[:200]] = (action, candidacy)  # the delivery log's event id holds 200 characters
        if not found:
            return []
        stored = self.already_stored(list(found))
        new = {event_id: change for event_id, change in found.items() if event_id not in stored}
        if not new:
            return []
        job_titles = self.titles.lookup({candidacy.requisition_id for _action, candidacy in new.values()})
        return [Change(event_id=event_id, action=action, application_id=candidacy.id,
                       payload=candidacy.stored(job_titles.get(candidacy.requisition_id, "")))
                for event_id, (action, candidacy) in new.items()]


def _describe(exc: herp_api.HerpApiError) -> str:
    if exc.status == 401:
        return _("HERP Hire が API キーを受け付けませんでした(HTTP 401)。キーを確認してください。")
    if exc.status == 403:
        return _("この API キーには必要な権限がありません(HTTP 403)。応募と職種を読めるキーを使ってください。")
    # Anything else (refused, unreachable, timed out, no such host, a 5xx, not JSON) reads the same, so the
    # recorded error cannot map a network; the details are in the server's log.
    return _("HERP Hire の API を読めませんでした。API のベース URL をご確認ください(次回の取得で再試行します)。")


class Herp(PolledAdapter):
    kind = "herp"
    label = "HERP Hire"
    position = 60
    api_key_help = "herp: the HERP Hire API key"
    default_api_url = herp_api.DEFAULT_API
    default_stage_mapping = DEFAULT_STAGE_MAPPING
    # HERP Hire can send a rejection mail when a selection is ended; HR should leave that to Tsunagu.
    sends_own_rejection_mail = True
    paused_message = gettext_lazy("HERP Hire の利用上限に達したため、%(time)s まで取得を控えています。")

    def check_credentials(self, *, secret, api_key):
        if not api_key.strip():
            raise ValidationError({"api_key": _("HERP Hire には API キーが必要です(応募の一覧の取得に使います)。")})

    def start_round(self, connection, *, already_stored):
        return HerpRound(connection, already_stored)

    def events(self, connection, payload) -> Outcome:
        """Runs in the worker for a delivery the poller stored (a candidacy that changed)."""
        candidacy = Candidacy(payload)
        if not candidacy.email:
            return Outcome(ignored="no e-mail address")
        status = candidacy.outcome
        job_title = str(payload.get(JOB_TITLE_KEY) or "").strip()
        ended = status in ("rejected", "withdrawn")
        occurred_at = (candidacy.ended_at if ended else candidacy.changed_at) or timezone.now()
        return Outcome(events=[IncomingApplicationEvent(
            external_id=candidacy.id,
            candidate=CandidateData(name=candidacy.name or candidacy.email, email=candidacy.email,
                                    name_kana=candidacy.name_kana, phone=candidacy.phone),
            job=JobData(title=job_title or FALLBACK_JOB_TITLE, external_id=candidacy.requisition_id),
            status=status,
            stage=candidacy.stage_name,
            rejection_reason=candidacy.reason_name if ended else "",
            occurred_at=occurred_at,
            source=self.kind,
            notify=bool(job_title) and not candidacy.via_agent,
        )])


ADAPTER = Herp()
