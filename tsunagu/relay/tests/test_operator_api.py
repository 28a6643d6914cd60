"""The relay operator's API (/api/v1/operator/) and `tsunagu operator key`: only the operator's key opens it,
bad input answers clearly and changes nothing."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from tsunagu.companies.actions import issue_api_key, operator_party
from tsunagu.companies.models import ApiKey
from tsunagu.relay import fraud
from tsunagu.relay.models import CreditStatus, LedgerEntry, LedgerKind, Registrant, Registration
from tsunagu.relay.selectors import ledger_summary
from tsunagu.relay.tests.desk_factories import make_registration
from tsunagu.testing import ApiClient

pytestmark = pytest.mark.django_db

ENDPOINTS = [("get", "/api/v1/operator/registrations"), ("get", "/api/v1/operator/registrants"),
             ("post", "/api/v1/operator/registrations/{id}/approve"),
             ("post", "/api/v1/operator/registrations/{id}/void"),
             ("post", "/api/v1/operator/registrations/{id}/reverse")]


@pytest.fixture
def operator_api():
    return ApiClient(issue_api_key(operator_party(), label="test"))


@pytest.fixture
def acme(make_company):
    return make_company(slug="acme", name="株式会社アクメ")


def call(client, method, path, held):
    path = path.format(id=held.pk)
    return client.get(path) if method == "get" else client.post(path, {"reason": "承認"})


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_a_company_key_or_no_key_is_refused(acme, method, path):
    company, company_key = acme
    held = make_registration(company, status=CreditStatus.HELD, reasons=["address_differs"])
    for client in (ApiClient(company_key), ApiClient(None), ApiClient("tsu_nothing_here")):
        response = call(client, method, path, held)
        assert response.status_code == 401, (client.headers, response.content)
    held.refresh_from_db()
    assert held.credit_status == CreditStatus.HELD and not LedgerEntry.objects.exists()


def test_the_operator_key_opens_nothing_of_the_company_api(operator_api, acme):
    assert operator_api.get("/api/v1/relay/ledger").status_code == 401
    assert operator_api.get("/api/v1/messages").status_code == 401


def test_registrations_by_status_with_company_and_reasons(operator_api, acme, make_company):
    company, _key = acme
    beta = make_company(slug="beta", name="ベータ株式会社")[0]
    held = make_registration(company, email="h@example.jp", status=CreditStatus.HELD,
                             reasons=["address_differs", "some_new_signal"])
    make_registration(beta, email="c@example.jp")
    make_registration(beta, email="v@example.jp", status=CreditStatus.VOIDED, reasons=["手動で無効"])

    response = operator_api.get("/api/v1/operator/registrations", status="held")
    assert response.status_code == 200 and response["X-Total-Count"] == "1"
    [item] = response.json()
    assert item["id"] == held.pk and item["company"] == "acme" and item["registrant"] == held.registrant_id
    assert item["reasons"] == ["address_differs", "some_new_signal"] and item["credit_status"] == "held"
    assert item["reason_labels"] == [str(fraud.SIGNALS[fraud.ADDRESS_DIFFERS]), "some_new_signal"]  # else the code
    assert item["created_at"]
    assert [r["company"] for r in operator_api.get("/api/v1/operator/registrations", status="credited").json()] \
        == ["beta"]
    assert operator_api.get("/api/v1/operator/registrations", status="voided").json()[0]["reasons"] == ["手動で無効"]
    assert len(operator_api.get("/api/v1/operator/registrations").json()) == 3
    assert operator_api.get("/api/v1/operator/registrations", company="beta")["X-Total-Count"] == "2"
    assert operator_api.get("/api/v1/operator/registrations", status="held", company="beta").json() == []
    assert operator_api.get("/api/v1/operator/registrations", status="held", company="nope").json() == []


def test_registrations_page_with_limit_and_offset(operator_api, acme):
    company, _key = acme
    ids = [make_registration(company, email=f"h{n}@example.jp", status=CreditStatus.HELD).pk for n in range(5)]
    first = operator_api.get("/api/v1/operator/registrations", status="held", limit=2).json()
    rest = operator_api.get("/api/v1/operator/registrations", status="held", limit=2, offset=2).json()
    last = operator_api.get("/api/v1/operator/registrations", status="held", limit=2, offset=4).json()
    assert [r["id"] for r in first + rest + last] == ids  # the queue: oldest first
    assert operator_api.get("/api/v1/operator/registrations", limit=0).status_code == 422
    assert operator_api.get("/api/v1/operator/registrations", limit=501).status_code == 422


def test_an_unknown_status_answers_clearly(operator_api, acme):
    response = operator_api.get("/api/v1/operator/registrations", status="pending")
    assert response.status_code == 422
    detail = json.dumps(response.json(), ensure_ascii=False)
    assert "status" in detail and "held" in detail and "duplicate" in detail


def test_approve_credits_then_a_second_approve_is_a_conflict(operator_api, acme):
    company, _key = acme
    held = make_registration(company, status=CreditStatus.HELD, reasons=["address_differs"])
    response = operator_api.post(f"/api/v1/operator/registrations/{held.pk}/approve", {"reason": "電話で本人確認"})
    assert response.status_code == 200
    assert (response.json()["credit_status"], response.json()["review_note"]) == ("credited", "電話で本人確認")
    assert ledger_summary(company).credits == 1
    again = operator_api.post(f"/api/v1/operator/registrations/{held.pk}/approve", {})
    assert again.status_code == 409 and "確認待ちの登録だけを承認できます" in again.json()["detail"]
    assert LedgerEntry.objects.filter(kind=LedgerKind.CREDIT).count() == 1
    held.refresh_from_db()
    assert held.reviewed_by is None  # decided through the API, not by a console user


def test_approve_takes_no_body_at_all(operator_api, acme):
    held = make_registration(acme[0], status=CreditStatus.HELD)
    # As `curl -X POST` sends it: no body, no content type.
    response = operator_api.client.generic("POST", f"/api/v1/operator/registrations/{held.pk}/approve", b"",
                                           content_type="", headers=operator_api.headers)
    assert response.status_code == 200 and response.json()["credit_status"] == "credited"


@pytest.mark.parametrize("payload", [{"reason": ""}, {"reason": "   "}, {}])
def test_void_without_a_reason_is_refused_and_changes_nothing(operator_api, acme, payload):
    held = make_registration(acme[0], status=CreditStatus.HELD)
    response = operator_api.post(f"/api/v1/operator/registrations/{held.pk}/void", payload)
    assert response.status_code == 400 and "理由を入力してください" in response.json()["detail"]
    held.refresh_from_db()
    assert held.credit_status == CreditStatus.HELD and held.reviewed_at is None


def test_void_and_a_void_of_a_decided_registration(operator_api, acme):
    held = make_registration(acme[0], status=CreditStatus.HELD)
    response = operator_api.post(f"/api/v1/operator/registrations/{held.pk}/void", {"reason": "使い捨てアドレス"})
    assert response.status_code == 200 and response.json()["credit_status"] == "voided"
    assert not LedgerEntry.objects.exists()
    credited = make_registration(acme[0], email="c@example.jp")
    conflict = operator_api.post(f"/api/v1/operator/registrations/{credited.pk}/void", {"reason": "x"})
    assert conflict.status_code == 409 and conflict.json()["detail"]
    credited.refresh_from_db()
    assert credited.credit_status == CreditStatus.CREDITED and ledger_summary(acme[0]).credits == 1


def test_reverse_a_credit(operator_api, acme):
    credited = make_registration(acme[0])
    assert operator_api.post(f"/api/v1/operator/registrations/{credited.pk}/reverse", {}).status_code == 400
    response = operator_api.post(f"/api/v1/operator/registrations/{credited.pk}/reverse", {"reason": "社員の登録"})
    assert response.status_code == 200 and response.json()["credit_status"] == "voided"
    assert ledger_summary(acme[0]).credits == 0
    assert operator_api.post(f"/api/v1/operator/registrations/{credited.pk}/reverse",
                             {"reason": "again"}).status_code == 409
    assert LedgerEntry.objects.filter(kind=LedgerKind.CREDIT_REVERSED).count() == 1


def test_unknown_or_overlong_input(operator_api, acme):
    for action in ("approve", "void", "reverse"):
        response = operator_api.post(f"/api/v1/operator/registrations/999999/{action}", {"reason": "x"})
        assert response.status_code == 404
    held = make_registration(acme[0], status=CreditStatus.HELD)
    response = operator_api.post(f"/api/v1/operator/registrations/{held.pk}/void", {"reason": "x" * 301})
    assert response.status_code == 422
    held.refresh_from_db()
    assert held.credit_status == CreditStatus.HELD


def test_registrants_since_and_paging(operator_api, acme, make_company):
    company, _key = acme
    beta = make_company(slug="beta", name="ベータ株式会社")[0]
    old = make_registration(company, email="old@example.jp", name="古い 人").registrant
    fresh = make_registration(company, email="new@example.jp", name="新しい 人").registrant
    week_ago = timezone.now() - timedelta(days=7)
    Registrant.objects.filter(pk__in=[old.pk, fresh.pk]).update(created_at=week_ago, updated_at=week_ago)
    Registration.objects.update(created_at=week_ago)
    cutoff = timezone.now() - timedelta(days=1)
    Registrant.objects.filter(pk=fresh.pk).update(updated_at=timezone.now())  # e.g. its status changed today
    newest = make_registration(beta, email="newest@example.jp", name="最新 人").registrant

    everyone = operator_api.get("/api/v1/operator/registrants")
    assert everyone.status_code == 200 and everyone["X-Total-Count"] == "3"
    assert [r["id"] for r in everyone.json()] == [old.pk, fresh.pk, newest.pk]
    since = operator_api.get("/api/v1/operator/registrants", since=cutoff.isoformat())
    assert [r["id"] for r in since.json()] == [fresh.pk, newest.pk]
    item = since.json()[1]
    assert (item["name"], item["email"], item["first_company"], item["companies"], item["status"]) == (
        "最新 人", "newest@example.jp", "beta", ["beta"], "new")

    # Registering through another company's link today counts as a change of the older registrant.
    make_registration(beta, email="old@example.jp", name="古い 人", status=CreditStatus.DUPLICATE)
    since = operator_api.get("/api/v1/operator/registrants", since=cutoff.isoformat()).json()
    assert [r["id"] for r in since] == [old.pk, fresh.pk, newest.pk]
    assert since[0]["companies"] == ["acme", "beta"]

    page = operator_api.get("/api/v1/operator/registrants", limit=1, offset=1).json()
    assert [r["id"] for r in page] == [fresh.pk]
    # Without a time zone, `since` is read in Asia/Tokyo.
    local = timezone.localtime(timezone.now() + timedelta(hours=1)).replace(tzinfo=None).isoformat()
    assert operator_api.get("/api/v1/operator/registrants", since=local).json() == []
    assert operator_api.get("/api/v1/operator/registrants", status="new")["X-Total-Count"] == "3"


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01T00:00:00", "1700000000000000000000"])
def test_a_bad_since_answers_clearly(operator_api, since):
    response = operator_api.get("/api/v1/operator/registrants", since=since)
    assert response.status_code == 422
    assert "since" in json.dumps(response.json())


def test_the_openapi_document_describes_the_operator_api(client):
    document = client.get("/api/v1/openapi.json").json()
    paths = document["paths"]
    for path in ("/api/v1/operator/registrations", "/api/v1/operator/registrants",
                 "/api/v1/operator/registrations/{registration_id}/approve",
                 "/api/v1/operator/registrations/{registration_id}/void"):
        assert path in paths, path
    void = paths["/api/v1/operator/registrations/{registration_id}/void"]["post"]
    assert {"200", "400", "404", "409"} <= set(void["responses"])
    schemas = document["components"]["schemas"]
    assert schemas["RegistrationOut"]["examples"][0]["credit_status"] == "held"
    assert schemas["RegistrantOut"]["examples"][0]["status"] == "new"
    assert "operator" in paths["/api/v1/operator/registrants"]["get"]["tags"]


def test_operator_key_command_prints_a_new_working_key_each_time(acme):
    keys = []
    for _ in range(2):
        out = StringIO()
        call_command("operator", "key", stdout=out)
        keys.append(json.loads(out.getvalue())["api_key"])
    assert keys[0] != keys[1]
    assert ApiKey.objects.filter(company__is_operator=True).count() == 2
    for key in keys:
        assert ApiClient(key).get("/api/v1/operator/registrations").status_code == 200
        assert ApiClient(key).get("/api/v1/relay/ledger").status_code == 401
    assert ApiClient(acme[1]).get("/api/v1/operator/registrations").status_code == 401


@pytest.mark.slow
def test_tsunagu_operator_key_on_the_command_line(tmp_path):
    from tsunagu.testing import base_env, run_cli, scratch_database

    with scratch_database() as database_url:
        env = base_env(str(tmp_path), **({"TSUNAGU_DATABASE_URL": database_url} if database_url else {}))
        result = run_cli(["operator", "key"], env)
        assert result.returncode == 0, result.stderr
        key = json.loads(result.stdout.strip().splitlines()[-1])["api_key"]
        assert key.startswith("tsu_")
        again = run_cli(["operator", "key"], env)
        assert json.loads(again.stdout.strip().splitlines()[-1])["api_key"] != key
        assert run_cli(["operator"], env).returncode != 0
