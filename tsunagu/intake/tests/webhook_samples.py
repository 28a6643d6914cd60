"""Vendor payloads as their documentation shows them, and signing as each vendor signs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime

NOW = datetime.now(UTC).isoformat()


def hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def greenhouse(action="reject_candidate", application_id=71980812, status="rejected", can_email=True,
               prospect=False, email="hanako.sato@example.jp", stage="Face to Face", reason="Lacking skill(s)/qualification(s)"):
    return {
        "action": action,
        "payload": {
            "application": {
                "id": application_id,
                "rejected_at": NOW if status == "rejected" else None,
                "prospect": prospect,
                "status": status,
                "applied_at": "2026-11-01T12:03:02.728Z",
                "last_activity_at": NOW,
                "current_stage": {"id": 1073533, "name": stage},
                "rejection_reason": {"id": 9504, "name": reason, "type": {"id": 1, "name": "We rejected them"}}
                if status == "rejected" else None,
                "candidate": {
                    "id": 60304594, "first_name": "花子", "last_name": "佐藤", "can_email": can_email,
                    "phone_numbers": [{"value": "090-1111-2222", "type": "mobile"}],
                    "email_addresses": [{"value": email, "type": "personal"}],
                },
                "jobs": [{"id": 274075, "name": "データサイエンティスト"}],
            }
        },
    }


def greenhouse_request(secret, payload, event_id=None):
    body = json.dumps(payload, ensure_ascii=False).encode()
    return body, {"HTTP_SIGNATURE": f"sha256 {hex_hmac(secret, body)}",
                  "HTTP_GREENHOUSE_EVENT_ID": event_id or str(uuid.uuid4())}


def ashby(status="Archived", application_id="3ae2b801-19f6-41ef-ad28-214bd731948f", reason="Not a fit",
          action="applicationUpdate", action_id=None):
    return {
        "action": action,
        "webhookActionId": action_id or str(uuid.uuid4()),
        "data": {"application": {
            "id": application_id, "status": status, "updatedAt": datetime.now(UTC).isoformat(),
            "candidate": {"id": "c-1", "name": "山﨑 太郎", "primaryEmailAddress": {"value": "taro@example.jp"},
                          "primaryPhoneNumber": {"value": "080-3333-4444"}},
            "currentInterviewStage": {"id": "s-1", "title": "一次面接"},
            "job": {"id": "j-1", "title": "プロダクトマネージャー"},
            "archiveReason": {"id": "r-1", "text": reason} if status == "Archived" and reason else None,
        }},
    }


def ashby_request(secret, payload):
    body = json.dumps(payload, ensure_ascii=False).encode()
    return body, {"HTTP_ASHBY_SIGNATURE": f"sha256={hex_hmac(secret, body)}"}


def workable(disqualified=True, candidate_id="ce4da98", email="misaki@example.jp"):
    return {
        "event_type": "candidate_moved",
        "fired_at": "2026-11-20T03:00:00Z",
        "data": {"id": candidate_id, "name": "田中 美咲", "email": email, "phone": "070-5555-6666",
                 "job": {"shortcode": "GROOV003", "title": "カスタマーサクセス"}, "stage": "Interview",
                 "disqualified": disqualified, "disqualification_reason": "Position filled",
                 "updated_at": "2026-11-20T03:00:00Z"},
    }


def workable_request(secret, payload, encoding="hex"):
    body = json.dumps(payload, ensure_ascii=False).encode()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    signature = digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()
    return body, {"HTTP_X_WORKABLE_SIGNATURE": signature}


def generic(event_id="evt-1", status="rejected", external_id="HR-77"):
    return {"event_id": event_id, "application": {
        "external_id": external_id, "candidate": {"name": "伊藤 健太", "email": "kenta@example.jp"},
        "job": {"title": "法人営業"}, "stage": "最終面接", "status": status}}


def generic_request(secret, payload, timestamp=None):
    body = json.dumps(payload, ensure_ascii=False).encode()
    stamp = str(int(timestamp if timestamp is not None else time.time()))
    return body, {"HTTP_X_TSUNAGU_TIMESTAMP": stamp,
                  "HTTP_X_TSUNAGU_SIGNATURE": "sha256=" + hex_hmac(secret, stamp.encode() + b"." + body)}


def lever(opportunity_id="250d8f03-738a-4bba-a671-8a3d73477145", to_archived=True, triggered_at=None,
          token=None, secret="lever-signature-token"):
    token = token or uuid.uuid4().hex
    triggered_at = triggered_at if triggered_at is not None else int(time.time() * 1000)
    return {
        "triggeredAt": triggered_at, "event": "candidateArchiveChange", "token": token,
        "signature": hex_hmac(secret, f"{token}{triggered_at}".encode()),
        "data": {"opportunityId": opportunity_id, "candidateId": opportunity_id, "contactId": "c-9",
                 "fromArchived": None,
                 "toArchived": {"archivedAt": triggered_at, "reason": "63dd55b2-a99f-4e7b-985f-22c7bf80ab42"}
                 if to_archived else None},
    }
