"""Helpers of the candidate-path tests (test_relay, test_links, test_fraud, test_public_form): a rejection whose
notice was delivered, the personal link from the mail, the form sent from a network of one's own, and the
operator's verification mail."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

from django.core import mail
from django.db.models import F

from tsunagu.messaging.models import Message, MessageKind, MessageStatus
from tsunagu.relay.actions.registration import message_for_referral
from tsunagu.relay.consent import consent_texts, texts_digest
from tsunagu.testing import application_body

_networks = itertools.count(1)

FORM = {"name": "髙橋 𠮷子", "email": "yoshiko@example.jp", "desired_job": "エンジニア", "desired_region": "東京都",
        "consent_purpose": "on", "consent_provision": "on"}


def reject(api, capture, external_id="A-1", email_address="yoshiko@example.jp", *, delivered_ago=120) -> Message:
    """The application rejected through the API and its notice delivered (the capture backend) `delivered_ago`
    seconds ago: long enough that registering now is not "within seconds of delivery"."""
    with capture(execute=True):
        response = api.post("/api/v1/applications", application_body(external_id=external_id,
                                                                      email_address=email_address))
    assert response.status_code in (200, 201), response.content
    message = Message.objects.get(application__external_id=external_id, kind=MessageKind.REJECTION)
    assert message.status == MessageStatus.SENT, message.status
    if delivered_ago:
        Message.objects.filter(pk=message.pk).update(sent_at=F("sent_at") - timedelta(seconds=delivered_ago))
        message.refresh_from_db()
    return message


def link_path(message: Message) -> str:
    """The personal link, as the mail the candidate received has it."""
    return re.search(r"/r/[^\s]+", message.body_text).group(0)


def new_network() -> str:
    """An address in a /24 of its own: each real candidate registers from their own home."""
    number = next(_networks)
    return f"10.{number // 250 % 250}.{number % 250}.7"


def shown_digest(path: str) -> str:
    """The digest of the consent texts the landing page at `path` shows (its hidden field), without opening
    it (opening records a click)."""
    message = message_for_referral(path.rstrip("/").rsplit("/", 1)[-1])
    return texts_digest(consent_texts(message.company)) if message else ""


def register(client, path, capture, *, ip=None, user_agent="", **overrides):
    form = {**FORM, "consent_digest": shown_digest(path), **overrides}
    headers = {"User-Agent": user_agent} if user_agent else {}
    with capture(execute=True):
        return client.post(path, form, REMOTE_ADDR=ip or new_network(), headers=headers)


def verify_path(outbox_mail) -> str:
    return re.search(r"/r/verify/[^\s]+", outbox_mail.body).group(0)


def verification_to(address: str):
    """The last verification mail sent to this address (Django's test outbox)."""
    found = [m for m in mail.outbox if address in m.to and "/r/verify/" in m.body]
    assert found, f"no verification mail to {address}"
    return found[-1]


def register_and_verify(client, api, capture, index: int, *, email=None, **form):
    """A real candidate: rejected, notice delivered, registers from home with the address it was sent to, and
    verifies. Returns the message of the notice."""
    email = email or f"c{index}@gmail.com"
    message = reject(api, capture, external_id=f"A-{index}", email_address=email)
    response = register(client, link_path(message), capture, email=email, name=f"候補者 {index}", **form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert client.post(verify_path(verification_to(email))).status_code == 200
    return message
