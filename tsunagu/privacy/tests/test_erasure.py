"""Erasing a person leaves no trace of their name, address or phone number in any table: every text and JSON
column of every model is read back and searched (on SQLite and PostgreSQL alike), while the rows that counts
are made of stay and the dashboards' numbers do not move."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import models

from tsunagu.analytics.selectors import loop_counts as dashboard_numbers
from tsunagu.companies.actions import operator_party
from tsunagu.companies.models import AccessLog
from tsunagu.intake.actions import imports
from tsunagu.messaging.actions.delivery import deliver_due_messages
from tsunagu.messaging.models import Message, MessageKind, MessageStatus, Suppression
from tsunagu.privacy.actions.erasure import erase_candidate, erase_registrant
from tsunagu.privacy.models import Erasure, ErasureReason
from tsunagu.privacy.tests.people import (
    EMAIL,
    NAME,
    SECRETS,
    greenhouse_rejection,
    known_in_every_way,
    post_greenhouse,
)
from tsunagu.relay.models import Registration
from tsunagu.talent.models import Application, Candidate

pytestmark = pytest.mark.django_db

_TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)
# The registrant is the relay operator's record of the person, erased when they ask the operator.
OPERATORS_RECORD = ("relay.Registrant",)


def traces_of(secrets, *, outside=()) -> list[str]:
    """Every (model.field: secret) where a secret still appears, across all installed models but `outside`."""
    found = []
    for model in apps.get_models():
        if model._meta.label in outside:
            continue
        fields = [f for f in model._meta.concrete_fields if isinstance(f, _TEXT_FIELDS)]
        if not fields:
            continue
        for row in model._default_manager.values_list(*[f.attname for f in fields]):
            for field, value in zip(fields, row, strict=True):
                text = value if isinstance(value, str) else repr(value)
                found += [f"{model._meta.label}.{field.name}: {secret}" for secret in secrets if secret in text]
    return found


def test_the_api_erases_a_candidate_everywhere_and_counts_stay(api, company, client):
    person = known_in_every_way(company, client)
    assert traces_of(SECRETS), "the scene holds the person's data before"
    before = dashboard_numbers(company)
    other = Candidate.objects.create(company=company, name="別の 人", email="other@example.jp",
                                     email_key="other@example.jp", name_key="別の人")

    response = api.client.delete(f"/api/v1/candidates/{person.candidate.pk}", headers=api.headers)

    assert response.status_code == 204
    # The registrant is the relay operator's record, not the company's: erased on the person's request to it.
    registrant = Registration.objects.get(candidate=person.candidate).registrant
    assert {t.split(":")[0] for t in traces_of(SECRETS)} == {
        f"relay.Registrant.{field}" for field in ("name", "name_key", "email", "email_key", "phone", "phone_e164")}
    erase_registrant(registrant, operator=operator_party(), reason=ErasureReason.REQUEST)
    assert traces_of(SECRETS) == []
    assert dashboard_numbers(company) == before
    assert Application.objects.filter(pk=person.application.pk).exists()
    assert Message.objects.get(pk=person.notice.pk).status == MessageStatus.SENT
    assert api.get(f"/api/v1/candidates/{person.candidate.pk}").status_code == 404
    assert api.get("/api/v1/applications/7001").status_code == 404
    assert api.client.delete(f"/api/v1/candidates/{person.candidate.pk}", headers=api.headers).status_code == 404
    again = api.post("/api/v1/applications", {"external_id": "7001", "status": "rejected", "job": {"title": "x"},
                                              "candidate": {"name": NAME, "email": EMAIL}})
    assert again.status_code == 409 and traces_of([NAME, EMAIL], outside=OPERATORS_RECORD) == []
    assert Candidate.objects.get(pk=other.pk).name == "別の 人"
    record = Erasure.objects.get(subject_kind="candidate", subject_id=person.candidate.pk)
    assert record.reason == ErasureReason.API and record.counts["messaging.message"] >= 1
    logged = AccessLog.objects.get(company=company, action="delete")
    assert (logged.channel, logged.subject_id) == ("api", person.candidate.pk) and logged.actor.startswith("API key")


def test_another_companys_candidate_answers_404_and_is_untouched(api, make_company, client):
    other_company, _key = make_company(slug="other", name="他社")
    person = known_in_every_way(other_company, client)

    assert api.client.delete(f"/api/v1/candidates/{person.candidate.pk}", headers=api.headers).status_code == 404
    assert api.get(f"/api/v1/candidates/{person.candidate.pk}/export").status_code == 404
    assert Candidate.objects.get(pk=person.candidate.pk).name == NAME
    assert not Erasure.objects.exists()


def test_junk_ids_answer_clearly(api):
    for path in ("0", "-1", "abc", str(2**63), "1%00"):
        assert api.client.delete(f"/api/v1/candidates/{path}", headers=api.headers).status_code in (404, 422)
    assert api.client.delete("/api/v1/candidates/1").status_code == 401


def test_the_ats_cannot_bring_an_erased_person_back(company, client):
    person = known_in_every_way(company, client)
    erase_candidate(person.candidate, reason=ErasureReason.STAFF, suppress_mail=True)
    connection = person.application.company.ats_connections.get()

    # The ATS repeats itself about the same application: nothing of the person comes back.
    payload = greenhouse_rejection(company)
    payload["action"] = "candidate_stage_change"
    assert post_greenhouse(client, connection, payload, "gh-2").status_code in (200, 202)
    from tsunagu.intake.actions.deliveries import process_queued_deliveries
    process_queued_deliveries()
    assert traces_of([NAME, EMAIL], outside=OPERATORS_RECORD) == []

    # They apply again for another job: a new person in the pool, but not mailed (they chose so).
    payload = greenhouse_rejection(company, application_id=7002, candidate_id=9002)
    assert post_greenhouse(client, connection, payload, "gh-3").status_code in (200, 202)
    process_queued_deliveries()
    deliver_due_messages()
    again = Application.objects.get(company=company, external_id="7002")
    notice = Message.objects.get(application=again, kind=MessageKind.REJECTION)
    assert notice.status == MessageStatus.SUPPRESSED
    assert Suppression.objects.get(company=company, email="").email_key.startswith("erased:")


@pytest.mark.parametrize("send_notices", [False, True])
def test_a_csv_import_cannot_bring_an_erased_person_back(company, tmp_path, send_notices):
    header = "応募ID,氏名,メールアドレス,電話番号,応募職種,選考結果\n"
    path = tmp_path / "export.csv"
    path.write_text(header + f"C-1,{NAME},{EMAIL},090-4321-8765,経理,選考中\n", encoding="utf-8-sig")
    imports.import_csv(company, path, dry_run=False)
    erase_candidate(Candidate.objects.get(company=company), reason=ErasureReason.STAFF)

    path.write_text(header + f"C-1,{NAME},{EMAIL},090-4321-8765,経理,不採用\n", encoding="utf-8-sig")
    result = imports.import_csv(company, path, dry_run=False, send_notices=send_notices)

    assert (result.imported, result.updated, result.skipped) == (0, 0, 1)
    assert result.errors == [{"line": 2, "message": "この応募の方の個人情報は削除済みのため、取り込みませんでした"}]
    assert traces_of([NAME, EMAIL, "4321-8765"]) == []
    assert not Message.objects.filter(company=company).exists()


def test_erasing_a_registrant_who_was_introduced_leaves_the_records_without_them(make_company):
    from tsunagu.relay.actions import introductions
    from tsunagu.relay.actions import requests as referral_requests
    from tsunagu.relay.introduction_consent import introduction_consent_text, text_digest
    from tsunagu.relay.models import Introduction, ProvisionRecord
    from tsunagu.relay.tests.referrals import REQUEST, earn_slots, registrant

    hiring, _key = make_company(slug="hiring", name="株式会社採用", referral_ratio=1)
    earn_slots(hiring, 1)
    referral = referral_requests.file_request(hiring, referral_requests.RequestForm(**REQUEST))
    person = registrant(EMAIL, name=NAME, phone="090-4321-8765")
    introduction = introductions.propose(referral, person, recommendation=f"{NAME}さんは経理の経験が豊富です。")
    token = introductions.consent_link(introduction).rsplit("/", 1)[1]
    shown = text_digest(introduction_consent_text(introduction, operator_party()))
    assert introductions.answer_consent(token, consent=True, shown_digest=shown).result == "consented"
    assert ProvisionRecord.objects.filter(introduction=introduction).exists()
    assert traces_of(SECRETS)

    erase_registrant(person, operator=operator_party(), reason=ErasureReason.REQUEST)

    assert traces_of(SECRETS) == []
    assert Introduction.objects.get(pk=introduction.pk).status == "introduced", "the company's history stays"
    assert ProvisionRecord.objects.filter(introduction=introduction).exists(), "the law's record stays, nameless"
