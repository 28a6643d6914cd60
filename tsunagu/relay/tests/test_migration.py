"""Existing data moves into the relay's new shape: the ratio becomes the contract, registrations registrants,
credits stay (relay migrations 0002-0004, companies 0005-0006)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("relay", "0001_initial"), ("companies", "0004_closed_days")]


def migrate(targets):
    """Migrate the test database to `targets`; the models as the database now is (every app as applied)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection)._create_project_state(with_applied_migrations=True).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def before():
    """The database as it was before the relay's new shape; brought back to the latest schema afterwards
    whatever happens, so the tests that follow find it as they expect."""
    try:
        yield migrate(BEFORE)
    finally:
        migrate(latest())


def test_registrations_become_registrants_and_the_ratio_the_contract(before):
    old = before
    Company = old.get_model("companies", "Company")
    acme = Company.objects.create(slug="acme", name="株式会社アクメ", referral_ratio=7)
    other = Company.objects.create(slug="other", name="株式会社ほか")
    now = timezone.now()
    Job, Candidate, Application = (old.get_model("talent", name) for name in ("Job", "Candidate", "Application"))
    Message = old.get_model("messaging", "Message")
    RegistrationRequest, Registration = (old.get_model("relay", name) for name in ("RegistrationRequest",
                                                                                   "Registration"))
    LedgerEntry = old.get_model("relay", "LedgerEntry")

    def register(company, address, days_ago, credited):
        job = Job.objects.create(company=company, title="営業")
        candidate = Candidate.objects.create(company=company, name="髙橋 𠮷子", email=address,
                                             email_key=address.lower())
        application = Application.objects.create(company=company, external_id=f"A-{address}", candidate=candidate,
                                                 job=job, status="rejected")
        message = Message.objects.create(company=company, kind="rejection", key=f"rejection:{application.pk}",
                                         application=application, to_email=address, to_name="髙橋 𠮷子",
                                         send_at=now, status="sent")
        details = {"name": "髙橋 𠮷子", "email": address, "desired_job": "営業", "desired_region": "東京都",
                   "consent_version": "2026-11-21", "consented_at": now - timedelta(days=days_ago)}
        request = RegistrationRequest.objects.create(company=company, message=message, candidate=candidate,
                                                     **details)
        registration = Registration.objects.create(company=company, candidate=candidate, request=request,
                                                   **details)
        if credited:
            number = LedgerEntry.objects.filter(company=company, kind="credit").count() + 1
            LedgerEntry.objects.create(company=company, kind="credit", number=number, registration=registration,
                                       progress_after=number)
        return registration

    first = register(acme, "Yoshiko@Example.jp", 3, credited=True)
    again = register(other, "yoshiko@example.jp", 1, credited=True)  # the same person, credited twice before
    alone = register(other, "taro@example.jp", 2, credited=True)

    new = migrate(latest())
    Contract = new.get_model("relay", "Contract")
    assert dict(Contract.objects.values_list("company__slug", "ratio")) == {"acme": 7, "other": 10}
    Registration = new.get_model("relay", "Registration")
    Registrant = new.get_model("relay", "Registrant")
    assert Registrant.objects.count() == 2
    yoshiko = Registrant.objects.get(email_key="yoshiko@example.jp")
    assert yoshiko.first_company.slug == "acme" and yoshiko.name == "髙橋 𠮷子" and yoshiko.desired_region == "東京都"
    statuses = {r.pk: (r.registrant_id, r.credit_status) for r in Registration.objects.all()}
    assert statuses[first.pk] == (yoshiko.pk, "credited")
    assert statuses[again.pk] == (yoshiko.pk, "credited")  # credited before: existing credits stay
    assert statuses[alone.pk][1] == "credited"
    assert new.get_model("relay", "LedgerEntry").objects.filter(kind="credit").count() == 3
    consents = new.get_model("relay", "ConsentRecord").objects.filter(registrant=yoshiko)
    assert sorted(consents.values_list("kind", flat=True)) == ["provision", "purpose"]
    assert all("2026-11-21" in consent.text and consent.version == "2026-11-21" for consent in consents)
