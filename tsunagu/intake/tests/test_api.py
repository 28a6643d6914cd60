"""The REST API as an ATS integrator uses it."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from tsunagu.messaging.models import Message, MessageStatus
from tsunagu.talent.models import Application, ApplicationEvent, Candidate
from tsunagu.testing import ApiClient, application_body

pytestmark = pytest.mark.django_db


def test_rejection_creates_application_and_plans_exactly_one_notice(api, company):
    response = api.post("/api/v1/applications", application_body())
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["external_id"] == "A-1001"
    assert data["status"] == "rejected"
    assert data["stage"] == "first_interview"
    assert data["candidate"]["name"] == "髙橋 𠮷子"
    assert data["notice"]["status"] == "scheduled"

    again = api.post("/api/v1/applications", application_body())
    assert again.status_code == 200
    assert Message.objects.filter(company=company).count() == 1

    messages = api.get("/api/v1/messages", application="A-1001").json()
    assert [(m["kind"], m["status"]) for m in messages] == [("rejection", "scheduled")]
    assert set(messages[0]) >= {"kind", "status", "send_at", "sent_at"}


def test_names_with_rare_kanji_survive_the_round_trip(api):
    body = application_body(candidate={"name": "髙橋 𠮷子", "name_kana": "タカハシ ヨシコ",
                                       "email": "y@example.jp"})
    api.post("/api/v1/applications", body)
    data = api.get("/api/v1/applications/A-1001").json()
    assert data["candidate"]["name"] == "髙橋 𠮷子"
    assert Candidate.objects.get().name == "髙橋 𠮷子"


def test_only_the_documented_fields_are_required(api):
    body = {"external_id": "A-2", "candidate": {"name": "山﨑 太郎", "email": "taro@example.jp"},
            "job": {"title": "法人営業"}, "status": "active"}
    response = api.post("/api/v1/applications", body)
    assert response.status_code == 201, response.content
    assert response.json()["notice"] is None


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda b: b["candidate"].pop("email"), "email"),
        (lambda b: b["candidate"].update(email="not-an-address"), "email"),
        (lambda b: b.update(status="maybe"), "status"),
        (lambda b: b.pop("external_id"), "external_id"),
        (lambda b: b["job"].pop("title"), "title"),
        (lambda b: b["candidate"].update(name="   "), "name"),
    ],
)
def test_invalid_bodies_get_422_naming_the_field_and_change_nothing(api, mutate, field):
    body = application_body()
    mutate(body)
    response = api.post("/api/v1/applications", body)
    assert response.status_code == 422
    locations = [error["loc"] for error in response.json()["detail"]]
    assert any(field in location for location in locations), locations
    assert Application.objects.count() == 0
    assert Message.objects.count() == 0


def test_malformed_json_is_rejected(api):
    response = api.client.post("/api/v1/applications", data="{not json", content_type="application/json",
                               headers=api.headers)
    assert response.status_code in (400, 422)
    assert Application.objects.count() == 0


@pytest.mark.parametrize("key", [None, "wrong", "tsu_deadbeef_nope"])
def test_missing_or_wrong_key_is_401(company, key):
    response = ApiClient(key).post("/api/v1/applications", application_body())
    assert response.status_code == 401
    assert ApiClient(key).get("/api/v1/relay/ledger").status_code == 401
    assert Application.objects.count() == 0


def test_another_companys_ids_are_404(api, make_company):
    _other, other_key = make_company(slug="other", name="株式会社ほか")
    other = ApiClient(other_key)
    assert other.post("/api/v1/applications", application_body(external_id="B-1")).status_code == 201
    assert api.get("/api/v1/applications/B-1").status_code == 404
    assert api.get("/api/v1/messages", application="B-1").json() == []
    # The same external id in two companies is two applications.
    assert api.post("/api/v1/applications", application_body(external_id="B-1")).status_code == 201
    assert Application.objects.filter(external_id="B-1").count() == 2


def test_unreject_before_sending_cancels_the_notice(api, make_company):
    company, key = make_company(slug="slow", delay_minutes=60)
    client = ApiClient(key)
    client.post("/api/v1/applications", application_body())
    response = client.post("/api/v1/applications", application_body(status="active"))
    assert response.json()["notice"]["status"] == "cancelled"
    message = Message.objects.get(company=company)
    assert message.status == MessageStatus.CANCELLED
    assert "active" in message.cancel_reason


def test_hired_cancels_and_a_second_rejection_replans_the_same_notice(api, make_company):
    company, key = make_company(slug="slow", delay_minutes=60)
    client = ApiClient(key)
    client.post("/api/v1/applications", application_body())
    client.post("/api/v1/applications", application_body(status="hired"))
    assert Message.objects.get().status == MessageStatus.CANCELLED
    client.post("/api/v1/applications", application_body(status="rejected"))
    message = Message.objects.get()
    assert message.status == MessageStatus.SCHEDULED
    assert message.send_at > timezone.now() + timedelta(minutes=55)


def test_repeated_event_id_changes_nothing(api):
    first = api.post("/api/v1/applications", application_body(event_id="evt-1"))
    assert first.status_code == 201
    again = api.post("/api/v1/applications", application_body(event_id="evt-1", status="active"))
    assert again.status_code == 200
    assert again.json()["status"] == "rejected"
    assert ApplicationEvent.objects.count() == 1


def test_an_older_event_arriving_late_does_not_override_a_newer_one(api, make_company):
    company, key = make_company(slug="slow", delay_minutes=60)
    client = ApiClient(key)
    now = timezone.now()
    client.post("/api/v1/applications", application_body(status="active", occurred_at=now.isoformat()))
    late = client.post("/api/v1/applications",
                       application_body(status="rejected", occurred_at=(now - timedelta(hours=1)).isoformat()))
    assert late.json()["status"] == "active"
    assert late.json()["notice"] is None
    events = list(ApplicationEvent.objects.order_by("received_at"))
    assert [e.applied for e in events] == [True, False]


def test_history_can_be_recorded_without_a_notice(api):
    response = api.post("/api/v1/applications", application_body(notify=False))
    assert response.json()["status"] == "rejected"
    assert response.json()["notice"] is None


def test_ledger_starts_empty(api):
    assert api.get("/api/v1/relay/ledger").json() == {
        "credits": 0, "credits_held": 0, "slots_earned": 0, "slots_redeemed": 0, "slots_available": 0, "ratio": 10,
        "credits_to_next_slot": 10,
    }


def test_openapi_document_describes_the_endpoints_with_examples(client):
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    assert "/api/v1/applications" in paths
    assert "/api/v1/applications/{external_id}" in paths
    assert "/api/v1/messages" in paths
    assert "/api/v1/relay/ledger" in paths
    body_schema = schema["components"]["schemas"]["ApplicationIn"]
    assert body_schema["examples"][0]["candidate"]["name"] == "髙橋 𠮷子"
    assert client.get("/api/v1/docs").status_code == 200


def test_application_date_channel_evaluation_and_tags_are_optional_and_kept(api, company):
    body = application_body(applied_at="2026-10-01T09:00:00", channel="自社採用サイト", evaluation="B",
                            tags=["Python", " リーダー経験 ", "python"])
    data = api.post("/api/v1/applications", body).json()
    # Without an offset, read in the company's time zone (Asia/Tokyo).
    assert datetime.fromisoformat(data["applied_at"]) == datetime(2026, 10, 1, tzinfo=UTC)
    assert (data["channel"], data["evaluation"], data["tags"]) == ("自社採用サイト", "B", ["Python", "リーダー経験"])

    # Later events that do not mention them keep them.
    data = api.post("/api/v1/applications", application_body(status="active")).json()
    assert (data["channel"], data["evaluation"], data["tags"]) == ("自社採用サイト", "B", ["Python", "リーダー経験"])
    application = Application.objects.get(company=company)
    assert application.applied_at == datetime(2026, 10, 1, tzinfo=UTC)
    assert application.tags == ["Python", "リーダー経験"]

    too_long = api.post("/api/v1/applications", application_body(tags=["x" * 51]))
    assert too_long.status_code == 422
