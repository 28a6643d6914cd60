"""HERP Hire's public API as Tsunagu reads it: the client, a candidacy's fields, the answers' shapes.

(The adapter, herp.py, turns what this reads into polled changes and application events.) What Tsunagu
knows about HERP Hire's API, in one place so it is easy to correct:

- API: `GET {base}/v1/candidacies` with `Authorization: Bearer <API key>`; base
  `https://public-api.herp.cloud/hire` (the API document lives at `/hire/public/doc`; the connection's
  `api_base_url` replaces the base, e.g. for tests). The key is issued by an admin in HERP Hire's menu
  (右上のメニュー → APIキー) on a paid plan.
- Limits: 100 requests per minute per tenant; every answer carries `x-remaining-request` (requests left
  in the window) and `x-reset-at` (when the window resets). 429 means over the limit.
- Paging: `page=1,2,…`, a fixed 100 candidacies per page (a `limit` parameter is ignored), the answer is
  `{"candidacies": [...], "hasNextPage": bool}`; `sort=appliedAt|stepUpdatedAt` and `direction=asc|desc`.
  There is no filter on the end of a selection (選考終了日時) or on `updatedAt`, so a poll sweeps every
  page (oldest application first, so new applications land on the last page and do not shift the others).
- A candidacy (list form): `id` (UUID), `name`, `email`, `telephoneNumber`, `status`
  (`active` | `terminated`; `hired` is accepted too), `requisitionId` (職種ID), `step` (選考ステップ:
  `entry`, `casualInterview`, `resumeScreening`, `firstInterview`, `secondInterview`, `thirdInterview`,
  `finalInterview`, `offered`, `offerAccepted`), `stepUpdatedAt`, `appliedAt`, `updatedAt`,
  `terminationReason` (選考終了理由: `rejected`, `refusedByCandidate`, `notEligible`, …) and
  `terminatedAt` (選考終了日時, minute precision), `channel.type` (`agent`, `jobmiru`, `media`, `manual`,
  `careerPage`). No kana field is known; `nameKana` is read if present. Many candidacies have no e-mail.
- Job titles: `GET {base}/v1/requisitions` → `{"requisitions": [{"id", "name" or "title"}], "hasNextPage"?}`.

These facts come from HERP's public API document (its introduction: key, limits, headers, status codes),
HERP's help article listing the fields of GET /v1/candidacies, and recorded real answers in public client
code. The requisitions answer shape and the full list of end reasons are assumptions.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tsunagu.lib import outbound

logger = logging.getLogger(__name__)

DEFAULT_API = "https://public-api.herp.cloud/hire"
CANDIDACIES_PATH = "/v1/candidacies"
REQUISITIONS_PATH = "/v1/requisitions"
# Oldest application first: a new application is added on the last page and moves nothing already swept.
CANDIDACY_ORDER = {"sort": "appliedAt", "direction": "asc"}

# The 選考ステップ codes, named as HR says them; the name is the application's stage as mail shows it.
STEP_NAMES = {
    "entry": "応募",
    "casualInterview": "カジュアル面談",
    "resumeScreening": "書類選考",
    "firstInterview": "一次面接",
    "secondInterview": "二次面接",
    "thirdInterview": "三次面接",
    "finalInterview": "最終面接",
    "offer": "内定",
    "offered": "内定",
    "offerAccepted": "内定承諾",
    "hired": "内定承諾",
}
HIRED_STEPS = {"offerAccepted", "hired"}
# 選考終了理由: only this one is the company's rejection; every other end is not ours to announce.
REJECTED_REASON = "rejected"
# How the other end reasons are recorded (the application's rejection_reason column, seen by HR only).
REASON_NAMES = {"refusedByCandidate": "辞退", "notEligible": "対象外", "rejected": ""}
# Channels through a recruitment agency: the agent tells the candidate, so Tsunagu does not.
AGENT_CHANNELS = {"agent", "jobmiru"}
# Kept from a candidacy in the stored delivery: what the event needs, not the notes and careers HERP holds.
KEPT_FIELDS = ("id", "name", "nameKana", "email", "telephoneNumber", "status", "requisitionId", "step",
               "stepUpdatedAt", "appliedAt", "updatedAt", "terminationReason", "terminatedAt")
# Added to the stored payload by the poller: the requisition's title, looked up once.
JOB_TITLE_KEY = "tsunaguJobTitle"


@dataclass(frozen=True)
class Candidacy:
    """One HERP candidacy as Tsunagu reads it (the only place that touches HERP's field names)."""

    raw: dict

    def _text(self, key: str) -> str:
        value = self.raw.get(key)
        return str(value).strip() if value is not None else ""

    @property
    def id(self) -> str:
        return self._text("id")

    @property
    def name(self) -> str:
        return self._text("name")

    @property
    def name_kana(self) -> str:
        return self._text("nameKana")

    @property
    def email(self) -> str:
        return self._text("email")

    @property
    def phone(self) -> str:
        return self._text("telephoneNumber")

    @property
    def requisition_id(self) -> str:
        return self._text("requisitionId")

    @property
    def step(self) -> str:
        return self._text("step")

    @property
    def stage_name(self) -> str:
        return STEP_NAMES.get(self.step, self.step)

    @property
    def termination_reason(self) -> str:
        return self._text("terminationReason")

    @property
    def reason_name(self) -> str:
        return REASON_NAMES.get(self.termination_reason, self.termination_reason)

    @property
    def channel_type(self) -> str:
        channel = self.raw.get("channel")
        return str(channel.get("type") or "") if isinstance(channel, dict) else ""

    @property
    def via_agent(self) -> bool:
        return self.channel_type in AGENT_CHANNELS

    @property
    def ended(self) -> bool:
        return self._text("status") == "terminated" or bool(self._text("terminatedAt"))

    @property
    def outcome(self) -> str:
        """Tsunagu's status for this candidacy: active, rejected, withdrawn or hired."""
        if self._text("status") == "hired":
            return "hired"
        if self.ended:
            return "rejected" if self.termination_reason == REJECTED_REASON else "withdrawn"
        if self.step in HIRED_STEPS:
            return "hired"
        return "active"

    @property
    def ended_stamp(self) -> str:
        """選考終了日時 as HERP wrote it: part of the end's event id (a new end is a new event)."""
        return self._text("terminatedAt") or self._text("updatedAt")

    @property
    def ended_at(self) -> datetime | None:
        return parse_time(self._text("terminatedAt")) or self.changed_at

    @property
    def changed_stamp(self) -> str:
        return self._text("updatedAt") or self._text("terminatedAt") or self._text("stepUpdatedAt")

    @property
    def changed_at(self) -> datetime | None:
        """When HERP last changed the candidacy (an end updates `updatedAt`, not `stepUpdatedAt`)."""
        if self._text("updatedAt"):
            return parse_time(self._text("updatedAt"))
        stamps = [parse_time(self._text(key)) for key in ("terminatedAt", "stepUpdatedAt", "appliedAt")]
        stamps = [stamp for stamp in stamps if stamp is not None]
        return max(stamps) if stamps else None

    def stored(self, job_title: str) -> dict:
        """The payload kept in the delivery log: the fields used, plus the looked-up job title."""
        kept = {key: self.raw[key] for key in KEPT_FIELDS if self.raw.get(key) not in (None, "")}
        if self.channel_type:
            kept["channel"] = {"type": self.channel_type}
        kept[JOB_TITLE_KEY] = job_title
        return kept


def parse_time(value: str) -> datetime | None:
    if not value:
        return None
    parsed = parse_datetime(value.replace("Z", "+00:00"))
    if parsed is None:
        return None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)


def read_page(data) -> tuple[list[Candidacy], bool]:
    if not isinstance(data, dict) or not isinstance(data.get("candidacies"), list):
        raise HerpApiError("HERP Hire API: unexpected answer (no candidacies list)")
    candidacies = [Candidacy(item) for item in data["candidacies"] if isinstance(item, dict) and item.get("id")]
    return candidacies, bool(data.get("hasNextPage"))


def read_requisitions(data) -> tuple[dict[str, str], bool]:
    if not isinstance(data, dict) or not isinstance(data.get("requisitions"), list):
        raise HerpApiError("HERP Hire API: unexpected answer (no requisitions list)")
    titles = {}
    for item in data["requisitions"]:
        if isinstance(item, dict) and item.get("id"):
            title = str(item.get("name") or item.get("title") or "").strip()
            if title:
                titles[str(item["id"])] = title
    return titles, bool(data.get("hasNextPage"))


# --- the API client ---------------------------------------------------------------------------------

class HerpApiError(RuntimeError):
    """HERP Hire's API could not be read this round (recorded on the connection; the next round retries)."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


class RateLimited(HerpApiError):
    """HTTP 429: stop this round and come back after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float):
        super().__init__(message, status=429)
        self.retry_after = retry_after


class OutOfBudget(Exception):
    """This round's share of the tenant's requests (or its time) is used up; the next round goes on."""


class HerpClient:
    """GETs against one connection's HERP tenant within a per-round budget of requests and seconds.

    The tenant's 100 requests a minute are shared with whatever else the company runs against HERP, so a
    round uses at most `max_requests` of them and stops early when HERP says fewer than `reserve` are left.
    """

    def __init__(self, connection, *, max_requests: int, seconds: float, reserve: int):
        self.base = connection.api_base_url or DEFAULT_API
        self.api_key = connection.api_key
        self.max_requests, self.reserve = max_requests, reserve
        self.deadline = time.monotonic() + seconds
        self.requests = 0
        self.remaining: int | None = None

    def can_request(self) -> bool:
        return (self.requests < self.max_requests and time.monotonic() < self.deadline
                and (self.remaining is None or self.remaining > self.reserve))

    def get(self, path: str, params: dict) -> dict:
        if not self.can_request():
            raise OutOfBudget
        self.requests += 1
        # Through the outbound guard (https, public addresses, bounded); the paths are Tsunagu's own constants.
        try:
            response = outbound.get(self.base, [segment for segment in path.split("/") if segment], query=params,
                                    headers={"Authorization": f"Bearer {self.api_key}",
                                             "Accept": "application/json"})
        except outbound.OutboundError as exc:
            raise HerpApiError(f"HERP Hire API {path}: {exc}") from exc
        self._note_remaining(response.headers)
        if response.status == 429:
            wait = retry_after_seconds(response.headers)
            raise RateLimited(f"HERP Hire API {path}: HTTP 429, retry after {wait:.0f} s", retry_after=wait)
        if not response.ok:
            logger.warning("HERP Hire API %s answered HTTP %s", path, response.status)
            raise HerpApiError(f"HERP Hire API {path}: HTTP {response.status}", status=response.status)
        try:
            return json.loads(response.body)
        except ValueError as exc:
            logger.warning("HERP Hire API %s: not JSON: %s", path, exc)
            raise HerpApiError(f"HERP Hire API {path}: {outbound.GENERIC_MESSAGE}") from exc

    def _note_remaining(self, headers) -> None:
        value = (headers or {}).get("x-remaining-request")
        if value is not None and str(value).strip().lstrip("-").isdigit():
            self.remaining = int(str(value).strip())


def retry_after_seconds(headers, default: float = 60.0, longest: float = 3600.0) -> float:
    """Retry-After (seconds or an HTTP date), else HERP's x-reset-at, else a minute; at most an hour."""
    headers = headers or {}
    value = str(headers.get("Retry-After") or "").strip()
    wait = None
    if value.isdigit():
        wait = float(value)
    elif value:
        try:
            wait = (parsedate_to_datetime(value) - timezone.now()).total_seconds()
        except (TypeError, ValueError):
            wait = None
    if wait is None:
        reset = parse_time(str(headers.get("x-reset-at") or "").strip())
        if reset is not None:
            wait = (reset - timezone.now()).total_seconds()
    if wait is None:
        wait = default
    return min(max(wait, 1.0), longest)
