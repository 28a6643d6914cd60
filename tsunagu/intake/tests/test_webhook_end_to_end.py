"""Every ATS adapter end to end, as the vendor would drive it: the real `tsunagu serve`, real HTTP, each
vendor's documented payload signed exactly as that vendor signs it, and the notice arriving at a real
SMTP server. Lever's API is played by a local HTTP server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tsunagu.testing import (
    LOCAL_OUTBOUND_ENV,
    SmtpSink,
    free_port,
    http_serving,
    run_cli,
    running_tsunagu,
    smtp_running,
    text_part,
)

pytestmark = pytest.mark.slow  # through a real `tsunagu serve` and its command line

SECRETS = {
    "greenhouse": "gh-secret-key-5e1f0c",
    "lever": "lever-signature-token-7a2b",
    "ashby": "ashby-secret-token-91c4",
    "workable": "workable-account-token-3d8e",
    "generic": "in-house-secret-0b6f",
}
LEVER_API_KEY = "lever-api-key-for-tsunagu"
KINDS = list(SECRETS)


def hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def iso_now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Candidate:
    """Who is rejected, and for what: what the mail must show."""

    family_name: str
    given_name: str
    email: str
    job_title: str
    application_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def name(self) -> str:
        return f"{self.family_name} {self.given_name}"


# --- Lever's API, played by a local HTTP server ---------------------------------------------------

class LeverApi:
    """Opportunities, archive reasons and postings as Lever's v1 API serves them (`{"data": …}`), behind
    HTTP Basic auth with the API key as the user name and an empty password."""

    def __init__(self):
        self.opportunities: dict[str, dict] = {}
        self.archive_reasons = {"rsn-underqualified": {"id": "rsn-underqualified", "text": "Underqualified",
                                                       "status": "active", "type": "non-hired"}}
        self.postings: dict[str, dict] = {}
        self.requests: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                api.requests.append(self.path)
                expected = "Basic " + base64.b64encode(f"{LEVER_API_KEY}:".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    return self.answer(401, {"code": "UnauthorizedError", "message": "Invalid API key"})
                url = urlsplit(self.path)
                expand = parse_qs(url.query).get("expand", [])
                parts = url.path.strip("/").split("/")
                if len(parts) == 3 and parts[:2] == ["v1", "opportunities"] and parts[2] in api.opportunities:
                    return self.answer(200, {"data": api.opportunity(parts[2], expand)})
                if len(parts) == 3 and parts[:2] == ["v1", "archive_reasons"] and parts[2] in api.archive_reasons:
                    return self.answer(200, {"data": api.archive_reasons[parts[2]]})
                if len(parts) == 3 and parts[:2] == ["v1", "postings"] and parts[2] in api.postings:
                    return self.answer(200, {"data": api.postings[parts[2]]})
                return self.answer(404, {"code": "ResourceNotFound", "message": "Not found"})

            def answer(self, status, data):
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, candidate: Candidate, archived_at: int) -> None:
        posting_id = str(uuid.uuid4())
        self.postings[posting_id] = {"id": posting_id, "text": candidate.job_title, "state": "published",
                                     "categories": {"team": "Engineering", "location": "Tokyo"}}
        self.opportunities[candidate.application_id] = {
            "id": candidate.application_id, "name": candidate.name, "headline": "", "contact": str(uuid.uuid4()),
            "emails": [candidate.email], "phones": [{"type": "mobile", "value": "090-7777-8888"}],
            "stage": {"id": "offer", "text": "On-site interview"},
            "archived": {"archivedAt": archived_at, "reason": "rsn-underqualified"},
            "applications": [{"id": str(uuid.uuid4()), "type": "posting", "posting": posting_id}],
            "createdAt": archived_at - 86_400_000, "updatedAt": archived_at,
        }

    def opportunity(self, opportunity_id: str, expand: list[str]) -> dict:
        # Without ?expand= Lever answers ids only, as the real API does.
        data = dict(self.opportunities[opportunity_id])
        if "stage" not in expand:
            data["stage"] = data["stage"]["id"]
        if "applications" not in expand:
            data["applications"] = [application["id"] for application in data["applications"]]
        return data


# --- each vendor's documented request, signed as the vendor signs it --------------------------------

def greenhouse_request(candidate: Candidate, secret: str) -> tuple[bytes, dict]:
    """Greenhouse's `reject_candidate` web hook; `Signature: sha256 <hex HMAC-SHA256 of the body>`."""
    now = iso_now()
    payload = {"action": "reject_candidate", "payload": {"application": {
        "id": int(candidate.application_id), "rejected_at": now, "prospect": False, "status": "rejected",
        "applied_at": "2026-10-01T00:00:00Z", "last_activity_at": now,
        "url": f"https://app.greenhouse.io/people/265788?application_id={candidate.application_id}",
        "source": {"id": 27, "public_name": "LinkedIn"}, "credited_to": None,
        "rejection_reason": {"id": 14, "name": "Too Junior", "type": {"id": 3, "name": "Wrong skill set"}},
        "rejection_details": {"custom_fields": {}},
        "current_stage": {"id": 2708728, "name": "Face to Face", "interviews": []},
        "custom_fields": {},
        "candidate": {
            "id": 265788, "first_name": candidate.given_name, "last_name": candidate.family_name, "title": None,
            "company": None, "created_at": "2026-10-01T00:00:00Z", "external_id": None, "photo_url": None,
            "is_private": False, "can_email": True,
            "phone_numbers": [{"value": "090-1234-5678", "type": "mobile"}],
            "email_addresses": [{"value": candidate.email, "type": "personal"}],
            "addresses": [], "website_addresses": [], "social_media_addresses": [], "educations": [],
            "employments": [], "recruiter": None, "coordinator": None, "attachments": [], "tags": [],
            "custom_fields": {},
        },
        "jobs": [{"id": 371417, "name": candidate.job_title, "requisition_id": None, "notes": None,
                  "confidential": False, "job_post_id": 54321, "status": "open",
                  "created_at": "2026-09-01T00:00:00Z", "opened_at": "2026-09-01T00:00:00Z", "closed_at": None,
                  "departments": [{"id": 237, "name": "開発本部", "external_id": None}],
                  "offices": [{"id": 9099, "name": "東京", "location": "Tokyo", "external_id": None}],
                  "custom_fields": {}}],
    }}}
    body = json.dumps(payload, ensure_ascii=False).encode()
    return body, {"Content-Type": "application/json", "Greenhouse-Event-ID": str(uuid.uuid4()),
                  "Signature": f"sha256 {hex_hmac(secret, body)}"}


def lever_request(candidate: Candidate, secret: str, lever: LeverApi) -> tuple[bytes, dict]:
    """Lever's `candidateArchiveChange`: only ids in the body, the signature in the body too (HMAC-SHA256 of
    `token + triggeredAt` with the webhook's signature token)."""
    triggered_at = int(time.time() * 1000)
    lever.add(candidate, archived_at=triggered_at)
    token = uuid.uuid4().hex
    payload = {
        "triggeredAt": triggered_at, "event": "candidateArchiveChange", "token": token,
        "signature": hex_hmac(secret, f"{token}{triggered_at}".encode()),
        "data": {"opportunityId": candidate.application_id, "candidateId": candidate.application_id,
                 "contactId": lever.opportunities[candidate.application_id]["contact"], "fromArchived": None,
                 "toArchived": {"archivedAt": triggered_at, "reason": "rsn-underqualified"}},
    }
    return json.dumps(payload).encode(), {"Content-Type": "application/json"}


def ashby_request(candidate: Candidate, secret: str) -> tuple[bytes, dict]:
    """Ashby's `applicationUpdate` with the application archived for a reason; `Ashby-Signature: sha256=<hex>`."""
    now = iso_now()
    payload = {"action": "applicationUpdate", "webhookActionId": str(uuid.uuid4()), "data": {"application": {
        "id": candidate.application_id, "createdAt": "2026-10-01T00:00:00.000Z", "updatedAt": now,
        "status": "Archived", "customFields": [],
        "candidate": {"id": str(uuid.uuid4()), "name": candidate.name,
                      "primaryEmailAddress": {"value": candidate.email, "type": "Personal", "isPrimary": True},
                      "primaryPhoneNumber": {"value": "080-3333-4444", "type": "Mobile", "isPrimary": True}},
        "currentInterviewStage": {"id": str(uuid.uuid4()), "title": "一次面接", "type": "Active",
                                  "orderInInterviewPlan": 2},
        "source": {"id": str(uuid.uuid4()), "title": "Referral"},
        "archiveReason": {"id": str(uuid.uuid4()), "text": "Not a fit", "reasonType": "RejectedByOrg",
                          "isArchived": False},
        "job": {"id": str(uuid.uuid4()), "title": candidate.job_title},
    }}}
    body = json.dumps(payload, ensure_ascii=False).encode()
    return body, {"Content-Type": "application/json", "Ashby-Signature": f"sha256={hex_hmac(secret, body)}"}


def workable_request(candidate: Candidate, secret: str) -> tuple[bytes, dict]:
    """Workable's `candidate_moved` carrying the candidate, disqualified; `X-Workable-Signature` is the
    HMAC-SHA256 of the body."""
    now = iso_now()
    payload = {"id": uuid.uuid4().hex[:10], "resource_type": "candidate", "event_type": "candidate_moved",
               "fired_at": now, "data": {
                   "id": candidate.application_id, "name": candidate.name, "firstname": candidate.given_name,
                   "lastname": candidate.family_name, "headline": "", "account": {"subdomain": "tsunagu"},
                   "job": {"shortcode": "GROOV003", "title": candidate.job_title}, "stage": "Interview",
                   "disqualified": True, "disqualification_reason": "Position filled", "hired_at": None,
                   "sourced": False, "email": candidate.email, "domain": "", "phone": "070-5555-6666",
                   "created_at": "2026-10-01T00:00:00Z", "updated_at": now}}
    body = json.dumps(payload, ensure_ascii=False).encode()
    return body, {"Content-Type": "application/json", "X-Workable-Signature": hex_hmac(secret, body)}


def generic_request(candidate: Candidate, secret: str) -> tuple[bytes, dict]:
    """The generic format exactly as README.md shows it: HMAC-SHA256 of `timestamp + "." + body`."""
    payload = {"event_id": f"evt-{uuid.uuid4()}", "application": {
        "external_id": candidate.application_id, "status": "rejected", "stage": "最終面接",
        "candidate": {"name": candidate.name, "email": candidate.email},
        "job": {"title": candidate.job_title}}}
    body = json.dumps(payload, ensure_ascii=False).encode()
    stamp = str(int(time.time()))
    return body, {"Content-Type": "application/json", "X-Tsunagu-Timestamp": stamp,
                  "X-Tsunagu-Signature": "sha256=" + hex_hmac(secret, stamp.encode() + b"." + body)}


# --- one server for the whole module ---------------------------------------------------------------

@dataclass
class Deployment:
    url: str
    api: requests.Session
    webhook_urls: dict[str, str]
    lever: LeverApi
    smtp: SmtpSink

    def request_for(self, kind: str, candidate: Candidate, secret: str | None = None) -> tuple[bytes, dict]:
        secret = secret or SECRETS[kind]
        if kind == "lever":
            return lever_request(candidate, secret, self.lever)
        return {"greenhouse": greenhouse_request, "ashby": ashby_request, "workable": workable_request,
                "generic": generic_request}[kind](candidate, secret)

    def post(self, kind: str, body: bytes, headers: dict) -> requests.Response:
        return requests.post(self.webhook_urls[kind], data=body, headers=headers, timeout=10)

    def mail_to(self, address: str, timeout: float = 30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            received = self.smtp.messages_to(address)
            if received:
                return received
            time.sleep(0.05)
        raise AssertionError(f"no mail reached {address} within {timeout}s")

    def messages(self, application_id: str) -> list[dict]:
        response = self.api.get(self.url + "/api/v1/messages", params={"application": application_id}, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def wait_until_sent(self, application_id: str, timeout: float = 15) -> list[dict]:
        # The SMTP server has the mail; the worker marks the row sent right after the server's 250.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.messages(application_id)
            if messages and all(m["status"] == "sent" for m in messages):
                return messages
            time.sleep(0.05)
        raise AssertionError(f"the notice for {application_id} is not sent: {self.messages(application_id)}")


@pytest.fixture(scope="module")
def module_smtp():
    with smtp_running() as sink:
        yield sink


@pytest.fixture(scope="module")
def lever_api():
    lever = LeverApi()
    with http_serving(lever.server):
        yield lever


@pytest.fixture(scope="module")
def deployment(module_smtp, lever_api):
    """`tsunagu serve` sending through the real SMTP server; one company connected to all five ATSs,
    each connection made with `tsunagu ats add` as README.md shows."""
    with running_tsunagu(smtp_port=module_smtp.port, **LOCAL_OUTBOUND_ENV) as (server, company):
        webhook_urls = {}
        for kind in KINDS:
            args = ["ats", "add", "--company", company["slug"], "--kind", kind, "--secret", SECRETS[kind]]
            if kind == "lever":
                args += ["--api-key", LEVER_API_KEY, "--api-base-url", lever_api.url]
            added = run_cli(args, server.env)
            assert added.returncode == 0, added.stderr
            connection = json.loads(added.stdout.strip().splitlines()[-1])
            assert connection["kind"] == kind
            assert connection["webhook_url"].startswith(f"{server.url}/hooks/{kind}/")
            webhook_urls[kind] = connection["webhook_url"]
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {company['api_key']}"
        yield Deployment(server.url, api, webhook_urls, lever_api, module_smtp)


def new_candidate(kind: str, family_name: str, given_name: str, job_title: str) -> Candidate:
    candidate = Candidate(family_name, given_name, f"{kind}-{uuid.uuid4().hex[:8]}@example.jp", job_title)
    if kind == "greenhouse":  # Greenhouse's application ids are integers
        candidate.application_id = str(uuid.uuid4().int % 10**10)
    return candidate


CANDIDATES = {
    "greenhouse": ("髙橋", "𠮷子", "データサイエンティスト"),
    "lever": ("渡邉", "さくら", "フロントエンドエンジニア"),
    "ashby": ("山﨑", "太郎", "プロダクトマネージャー"),
    "workable": ("田中", "美咲", "カスタマーサクセス"),
    "generic": ("伊藤", "健太", "法人営業"),
}


@pytest.mark.parametrize("kind", KINDS)
def test_a_rejection_from_the_ats_reaches_the_candidate(deployment, kind):
    candidate = new_candidate(kind, *CANDIDATES[kind])
    body, headers = deployment.request_for(kind, candidate)

    response = deployment.post(kind, body, headers)
    assert response.status_code == 200, response.text

    [mail] = deployment.mail_to(candidate.email)
    assert mail["To"].addresses[0].addr_spec == candidate.email
    assert mail["To"].addresses[0].display_name == candidate.name
    assert mail["Subject"] == "選考結果のご連絡(株式会社つなぐテスト)"
    text = text_part(mail)
    assert text.startswith(f"{candidate.name}様")
    assert f"「{candidate.job_title}」" in text
    messages = deployment.wait_until_sent(candidate.application_id)
    assert [(m["kind"], m["status"], m["to_email"]) for m in messages] == [("rejection", "sent", candidate.email)]
    if kind == "lever":  # the worker read the opportunity from Lever's API with the key
        assert any(path.startswith(f"/v1/opportunities/{candidate.application_id}")
                   for path in deployment.lever.requests)


def test_a_redelivered_request_sends_nothing_more_and_a_forged_one_is_refused(deployment):
    delivered = {}
    for kind in KINDS:
        candidate = new_candidate(kind, "佐藤", "花子", "経理")
        body, headers = deployment.request_for(kind, candidate)
        assert deployment.post(kind, body, headers).status_code == 200
        delivered[kind] = (candidate, body, headers)
    for candidate, _body, _headers in delivered.values():
        deployment.mail_to(candidate.email)
        deployment.wait_until_sent(candidate.application_id)

    forged = {}
    for kind, (_candidate, body, headers) in delivered.items():
        # The ATS retries the very same signed request (e.g. our answer was lost on the way back).
        assert deployment.post(kind, body, headers).status_code == 200
        # Someone who does not know the secret sends a rejection of their own making.
        victim = new_candidate(kind, "鈴木", "一郎", "総務")
        body, headers = deployment.request_for(kind, victim, secret="not-the-secret-at-all")
        response = deployment.post(kind, body, headers)
        assert response.status_code == 401, (kind, response.text)
        forged[kind] = victim

    # A later, genuine delivery goes through the same queue and the same outbox: once its notice has
    # arrived, anything the repeats or forgeries had set off would have had its turn too.
    marker = new_candidate("generic", "小林", "誠", "人事")
    assert deployment.post("generic", *deployment.request_for("generic", marker)).status_code == 200
    deployment.mail_to(marker.email)
    deployment.wait_until_sent(marker.application_id)

    for kind, (candidate, _body, _headers) in delivered.items():
        assert len(deployment.smtp.messages_to(candidate.email)) == 1, kind
        assert [m["status"] for m in deployment.messages(candidate.application_id)] == ["sent"], kind
    for kind, victim in forged.items():
        assert deployment.smtp.messages_to(victim.email) == [], kind
        assert deployment.messages(victim.application_id) == [], kind
        missing = deployment.api.get(f"{deployment.url}/api/v1/applications/{victim.application_id}", timeout=10)
        assert missing.status_code == 404, kind
