"""The record of provision to third parties (第三者提供の記録): one per introduction the registrant consented
to, written with the consent, none for a decline; the operator's page with its filters, its CSV for Excel, the
registrant's page; nobody but the operator's staff sees them."""

import hashlib
import re

import pytest
from django.test import Client
from django.utils import timezone

from tsunagu.companies.models import Role
from tsunagu.messaging.models import Message, MessageKind
from tsunagu.relay import fraud
from tsunagu.relay.actions import requests
from tsunagu.relay.models import ConsentRecord, Introduction, ProvisionRecord
from tsunagu.relay.tests.referrals import (
    REQUEST,
    company_client,
    consent_path,
    earn_slots,
    operator_client,
    registrant,
)

pytestmark = pytest.mark.django_db

IP = "198.51.100.7"


@pytest.fixture
def desk():
    return operator_client()


def asked(company, desk_client, person, *, title="法人営業", recommendation="営業経験5年。"):
    """The operator proposes `person` for a new request of `company`; returns the consent page's path."""
    earn_slots(company, 1, prefix=f"earner-{title}")
    referral = requests.file_request(company, requests.RequestForm(**{**REQUEST, "title": title}))
    desk_client.post(f"/console/operator/requests/{referral.pk}/propose/",
                     {"registrant": person.pk, "recommendation": recommendation})
    mail = Message.objects.filter(kind=MessageKind.CONSENT_REQUEST, to_email=person.email).latest("pk")
    return consent_path(mail.body_text)


def answer(path, answer_value):
    client = Client()
    page = client.get(path).content.decode()
    digest = re.search(r'name="digest" value="([0-9a-f]+)"', page).group(1)
    return client.post(path, {"answer": answer_value, "digest": digest}, REMOTE_ADDR=IP)


def test_one_record_per_consented_introduction_and_none_for_a_decline(make_company, desk):
    desk_client, staff = desk
    company = make_company(referral_ratio=1)[0]
    person = registrant(phone="")  # no phone: the phone is not among the items provided
    assert answer(asked(company, desk_client, person), "consent").status_code == 200
    record = ProvisionRecord.objects.get()
    consent = ConsentRecord.objects.get()
    introduction = Introduction.objects.get()
    assert (record.recipient, record.recipient_name, record.registrant, record.introduction) == (
        company, company.name, person, introduction)
    assert record.items == ["name", "email", "desired_job", "desired_region", "recommendation"]
    assert (record.consent, record.staff, record.staff_email) == (consent, staff, staff.email)
    assert record.provided_at == consent.given_at == introduction.consented_at
    assert record.request_title == "法人営業"
    # The introduction's consent keeps its text's hash, its purpose and the keyed hash of the address.
    assert consent.text_hash == hashlib.sha256(consent.text.encode()).hexdigest()
    assert consent.purpose == f"introduction:{company.slug}" and company.name in consent.purpose_label
    assert consent.ip_hash == fraud.ip_hash(IP) and IP not in consent.ip_hash

    other = registrant("other@example.jp", name="別 人")
    assert answer(asked(company, desk_client, other, title="経理"), "decline").status_code == 200
    assert ProvisionRecord.objects.count() == 1 and ConsentRecord.objects.count() == 1

    with pytest.raises(ValueError):
        record.delete()
    # The record outlives the staff member's account: who it was stays written.
    staff.delete()
    record.refresh_from_db()
    assert (record.staff, record.staff_email, record.recipient_name) == (None, "advisor@career-relay.example",
                                                                          company.name)


def test_the_operators_page_filters_by_company_and_month_and_exports_csv(make_company, desk):
    desk_client, _staff = desk
    acme = make_company(referral_ratio=1)[0]
    beta = make_company(slug="beta", name="株式会社ベータ", referral_ratio=1)[0]
    answer(asked(acme, desk_client, registrant("a@example.jp", name="一 郎")), "consent")
    answer(asked(beta, desk_client, registrant("b@example.jp", name="二 郎"), title="経理"), "consent")

    page = desk_client.get("/console/operator/provisions/").content.decode()
    assert "一 郎" in page and "二 郎" in page and "株式会社ベータ" in page
    only_beta = desk_client.get("/console/operator/provisions/", {"company": "beta"}).content.decode()
    assert "二 郎" in only_beta and "一 郎" not in only_beta
    this_month = timezone.localdate().strftime("%Y-%m")
    assert "一 郎" in desk_client.get("/console/operator/provisions/", {"month": this_month}).content.decode()
    assert "一 郎" not in desk_client.get("/console/operator/provisions/", {"month": "2001-01"}).content.decode()
    assert desk_client.get("/console/operator/provisions/", {"month": "2026-13"}).status_code == 400
    assert desk_client.get("/console/operator/provisions/", {"month": "x" * 5000}).status_code == 400

    response = desk_client.get("/console/operator/provisions.csv", {"company": "acme"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert "提供日時" in text.splitlines()[0]
    assert "一 郎" in text and "二 郎" not in text and "株式会社アクメ" in text
    assert ConsentRecord.objects.get(registrant__name="一 郎").text_hash in text
    assert desk_client.get("/console/operator/provisions.csv", {"month": "bad"}).status_code == 400

    # The registrant's page shows theirs.
    person = ProvisionRecord.objects.get(recipient=acme).registrant
    mine = desk_client.get(f"/console/operator/registrants/{person.pk}/").content.decode()
    assert 'id="provisions"' in mine and "株式会社アクメ" in mine.split('id="provisions"')[1]
    assert "株式会社ベータ" not in mine.split('id="provisions"')[1]


def test_only_the_operators_staff_see_the_records(make_company, desk):
    company = make_company(referral_ratio=1)[0]
    answer(asked(company, desk[0], registrant()), "consent")
    for role in (Role.ADMIN, Role.VIEWER):
        member = company_client(company, role)
        for url in ("/console/operator/provisions/", "/console/operator/provisions.csv"):
            response = member.get(url)
            assert response.status_code == 403 and "山田" not in response.content.decode()
    assert Client().get("/console/operator/provisions/").status_code == 302  # to the login page
    assert desk[0].post("/console/operator/provisions/").status_code == 405
