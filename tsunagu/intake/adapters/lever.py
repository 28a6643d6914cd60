"""Lever: the signature is in the body (HMAC-SHA256 of `token + str(triggeredAt)` with the webhook's
signature token). `candidateArchiveChange` carries only ids, so the worker reads the opportunity, its
archive reason and its posting from Lever's API (API key as the Basic-auth user)."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from tsunagu.intake.adapters.base import (
    Adapter,
    Outcome,
    Parsed,
    VendorUnavailable,
    hmac_sha256_hex,
    parse_time,
    signatures_match,
)
from tsunagu.intake.events import IncomingApplicationEvent
from tsunagu.talent.data import CandidateData, JobData

DEFAULT_API = "https://api.lever.co"
# Lever retries a failed delivery for a while with the original triggeredAt; older ones are refused
# (replays of an old, captured request). Repeats inside the window are caught by the token.
MAX_AGE_SECONDS = 24 * 3600


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
            payload = json.loads(body)
            token, triggered_at, signature = payload["token"], payload["triggeredAt"], payload["signature"]
        except (ValueError, KeyError, TypeError):
            return False
        if not isinstance(triggered_at, int) or abs(time.time() - triggered_at / 1000) > MAX_AGE_SECONDS:
            return False
        expected = hmac_sha256_hex(connection.secret, f"{token}{triggered_at}".encode())
        return signatures_match(expected, str(signature))

    def parse(self, connection, headers, payload, body):
        action = str(payload.get("event", ""))
        data = payload.get("data") or {}
        return Parsed(event_id=str(payload.get("token", "")), action=action,
                      relevant=action == "candidateArchiveChange" and bool(data.get("opportunityId")),
                      application_id=str(data.get("opportunityId", "")))

    def events(self, connection, payload):
        data = payload["data"]
        opportunity_id = data["opportunityId"]
        opportunity = self._get(connection, f"/v1/opportunities/{opportunity_id}", expand=["stage", "applications"])
        emails = opportunity.get("emails") or []
        if not emails:
            return Outcome(ignored="no e-mail address")
        archived = data.get("toArchived")
        status, reason_text = "active", ""
        if archived:
            reason = self._get(connection, f"/v1/archive_reasons/{archived['reason']}")
            if reason.get("type") == "hired":
                status = "hired"
            else:
                status, reason_text = "rejected", reason.get("text", "")
        stage = opportunity.get("stage")
        job_title, job_id = "Lever", ""
        applications = opportunity.get("applications") or []
        posting_id = applications[0].get("posting") if applications and isinstance(applications[0], dict) else None
        if posting_id:
            job_title = self._get(connection, f"/v1/postings/{posting_id}").get("text") or job_title
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

    def _get(self, connection, path: str, expand: list[str] | None = None) -> dict:
        base = (connection.api_base_url or DEFAULT_API).rstrip("/")
        query = urllib.parse.urlencode([("expand", e) for e in expand or []])
        request = urllib.request.Request(base + path + (f"?{query}" if query else ""))
        credentials = base64.b64encode(f"{connection.api_key}:".encode()).decode()
        request.add_header("Authorization", f"Basic {credentials}")
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return json.load(response).get("data") or {}
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise LeverApiError(f"Lever API {path}: {exc}") from exc

    def sample(self, connection):
        token, triggered_at = f"tsunagu-test-{uuid.uuid4()}", int(time.time() * 1000)
        payload = {"event": "ping", "token": token, "triggeredAt": triggered_at, "data": {},
                   "signature": hmac_sha256_hex(connection.secret, f"{token}{triggered_at}".encode())}
        return {"Content-Type": "application/json"}, json.dumps(payload).encode(), payload


ADAPTER = Lever()
