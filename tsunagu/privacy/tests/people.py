"""A person the company knows in every way it can know someone, for the erasure and export tests: an ATS
webhook (its payload stored), a sent notice (captured), a click on the referral link, a registration with the
relay, a tag, a note and a re-application alert."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.test import Client
from django.utils import timezone

from tsunagu.companies import actions as companies
from tsunagu.companies.models import Role
from tsunagu.intake.actions import connections
from tsunagu.intake.actions.deliveries import process_queued_deliveries
from tsunagu.intake.adapters.base import hmac_sha256_hex
from tsunagu.lib.tokens import referral_token
from tsunagu.messaging.actions.delivery import deliver_due_messages
from tsunagu.messaging.models import Message, MessageKind
from tsunagu.relay.actions import ledger
from tsunagu.relay.consent import CONSENT_VERSION
from tsunagu.relay.models import CreditStatus, Registrant, Registration, RegistrationRequest
from tsunagu.talent.actions import pool as pool_actions
from tsunagu.talent.models import Application, Candidate
from tsunagu.talent.normalize import email_key, name_key, phone_e164

NAME, KANA, EMAIL, PHONE = "髙橋 𠮷子", "タカハシ ヨシコ", "yoshiko.takahashi@example.jp", "090-4321-8765"
SECRETS = (NAME, "髙橋", "𠮷子", "タカハシ", EMAIL, "yoshiko.takahashi", "4321-8765", "43218765", "東京都港区芝公園")


@dataclass
class Person:
    candidate: Candidate
    application: Application
    notice: Message


def greenhouse_rejection(company, *, application_id: int = 7001, candidate_id: int = 9001) -> dict:
    """A Greenhouse `candidate_rejected` payload about the person."""
    return {"action": "reject_candidate", "payload": {"application": {
        "id": application_id, "status": "rejected", "rejected_at": "2026-11-20T03:00:00Z", "prospect": False,
        "rejection_reason": {"name": "スキル不一致"}, "current_stage": {"name": "一次面接"},
        "jobs": [{"id": 55, "name": "バックエンドエンジニア"}],
        "candidate": {"id": candidate_id, "first_name": "𠮷子", "last_name": "髙橋",
                      "email_addresses": [{"value": EMAIL}], "phone_numbers": [{"value": PHONE}],
                      "addresses": [{"value": "東京都港区芝公園"}]},
    }}}


def post_greenhouse(client: Client, connection, payload: dict, event_id: str):
    body = json.dumps(payload).encode()
    return client.post(connection_url(connection), data=body, content_type="application/json", headers={
        "Signature": f"sha256 {hmac_sha256_hex(connection.secret, body)}", "Greenhouse-Event-ID": event_id})


def connection_url(connection) -> str:
    return urlsplit(connection.webhook_url).path


def known_in_every_way(company, client: Client) -> Person:
    connection = connections.add_connection(company, kind="greenhouse", secret="gh-secret")
    assert post_greenhouse(client, connection, greenhouse_rejection(company), "gh-1").status_code in (200, 202)
    process_queued_deliveries()
    application = Application.objects.get(company=company, external_id="7001")
    candidate = application.candidate
    pool_actions.update_candidate_profile(company, candidate, note=f"{NAME}さんは{PHONE}に連絡可",
                                          tags=["Python", "髙橋さん紹介"], region_text="東京都港区芝公園")
    deliver_due_messages()
    notice = Message.objects.get(application=application, kind=MessageKind.REJECTION)
    assert notice.status == "sent" and NAME in notice.body_text
    assert client.get(f"/r/{referral_token(notice.pk)}", headers={"User-Agent": "Mozilla/5.0 髙橋のPC"}).status_code == 200
    register(company, notice)
    # They apply again: HR's admin is alerted by mail, which names them.
    companies.create_user(email=f"hr@{company.slug}.example", password="a-long-password", company=company,
                          role=Role.ADMIN)
    again = greenhouse_rejection(company, application_id=7003, candidate_id=9001)
    again["action"] = "candidate_stage_change"
    again["payload"]["application"]["status"] = "active"
    assert post_greenhouse(client, connection, again, "gh-again").status_code in (200, 202)
    process_queued_deliveries()
    alert = Message.objects.get(company=company, kind=MessageKind.ALERT)
    assert NAME in alert.subject and alert.to_email.startswith("hr@")
    candidate.refresh_from_db()
    return Person(candidate, application, notice)


def register(company, notice: Message) -> Registration:
    """The person registers with the relay through the notice's link (and verifies): credited to the company."""
    now = timezone.now()
    candidate = notice.application.candidate
    request = RegistrationRequest.objects.create(
        company=company, message=notice, candidate=candidate, name=NAME, email=EMAIL, phone=PHONE,
        desired_job="経理", desired_region="東京都港区芝公園", consent_version=CONSENT_VERSION, consented_at=now,
        verified_at=now)
    registrant = Registrant.objects.create(email_key=email_key(EMAIL), email=EMAIL, name=NAME,
                                           name_key=name_key(NAME), phone=PHONE, phone_e164=phone_e164(PHONE),
                                           first_company=company)
    registration = Registration.objects.create(company=company, candidate=candidate, request=request,
                                               registrant=registrant, credit_status=CreditStatus.CREDITED,
                                               **request.details())
    ledger.credit(registration)
    return registration
