"""Lever: the signature is in the body (HMAC-SHA256 of `token + str(triggeredAt)` with the webhook's
signature token). `candidateArchiveChange` carries only ids, so the worker reads the opportunity, its
archive reason and its posting from Lever's API (API key as the Basic-auth user). `candidateDeleted` names
the opportunity of a person deleted in Lever: they are erased in Tsunagu too (no API call)."""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from pydantic import StrictStr

from tsunagu.intake.adapters.base import (
    Adapter,
    BadPayload,
    Outcome,
    Parsed,
    Shape,
    Stamp,
    VendorUnavailable,
    hmac_sha256_hex,
    known_ids,
    load_json,
    parse_time,
    signatures_match,
    text_field,
    validated,
)
from tsunagu.intake.events import IncomingApplicationEvent, IncomingErasure
from tsunagu.lib import outbound
from tsunagu.talent.data import CandidateData, JobData

logger = logging.getLogger(__name__)

DEFAULT_API = "https://api.lever.co"
# Lever retries a failed delivery for a while with the original triggeredAt; older ones are refused
# (replays of an old, captured request). Repeats inside the window are caught by the token.
MAX_AGE_SECONDS = 24 * 3600
ARCHIVE_CHANGE = "candidateArchiveChange"
# A candidate deleted in Lever is erased in Tsunagu: the event names the opportunity (Tsunagu's application),
# as Lever's other candidate events do.
DELETE_ACTION = "candidateDeleted"


# The fields events() reads from the body, as Lever documents them: another shape is refused (400).
class _Archived(Shape):
    reason: StrictStr
    archivedAt: Stamp = None  # noqa: N815 - Lever's field names


class _Data(Shape):
    opportunityId: StrictStr | None = None  # noqa: N815
    toArchived: _Archived | None = None  # noqa: N815


class _Body(Shape):
    data: _Data | None = None


class LeverApiError(VendorUnavailable):
    """Lever's API could not be read; the delivery is retried."""


class Lever(Adapter):
    kind = "lever"
    label = "Lever"
    position = 20
    secret_help = "Lever: the webhook's signature token"
    api_key_help = "Lever: API key used to read opportunities"
    default_api_url = DEFAULT_API
    sends_own_rejection_mail = True

    def check_credentials(self, *, secret, api_key):
        super().check_credentials(secret=secret, api_key=api_key)
        if not api_key:
            raise ValidationError({"api_key": _("Lever には API キーが必要です(アーカイブ理由と候補者情報の取得に使います)。")})

    def verify(self, connection, headers, body):
        try:
            payload = load_json(body)  # the signature is in the body: one that cannot be read is not signed
        except BadPayload:
            return False
        if not isinstance(payload, dict):
            return False
        token, triggered_at, signature = payload.get("token"), payload.get("triggeredAt"), payload.get("signature")
        if not isinstance(token, str) or not token or not isinstance(signature, str):
            return False
        # Epoch milliseconds, compared as integers (a huge number would overflow a float).
        if (not isinstance(triggered_at, int) or isinstance(triggered_at, bool)
                or abs(int(time.time() * 1000) - triggered_at) > MAX_AGE_SECONDS * 1000):
            return False
        expected = hmac_sha256_hex(connection.secret, f"{token}{triggered_at}".encode())
        return signatures_match(expected, signature)

    def parse(self, connection, headers, payload, body):
        action, event_id = text_field(payload, "event"), text_field(payload, "token")
        if action not in (ARCHIVE_CHANGE, DELETE_ACTION):
            return Parsed(event_id=event_id, action=action, relevant=False)
        data = validated(_Body, payload, "body").data or _Data()
        opportunity_id = known_ids([data.opportunityId], "data.opportunityId")
        ignored = f"{DELETE_ACTION} naming no opportunity: nothing erased" if action == DELETE_ACTION else ""
        return Parsed(event_id=event_id, action=action, relevant=bool(opportunity_id),
                      application_id=opportunity_id[0] if opportunity_id else "",
                      ignored="" if opportunity_id else ignored)

    def events(self, connection, payload):
        data = payload["data"]
        if payload.get("event") == DELETE_ACTION:
            return Outcome(erasures=[IncomingErasure(application_ids=known_ids([data.get("opportunityId")],
                                                                               "data.opportunityId"))])
        opportunity_id = data["opportunityId"]
        opportunity = self._get(connection, ["v1", "opportunities", opportunity_id],
                                expand=["stage", "applications"])
        emails = opportunity.get("emails") or []
        if not emails:
            return Outcome(ignored="no e-mail address")
        archived = data.get("toArchived")
        status, reason_text = "active", ""
        if archived:
            reason = self._get(connection, ["v1", "archive_reasons", archived["reason"]])
            if reason.get("type") == "hired":
                status = "hired"
            else:
                status, reason_text = "rejected", reason.get("text", "")
        stage = opportunity.get("stage")
        job_title, job_id = "Lever", ""
        applications = opportunity.get("applications") or []
        posting_id = applications[0].get("posting") if applications and isinstance(applications[0], dict) else None
        if posting_id:
            job_title = self._get(connection, ["v1", "postings", posting_id]).get("text") or job_title
            job_id = str(posting_id)
        phones = [p.get("value") for p in opportunity.get("phones") or [] if p.get("value")]
        return Outcome(events=[IncomingApplicationEvent(
            external_id=str(opportunity_id),
            candidate=CandidateData(name=opportunity.get("name") or emails[0], email=emails[0],
                                    phone=phones[0] if phones else ""),
            job=JobData(title=job_title, external_id=job_id),
            status=status,
            stage=stage.get("text", "") if isinstance(stage, dict) else "",
            rejection_reason=reason_text,
            occurred_at=parse_time((archived or {}).get("archivedAt") or payload.get("triggeredAt")),
            source=self.kind,
        )])

    def _get(self, connection, segments: list, expand: list[str] | None = None) -> dict:
        """One resource of Lever's API, through the outbound guard: ids from the webhook body are quoted as
        whole path segments. Whatever fails, HR reads one message that tells nothing of the network."""
        segments = [str(segment) for segment in segments]
        credentials = base64.b64encode(f"{connection.api_key}:".encode()).decode()
        try:
            response = outbound.get(connection.api_base_url or DEFAULT_API, segments,
                                    query=[("expand", e) for e in expand or []],
                                    headers={"Authorization": f"Basic {credentials}", "Accept": "application/json"})
            if not response.ok:
                raise outbound.OutboundError(f"HTTP {response.status}")
            data = json.loads(response.body)
        except (outbound.OutboundError, ValueError) as exc:
            logger.warning("Lever API %s (connection %s): %s", "/".join(segments), connection.pk,
                           getattr(exc, "detail", exc))
            raise LeverApiError(f"Lever API: {outbound.GENERIC_MESSAGE}") from exc
        data = data.get("data") if isinstance(data, dict) else None
        return data if isinstance(data, dict) else {}

    def sample(self, connection):
        token, triggered_at = f"tsunagu-test-{uuid.uuid4()}", int(time.time() * 1000)
        payload = {"event": "ping", "token": token, "triggeredAt": triggered_at, "data": {},
                   "signature": hmac_sha256_hex(connection.secret, f"{token}{triggered_at}".encode())}
        return {"Content-Type": "application/json"}, json.dumps(payload).encode(), payload


ADAPTER = Lever()
