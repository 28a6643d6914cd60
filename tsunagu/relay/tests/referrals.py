"""Helpers of the referral-request tests: slots earned without the public form (the form and its fraud checks
are tested on their own), registrants as the operator knows them, and the logins of each party."""

from __future__ import annotations

import re

from django.test import Client
from django.utils import timezone

from tsunagu.companies import actions as companies
from tsunagu.companies.models import Role
from tsunagu.intake.actions.events import record_application_event
from tsunagu.intake.events import IncomingApplicationEvent
from tsunagu.messaging.models import Message, MessageKind
from tsunagu.relay.actions import ledger
from tsunagu.relay.consent import CONSENT_VERSION
from tsunagu.relay.models import (
    CreditStatus,
    Registrant,
    RegistrantStatus,
    Registration,
    RegistrationRequest,
)
from tsunagu.talent.data import CandidateData, JobData
from tsunagu.talent.normalize import email_key, name_key, phone_e164
from tsunagu.testing import login_with_second_factor

PASSWORD = "a-long-password"

REQUEST = {
    "title": "法人営業", "description": "既存顧客への提案営業です。\n出張は月1回ほど。", "location": "東京都",
    "salary_min": 4_500_000, "salary_max": 6_000_000, "employment_type": "full_time", "headcount": 1,
}


def rejected(company, *, email: str, name: str = "候補者", external_id: str | None = None, phone: str = ""):
    """A rejected application of the company (its notice planned), as an ATS would send it."""
    result = record_application_event(company, IncomingApplicationEvent(
        external_id=external_id or f"A-{email}", status="rejected", occurred_at=timezone.now(),
        candidate=CandidateData(name=name, email=email, phone=phone), job=JobData(title="営業"), notify=True,
    ))
    return result.application


def registered(company, *, email: str, name: str = "候補者", credit: bool = True) -> Registration:
    """A person who registered through the company's link and verified (credited to the company)."""
    application = rejected(company, email=email, name=name)
    message = Message.objects.get(application=application, kind=MessageKind.REJECTION)
    now = timezone.now()
    request = RegistrationRequest.objects.create(
        company=company, message=message, candidate=application.candidate, name=name, email=email,
        consent_version=CONSENT_VERSION, consented_at=now, verified_at=now)
    registrant, created = Registrant.objects.get_or_create(email_key=email_key(email), defaults={
        "email": email, "name": name, "name_key": name_key(name), "first_company": company})
    registration = Registration.objects.create(
        company=company, candidate=application.candidate, request=request, registrant=registrant,
        credit_status=CreditStatus.CREDITED if created else CreditStatus.DUPLICATE, **request.details())
    if created and credit:
        ledger.credit(registration)
    return registration


def earn_slots(company, count: int = 1, *, prefix: str = "earner") -> None:
    """`count` free slots for a company whose contract's ratio is 1 (make_company(referral_ratio=1))."""
    for index in range(count):
        registered(company, email=f"{prefix}{index}@{company.slug}.example.jp", name=f"登録 {index}")


def registrant(email: str = "hanako@example.jp", *, name: str = "山田 花子", phone: str = "090-1111-2222",
               status: str = RegistrantStatus.INTERVIEWED, open_to_former_companies: bool = False,
               first_company=None) -> Registrant:
    """A registrant of the operator (one who came through some other company's link, say)."""
    return Registrant.objects.create(
        email_key=email_key(email), email=email, name=name, name_key=name_key(name), phone=phone,
        phone_e164=phone_e164(phone), desired_job="営業", desired_region="東京都", status=status,
        open_to_former_companies=open_to_former_companies, first_company=first_company)


def company_client(company, role: str = Role.ADMIN, email: str | None = None) -> Client:
    """A console session of a new user of the company with this role."""
    email = email or f"{role}@{company.slug}.example"
    companies.create_user(email=email, password=PASSWORD, company=company, role=role)
    client = Client()
    assert client.login(username=email, password=PASSWORD)
    return client


def operator_client(email: str = "advisor@career-relay.example") -> tuple[Client, object]:
    created = companies.create_user(email=email, password=PASSWORD, operator=True)
    return login_with_second_factor(Client(), email, PASSWORD), created.user


def consent_path(text: str) -> str:
    return re.search(r"/r/consent/[^\s]+", text).group(0)
