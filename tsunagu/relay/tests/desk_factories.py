"""Registrations made straight in the database for the operator desk's tests, in any credit status, without
going through the candidate's pages (those are tested in test_relay.py and test_registration_browser.py)."""

from __future__ import annotations

import itertools

from django.utils import timezone

from tsunagu.companies.actions import create_user
from tsunagu.messaging.models import Message, MessageKind, MessageStatus
from tsunagu.relay.actions import ledger
from tsunagu.relay.models import ConsentRecord, CreditStatus, Registrant, Registration, RegistrationRequest
from tsunagu.talent.models import Candidate
from tsunagu.talent.normalize import email_key, kana_key, name_key
from tsunagu.testing import login_with_second_factor

_numbers = itertools.count(1)
OPERATOR_EMAIL = "advisor@relay.example"
PASSWORD = "a-long-password"


def operator_login(client, email=OPERATOR_EMAIL):
    """A new member of the operator's staff, signed in through the real pages with the second factor staff
    must use."""
    create_user(email=email, password=PASSWORD, operator=True)
    return login_with_second_factor(client, email, PASSWORD)


def make_registration(company, *, email="yoshiko@example.jp", name="髙橋 𠮷子", kana="", status=CreditStatus.CREDITED,
                      reasons=(), desired_job="エンジニア", desired_region="東京都") -> Registration:
    """One verified registration through `company`'s link, of the registrant with that address (made when new),
    credited in the ledger when `status` is credited."""
    now = timezone.now()
    number = next(_numbers)
    candidate = Candidate.objects.create(company=company, name=name, email=email, name_key=name_key(name),
                                         email_key=email_key(email))
    message = Message.objects.create(company=company, kind=MessageKind.REJECTION, key=f"desk-test:{number}",
                                     to_email=email, to_name=name, send_at=now, sent_at=now,
                                     status=MessageStatus.SENT)
    details = {"name": name, "email": email, "desired_job": desired_job, "desired_region": desired_region,
               "consent_version": "2026-01", "consented_at": now}
    request = RegistrationRequest.objects.create(company=company, message=message, candidate=candidate,
                                                 verified_at=now, **details)
    registrant, created = Registrant.objects.get_or_create(email_key=email_key(email), defaults={
        "email": email, "name": name, "name_key": name_key(name), "name_kana": kana, "kana_key": kana_key(kana),
        "desired_job": desired_job, "desired_region": desired_region, "first_company": company,
    })
    if created:
        ConsentRecord.objects.create(registrant=registrant, kind="purpose", version="2026-01", company=company,
                                     text="ご登録いただいた情報は、キャリア支援のために利用します。\n(第2版)",
                                     given_at=now)
    registration = Registration.objects.create(company=company, candidate=candidate, request=request,
                                               registrant=registrant, credit_status=status, reasons=list(reasons),
                                               **details)
    if status == CreditStatus.CREDITED:
        ledger.credit(registration)
    return registration


def body(response) -> str:
    return response.content.decode()
