"""A person deleted in the ATS is erased in Tsunagu too: Greenhouse `delete_candidate`, Ashby `candidateDelete`
and Lever `candidateDeleted`, each signed as the vendor signs. Replays, bad signatures, another company's ids
and malformed bodies change nothing. (Workable and HERP send no deletion event; see the README.)"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tsunagu.intake.actions import connections
from tsunagu.intake.actions.deliveries import process_queued_deliveries
from tsunagu.intake.actions.erasures import ALREADY_ERASED, NOBODY_KNOWN
from tsunagu.intake.actions.events import ERASED_OUTCOME
from tsunagu.intake.adapters.base import MAX_DELETED_APPLICATIONS, hmac_sha256_hex
from tsunagu.intake.adapters.greenhouse import NO_DELETED_APPLICATIONS
from tsunagu.intake.models import AtsConnection, DeliveryStatus, WebhookDelivery
from tsunagu.privacy.models import Erasure, ErasureReason
from tsunagu.privacy.tests.people import (
    EMAIL,
    NAME,
    PHONE,
    SECRETS,
    connection_url,
    greenhouse_rejection,
    known_in_every_way,
    post_greenhouse,
)
from tsunagu.privacy.tests.test_erasure import OPERATORS_RECORD, traces_of
from tsunagu.talent.models import Application, Candidate

pytestmark = pytest.mark.django_db

ASHBY_SECRET, LEVER_SECRET = "ashby-secret-token", "lever-signature-token"
ASHBY_CANDIDATE, LEVER_OPPORTUNITY = "5b0b5f5e-9c1a-4c11-8d0b-1f3b0e7e6a01", "250d8f03-738a-4bba-a671-8a3d73477145"


# --- the vendors' deletion events, as documented -----------------------------------------------------------

def greenhouse_deletion(application_ids=(7001,), candidate_id=9001) -> dict:
    """Greenhouse's `delete_candidate`: the person (their name too) and the applications deleted with them."""
    return {"action": "delete_candidate", "payload": {"person": {
        "id": candidate_id, "first_name": "𠮷子", "last_name": "髙橋", "company": None, "title": None,
        "created_at": "2026-03-22T00:00:00Z", "is_private": False, "can_email": True,
        "deleted_application_ids": list(application_ids)}}}


def ashby_deletion(candidate_id=ASHBY_CANDIDATE, action_id=None) -> dict:
    """Ashby's `candidateDelete`: only the deleted candidate's id."""
    return {"action": "candidateDelete", "webhookActionId": action_id or str(uuid.uuid4()),
            "data": {"candidate": {"id": candidate_id}}}


def ashby_rejection(application_id="ab-7001", candidate_id=ASHBY_CANDIDATE) -> dict:
    return {"action": "applicationUpdate", "webhookActionId": str(uuid.uuid4()), "data": {"application": {
        "id": application_id, "status": "Archived", "updatedAt": "2026-11-20T03:00:00Z",
        "candidate": {"id": candidate_id, "name": NAME, "primaryEmailAddress": {"value": EMAIL},
                      "primaryPhoneNumber": {"value": PHONE}},
        "currentInterviewStage": {"id": "s-1", "title": "一次面接"}, "job": {"id": "j-1", "title": "経理"},
        "archiveReason": {"id": "r-1", "text": "スキル不一致"}}}}


def lever_deletion(opportunity_id=LEVER_OPPORTUNITY, token=None, secret=LEVER_SECRET) -> dict:
    """Lever's `candidateDeleted`: ids only, signed in the body (token + triggeredAt)."""
    token, triggered_at = token or uuid.uuid4().hex, int(time.time() * 1000)
    return {"triggeredAt": triggered_at, "event": "candidateDeleted", "token": token,
            "signature": hmac_sha256_hex(secret, f"{token}{triggered_at}".encode()),
            "data": {"opportunityId": opportunity_id, "candidateId": opportunity_id, "contactId": "c-9",
                     "deletedBy": "u-1"}}


def post_ashby(client, connection, payload, secret=ASHBY_SECRET):
    body = json.dumps(payload).encode()
    return client.post(connection_url(connection), data=body, content_type="application/json",
                       headers={"Ashby-Signature": f"sha256={hmac_sha256_hex(secret, body)}"})


def post_lever(client, connection, payload):
    return client.post(connection_url(connection), data=json.dumps(payload).encode(), content_type="application/json")


# --- people the company knows through each ATS ---------------------------------------------------------------

def greenhouse_person(company, client):
    person = known_in_every_way(company, client)
    return AtsConnection.objects.get(company=company, kind="greenhouse"), person.candidate


def greenhouse_plain_person(company, client):
    """The same person known to a second company only through its Greenhouse (the relay knows them once)."""
    connection = connections.add_connection(company, kind="greenhouse", secret="gh-secret")
    assert post_greenhouse(client, connection, greenhouse_rejection(company), "gh-1").status_code == 200
    process_queued_deliveries()
    return connection, Application.objects.get(company=company, external_id="7001").candidate


def ashby_person(company, client, application_id="ab-7001"):
    connection = connections.add_connection(company, kind="ashby", secret=ASHBY_SECRET)
    assert post_ashby(client, connection, ashby_rejection(application_id)).status_code == 200
    process_queued_deliveries()
    return connection, Application.objects.get(company=company, external_id=application_id).candidate


def lever_person(company, api):
    """Lever's own events read its API; the person comes in through Tsunagu's API with Lever's opportunity id."""
    connection = connections.add_connection(company, kind="lever", secret=LEVER_SECRET, api_key="lever-api-key")
    response = api.post("/api/v1/applications", {
        "external_id": LEVER_OPPORTUNITY, "status": "rejected", "stage": "一次面接",
        "candidate": {"name": NAME, "email": EMAIL, "phone": PHONE}, "job": {"title": "経理"}})
    assert response.status_code in (200, 201), response.content
    return connection, Application.objects.get(company=company, external_id=LEVER_OPPORTUNITY).candidate


VENDORS = {
    "greenhouse": (greenhouse_person, lambda client, c, event_id: post_greenhouse(
        client, c, greenhouse_deletion(), event_id)),
    "ashby": (ashby_person, lambda client, c, event_id: post_ashby(client, c, ashby_deletion(action_id=event_id))),
    "lever": (lever_person, lambda client, c, event_id: post_lever(client, c, lever_deletion(token=event_id))),
}


def known_through(vendor, company, client, api):
    make = VENDORS[vendor][0]
    return make(company, api) if vendor == "lever" else make(company, client)


def delete_in_ats(vendor, client, connection, event_id):
    return VENDORS[vendor][1](client, connection, event_id)


def deliveries(connection):
    return WebhookDelivery.objects.filter(connection=connection)


# --- tests ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("vendor", sorted(VENDORS))
def test_a_deletion_in_the_ats_erases_the_person_and_a_replay_changes_nothing(vendor, company, client, api):
    connection, candidate = known_through(vendor, company, client, api)
    assert traces_of(SECRETS, outside=OPERATORS_RECORD)

    response = delete_in_ats(vendor, client, connection, "delete-1")
    assert response.status_code == 200, response.content
    process_queued_deliveries()

    candidate.refresh_from_db()
    assert candidate.erased_at is not None
    assert traces_of(SECRETS, outside=OPERATORS_RECORD) == []
    record = Erasure.objects.get(company=company, subject_kind="candidate", subject_id=candidate.pk)
    assert (record.reason, record.actor) == (ErasureReason.ATS, f"ATS {vendor}")
    delivery = deliveries(connection).get(event_id="delete-1")
    assert (delivery.status, delivery.outcome, delivery.payload) == (DeliveryStatus.PROCESSED,
                                                                       "erased 1 candidate(s)", {})

    # The vendor retries the same event: received once, erased once.
    stored = deliveries(connection).count()
    replay = delete_in_ats(vendor, client, connection, "delete-1")
    assert replay.status_code == 200 and b"duplicate" in replay.content
    process_queued_deliveries()
    assert deliveries(connection).count() == stored
    assert Erasure.objects.filter(company=company).count() == 1


@pytest.mark.parametrize("vendor", sorted(VENDORS))
def test_a_badly_signed_deletion_is_refused_and_erases_nothing(vendor, company, client, api):
    connection, candidate = known_through(vendor, company, client, api)
    stored = deliveries(connection).count()
    if vendor == "greenhouse":
        body = json.dumps(greenhouse_deletion()).encode()
        response = client.post(connection_url(connection), data=body, content_type="application/json", headers={
            "Signature": f"sha256 {hmac_sha256_hex('not-the-secret', body)}", "Greenhouse-Event-ID": "forged"})
    elif vendor == "ashby":
        response = post_ashby(client, connection, ashby_deletion(), secret="not-the-secret")
    else:
        response = post_lever(client, connection, lever_deletion(secret="not-the-secret"))

    assert response.status_code == 401
    process_queued_deliveries()
    candidate.refresh_from_db()
    assert candidate.erased_at is None and candidate.email == EMAIL
    assert deliveries(connection).count() == stored
    assert not Erasure.objects.exists()


def test_greenhouse_erases_only_the_connections_company(make_company, client):
    ours, _key = make_company(slug="ours", name="当社")
    theirs, _key = make_company(slug="theirs", name="他社")
    connection, _candidate = greenhouse_person(ours, client)
    # Another company knows a person under the same Greenhouse application id, and one under another id.
    _their_connection, same_id = greenhouse_plain_person(theirs, client)
    other_id = Candidate.objects.create(company=theirs, name="別の 人", email="other@example.jp",
                                        email_key="other@example.jp", name_key="別の人")
    Application.objects.create(company=theirs, external_id="8001", candidate=other_id,
                               job=Application.objects.filter(company=theirs).first().job, source="greenhouse")

    # An id only the other company has: nothing is erased, and the delivery says so.
    post_greenhouse(client, connection, greenhouse_deletion(application_ids=[8001]), "delete-theirs")
    process_queued_deliveries()
    delivery = deliveries(connection).get(event_id="delete-theirs")
    assert (delivery.status, delivery.outcome, delivery.payload) == (DeliveryStatus.IGNORED, NOBODY_KNOWN, {})
    assert not Erasure.objects.exists()

    # The id both companies have: only ours is erased.
    post_greenhouse(client, connection, greenhouse_deletion(), "delete-ours")
    process_queued_deliveries()
    assert list(Erasure.objects.values_list("company__slug", flat=True)) == ["ours"]
    same_id.refresh_from_db()
    other_id.refresh_from_db()
    assert same_id.erased_at is None and same_id.email == EMAIL
    assert other_id.erased_at is None and other_id.name == "別の 人"


def test_ashby_finds_the_person_only_through_its_companys_deliveries(make_company, client):
    ours, _key = make_company(slug="ours", name="当社")
    theirs, _key = make_company(slug="theirs", name="他社")
    connection, candidate = ashby_person(ours, client)
    _theirs, their_candidate = ashby_person(theirs, client, application_id="ab-9001")  # the same Ashby candidate id

    post_ashby(client, connection, ashby_deletion(action_id="delete-1"))
    process_queued_deliveries()

    candidate.refresh_from_db()
    their_candidate.refresh_from_db()
    assert candidate.erased_at is not None
    assert their_candidate.erased_at is None and their_candidate.email == EMAIL


def test_unknown_ids_and_people_already_erased_change_nothing(company, client):
    connection, candidate = greenhouse_person(company, client)
    post_greenhouse(client, connection, greenhouse_deletion(application_ids=[123456]), "unknown")
    process_queued_deliveries()
    delivery = deliveries(connection).get(event_id="unknown")
    assert (delivery.status, delivery.outcome, delivery.payload) == (DeliveryStatus.IGNORED, NOBODY_KNOWN, {})
    candidate.refresh_from_db()
    assert candidate.erased_at is None

    post_greenhouse(client, connection, greenhouse_deletion(), "first")
    process_queued_deliveries()
    # Greenhouse fires again for the same person under a new event id (e.g. a bulk delete repeated).
    post_greenhouse(client, connection, greenhouse_deletion(), "again")
    process_queued_deliveries()
    delivery = deliveries(connection).get(event_id="again")
    assert (delivery.status, delivery.outcome) == (DeliveryStatus.IGNORED, ALREADY_ERASED)
    assert Erasure.objects.filter(company=company).count() == 1

    # And what Greenhouse says of the deleted application afterwards is not taken back in.
    post_greenhouse(client, connection, greenhouse_rejection(company), "late-update")
    process_queued_deliveries()
    assert deliveries(connection).get(event_id="late-update").outcome == ERASED_OUTCOME
    assert traces_of(SECRETS, outside=OPERATORS_RECORD) == []


def test_a_merge_naming_no_deleted_application_erases_nothing(company, client):
    connection, candidate = greenhouse_person(company, client)
    for event_id, person in (("merge-empty", {"deleted_application_ids": []}), ("merge-absent", {})):
        payload = greenhouse_deletion()
        payload["payload"]["person"] = {"id": 9001, "first_name": "𠮷子", "last_name": "髙橋", **person}
        assert post_greenhouse(client, connection, payload, event_id).status_code == 200
        delivery = deliveries(connection).get(event_id=event_id)
        # Not queued: recorded as ignored at once, without the payload (it holds the person's name).
        assert (delivery.status, delivery.outcome, delivery.payload) == (
            DeliveryStatus.IGNORED, NO_DELETED_APPLICATIONS, {})
    process_queued_deliveries()
    candidate.refresh_from_db()
    assert candidate.erased_at is None


TOO_MANY = list(range(1, MAX_DELETED_APPLICATIONS + 2))


@pytest.mark.parametrize("person", [
    {"deleted_application_ids": "7001"},
    {"deleted_application_ids": [True]},
    {"deleted_application_ids": [7001.5]},
    {"deleted_application_ids": [{"id": 7001}]},
    {"deleted_application_ids": TOO_MANY},
    {"deleted_application_ids": ["x" * 201]},
    {"application_ids": {"7001": True}},
    "7001",
])
def test_a_malformed_greenhouse_deletion_is_refused_and_changes_nothing(person, company, client):
    connection, candidate = greenhouse_person(company, client)
    stored = deliveries(connection).count()
    payload = {"action": "delete_candidate", "payload": {"person": person}}
    response = post_greenhouse(client, connection, payload, "malformed")
    assert response.status_code == 400
    assert b"deleted_application_ids" in response.content or b"application_ids" in response.content \
        or b"person" in response.content
    process_queued_deliveries()
    assert deliveries(connection).count() == stored
    candidate.refresh_from_db()
    assert candidate.erased_at is None and not Erasure.objects.exists()


@pytest.mark.parametrize("data, status, outcome", [
    ({"candidate": {"id": 5.5}}, 400, None),
    ({"candidate": {"id": ["x"]}}, 400, None),
    ({"candidate": "x"}, 400, None),
    ({"candidate": {"id": "x" * 201}}, 400, None),
    ({"candidate": {}}, 200, "candidateDelete naming no candidate: nothing erased"),
    ({}, 200, "candidateDelete naming no candidate: nothing erased"),
])
def test_a_malformed_ashby_deletion_changes_nothing(data, status, outcome, company, client):
    connection, candidate = ashby_person(company, client)
    stored = deliveries(connection).count()
    response = post_ashby(client, connection, {"action": "candidateDelete", "webhookActionId": "bad", "data": data})
    assert response.status_code == status
    process_queued_deliveries()
    if outcome:
        assert deliveries(connection).get(event_id="bad").outcome == outcome
    else:
        assert deliveries(connection).count() == stored
    candidate.refresh_from_db()
    assert candidate.erased_at is None and not Erasure.objects.exists()


@pytest.mark.parametrize("data, status", [
    ({"opportunityId": 7001}, 400),
    ({"opportunityId": ["x"]}, 400),
    ({"opportunityId": "x" * 201}, 400),
    ({"opportunityId": ""}, 200),
    ({}, 200),
])
def test_a_malformed_lever_deletion_changes_nothing(data, status, company, client, api):
    connection, candidate = lever_person(company, api)
    payload = lever_deletion()
    payload["data"] = data
    assert post_lever(client, connection, payload).status_code == status
    process_queued_deliveries()
    candidate.refresh_from_db()
    assert candidate.erased_at is None and not Erasure.objects.exists()
