"""The REST API's errors, as a client meets them: one JSON shape for each kind (documented on every operation),
and input the schema does not allow is refused with a 4xx, never a server error, and never stored. The requests
the schemathesis run leaves out on purpose (NUL characters, lone surrogates) are sent here."""

import pytest
from django.test import Client

from tsunagu.companies.actions import issue_api_key, operator_party
from tsunagu.relay.models import ReferralRequest
from tsunagu.relay.tests.referrals import REQUEST, earn_slots
from tsunagu.talent.models import Application, Job
from tsunagu.testing import ApiClient, application_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(make_company):
    company, key = make_company(referral_ratio=1)
    return company, ApiClient(key)


def raw_post(api: ApiClient, path: str, body: bytes):
    return api.client.post(path, data=body, content_type="application/json", headers=api.headers)


def assert_message_error(response, status: int):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail"} and isinstance(body["detail"], str) and body["detail"], body


def assert_validation_error(response, *fields: str):
    assert response.status_code == 422, response.content
    body = response.json()
    assert set(body) == {"detail", "errors"}, body
    assert all({"loc", "msg", "type"} <= set(issue) for issue in body["detail"]), body
    for field in fields:
        assert field in body["errors"], body["errors"]
    return body


def test_each_error_kind_has_its_one_shape(acme):
    company, api = acme
    assert_message_error(ApiClient("tsu_wrong_key").get("/api/v1/messages"), 401)
    assert_message_error(api.get("/api/v1/applications/none-such"), 404)
    assert_message_error(raw_post(api, "/api/v1/applications", b"{not json"), 400)
    assert_message_error(api.post("/api/v1/relay/requests", REQUEST), 409)  # no free slot

    # 422 from the schema (django-ninja's issues) and from an action: the same two keys.
    body = assert_validation_error(
        api.post("/api/v1/applications", application_body(email_address="not-an-address")), "candidate.email")
    assert body["detail"][0]["loc"] == ["body", "payload", "candidate", "email"]
    earn_slots(company, 1)
    body = assert_validation_error(
        api.post("/api/v1/relay/requests", {**REQUEST, "salary_min": 5_000_000, "salary_max": 4_000_000}),
        "salary_max")
    assert body["detail"][0]["loc"] == ["body", "payload", "salary_max"] and body["detail"][0]["msg"]
    assert_validation_error(api.get("/api/v1/messages", limit="lots"), "limit")
    assert not ReferralRequest.objects.exists()


def test_a_malformed_body_says_why(acme):
    _company, api = acme
    response = raw_post(api, "/api/v1/applications", b'{"external_id": ')
    assert_message_error(response, 400)
    assert "Expecting value" in response.json()["detail"]


@pytest.mark.parametrize("body", [
    b'{"external_id": "A-\\u0000", "candidate": {"name": "a", "email": "a@example.jp"}, "job": {"title": "t"}, '
    b'"status": "active"}',
    b'{"external_id": "A-1", "candidate": {"name": "\\ud800", "email": "a@example.jp"}, "job": {"title": "t"}, '
    b'"status": "active"}',
    b'{"unknown": {"deep": ["\\u0000"]}, "external_id": "A-1"}',
    b"[" * 100_000 + b"]" * 100_000,  # past the stack
])
def test_text_no_database_can_store_and_bodies_past_the_stack_are_400_and_nothing_is_stored(acme, body):
    _company, api = acme
    assert_message_error(raw_post(api, "/api/v1/applications", body), 400)
    assert not Application.objects.exists()


def test_nul_in_a_query_or_a_path_is_422():
    # No company is needed to be refused: the rule is checked before any lookup (and before PostgreSQL).
    operator = ApiClient(issue_api_key(operator_party(), label="test"))
    assert_validation_error(operator.get("/api/v1/operator/registrations", company="ac\x00me"), "company")


def test_nul_in_the_company_apis_query_or_path_is_422(acme):
    _company, api = acme
    assert_validation_error(api.get("/api/v1/messages", application="A\x00"), "application")
    assert_validation_error(api.get("/api/v1/applications/A%00"), "external_id")


@pytest.mark.parametrize("body, field", [
    ('"AAA"', "__all__"),  # not an object: django-ninja would have read "AAA".title() as the title
    ("[]", "__all__"),
    ('{"title": "x", "headcount": "5"}', "headcount"),  # a string is no integer
    ('{"title": "x", "headcount": true}', "headcount"),
    ('{"title": "x", "deadline": 0}', "deadline"),  # a number is no date
])
def test_values_of_the_wrong_json_type_are_422(acme, body, field):
    company, api = acme
    earn_slots(company, 1)
    assert_validation_error(raw_post(api, "/api/v1/relay/requests", body.encode()), field)
    assert not ReferralRequest.objects.exists()


def test_an_integral_number_is_an_integer(acme):
    company, api = acme
    earn_slots(company, 1)
    response = api.post("/api/v1/relay/requests", {**REQUEST, "headcount": 2.0})
    assert response.status_code == 201 and response.json()["headcount"] == 2


@pytest.mark.parametrize("change, field", [
    ({"job": "AAA"}, "job"),
    ({"applied_at": 0}, "applied_at"),
    ({"occurred_at": "1700000000"}, "occurred_at"),
    ({"notify": "no"}, "notify"),
    ({"tags": ["x"] * 31}, "tags"),
])
def test_application_values_of_the_wrong_type_are_422(acme, change, field):
    _company, api = acme
    assert_validation_error(api.post("/api/v1/applications", application_body(**change)), field)
    assert not Application.objects.exists() and not Job.objects.exists()


def test_a_since_that_is_a_number_is_422():
    operator = ApiClient(issue_api_key(operator_party(), label="test"))
    assert_validation_error(operator.get("/api/v1/operator/registrants", since="0.5"), "since")
    assert operator.get("/api/v1/operator/registrants", since="2026-11-21T10:00:00").status_code == 200


def test_every_operation_documents_its_errors_with_the_shared_schemas():
    document = Client().get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert set(schemas["ErrorOut"]["required"]) == {"detail"}
    assert set(schemas["ValidationErrorOut"]["required"]) == {"detail", "errors"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "401" in responses, (method, path)
            for code, response in responses.items():
                if code.startswith("4"):
                    expected = "ValidationErrorOut" if code == "422" else "ErrorOut"
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref == f"#/components/schemas/{expected}", (method, path, code)
            if "requestBody" in operation:
                assert {"400", "422"} <= set(responses), (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
    # Formats and limits the API enforces are declared.
    candidate = schemas["CandidateIn"]["properties"]
    assert candidate["email"]["format"] == "email" and candidate["email"]["maxLength"] == 254
    request = schemas["RequestIn"]["properties"]
    assert request["headcount"]["maximum"] == 100 and request["title"]["maxLength"] == 200
    assert "enum" in schemas["EmploymentType"]
    # pydantic writes a limit it cannot place on an optional field under its own name; none is left so.
    text = str(document)
    assert "'ge':" not in text and "'le':" not in text


def test_offsets_past_what_postgresql_takes_are_read_as_the_instant_they_name(acme):
    _company, api = acme
    operator = ApiClient(issue_api_key(operator_party(), label="test"))
    # RFC 3339 allows offsets up to 23:59, PostgreSQL up to 15:59: the API compares in UTC.
    assert operator.get("/api/v1/operator/registrants", since="2026-11-19T16:04:20-18:36").status_code == 200
    response = api.post("/api/v1/applications", application_body(occurred_at="2026-11-21T10:00:00+20:17"))
    assert response.status_code == 201, response.content
    application = Application.objects.get()
    assert application.rejected_at.isoformat() == "2026-11-20T13:43:00+00:00"


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00", "0001-01-01T03:00:00+05:00", "9999-12-31T23:00:00"])
def test_times_at_the_edge_of_the_calendar_are_422(acme, moment):
    _company, api = acme
    assert_validation_error(api.post("/api/v1/applications", application_body(occurred_at=moment)), "occurred_at")
