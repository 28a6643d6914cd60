"""Relay migration 0006: existing consents get the hash of the text they hold and the purpose of their kind;
each introduction already consented to gets its provision record."""

import hashlib

import pytest
from django.utils import timezone

from tsunagu.relay.tests.test_migration import latest, migrate

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def before():
    try:
        yield migrate([("relay", "0005_registration_phone")])
    finally:
        migrate(latest())


def test_existing_consents_are_hashed_and_introductions_recorded(before):
    old = before
    Company = old.get_model("companies", "Company")
    Registrant, ConsentRecord = old.get_model("relay", "Registrant"), old.get_model("relay", "ConsentRecord")
    ReferralRequest, Introduction = old.get_model("relay", "ReferralRequest"), old.get_model("relay", "Introduction")
    acme = Company.objects.create(slug="acme", name="株式会社アクメ")
    person = Registrant.objects.create(email_key="a@example.jp", email="a@example.jp", name="山田 花子",
                                       desired_job="営業")
    now = timezone.now()
    ConsentRecord.objects.create(registrant=person, kind="purpose", version="v1", text="目的の文面", company=acme,
                                 given_at=now)
    request = ReferralRequest.objects.create(company=acme, title="法人営業")
    introduction = Introduction.objects.create(request=request, registrant=person, status="introduced",
                                               recommendation="推薦文", consented_at=now)
    ConsentRecord.objects.create(registrant=person, kind="introduction", version="v1", text="提供の文面",
                                 company=acme, introduction=introduction, given_at=now)

    new = migrate(latest())
    records = new.get_model("relay", "ConsentRecord").objects
    purpose = records.get(kind="purpose")
    assert purpose.text_hash == hashlib.sha256("目的の文面".encode()).hexdigest() and purpose.purpose == "career_support"
    provided = records.get(kind="introduction")
    assert provided.purpose == "introduction:acme" and "株式会社アクメ" in provided.purpose_label
    [record] = new.get_model("relay", "ProvisionRecord").objects.all()
    assert (record.recipient_id, record.recipient_name, record.registrant_id, record.consent_id) == (
        acme.pk, "株式会社アクメ", person.pk, provided.pk)
    assert record.items == ["name", "email", "desired_job", "recommendation"]
    assert record.provided_at == now
