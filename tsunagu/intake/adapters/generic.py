"""The generic format for in-house systems (documented in README.md and at /api/v1/docs).

POST a JSON object `{"event_id": "...", "application": {...}}` where `application` is exactly the body of
`POST /api/v1/applications`. Headers: `X-Tsunagu-Timestamp: <unix seconds>` and
`X-Tsunagu-Signature: sha256=<hex>`, the HMAC-SHA256 with the connection's secret of
`timestamp + "." + raw body`. Requests older than 5 minutes (or as far in the future) are refused.
"""

from __future__ import annotations

import json
import re
import time
import uuid

from django.utils.translation import gettext_lazy
from pydantic import ValidationError

from tsunagu.intake.adapters.base import (
    Adapter,
    BadPayload,
    Outcome,
    Parsed,
    hmac_sha256_hex,
    sha256_header_matches,
)
from tsunagu.intake.schemas import ApplicationIn

MAX_SKEW_SECONDS = 300
# Unix seconds in ASCII digits ("²³" is a digit to str.isdigit but no number to int()).
TIMESTAMP = re.compile(r"[0-9]{1,12}")


class Generic(Adapter):
    kind = "generic"
    label = gettext_lazy("汎用(自社システム)")
    position = 50

    def verify(self, connection, headers, body):
        stamp = headers.get("X-Tsunagu-Timestamp") or ""
        if not TIMESTAMP.fullmatch(stamp) or abs(time.time() - int(stamp)) > MAX_SKEW_SECONDS:
            return False
        return sha256_header_matches(headers.get("X-Tsunagu-Signature"), "=", connection.secret,
                                     stamp.encode() + b"." + body)

    def parse(self, connection, headers, payload, body):
        if payload.get("type") == "ping":
            return Parsed(event_id="", action="ping", relevant=False)
        event_id = payload.get("event_id")
        if not isinstance(event_id, str) or not event_id.strip():
            raise BadPayload("event_id is required (a string that is the same on every retry)")
        try:
            application = ApplicationIn.model_validate(payload.get("application"))
        except ValidationError as exc:
            raise BadPayload("application: " + "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())) from exc
        return Parsed(event_id=event_id, action="application", relevant=True,
                      application_id=application.external_id)

    def events(self, connection, payload):
        application = ApplicationIn.model_validate(payload["application"])
        # The delivery's event_id (set by the webhook layer) identifies the change, not the body's own.
        return Outcome(events=[application.to_event(connection.company, source=self.kind)])

    def sample(self, connection):
        payload = {"type": "ping", "event_id": f"tsunagu-test-{uuid.uuid4()}"}
        body = json.dumps(payload).encode()
        stamp = str(int(time.time()))
        return ({"X-Tsunagu-Timestamp": stamp, "Content-Type": "application/json",
                 "X-Tsunagu-Signature": "sha256=" + hmac_sha256_hex(connection.secret, stamp.encode() + b"." + body)},
                body, payload)


ADAPTER = Generic()
