"""Referral requests (紹介依頼): filed with a free slot (reserved at once), refused without one or with bad input
(nothing changes), read and closed by their company only; closing without a hire gives the slot back."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tsunagu.companies.models import Role
from tsunagu.messaging.models import Message, MessageKind
from tsunagu.relay.models import LedgerEntry, LedgerKind, ReferralRequest, RequestEvent, RequestStatus
from tsunagu.relay.selectors import ledger_summary
from tsunagu.relay.tests.referrals import REQUEST, company_client, earn_slots, operator_client
from tsunagu.testing import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(make_company):
    company, key = make_company(referral_ratio=1)
    return company, ApiClient(key)


def test_filing_reserves_the_slot_and_a_second_filing_is_409(acme):
    company, api = acme
    earn_slots(company, 1)
    assert ledger_summary(company).slots_available == 1

    response = api.post("/api/v1/relay/requests", REQUEST)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["title"], body["status"], body["slot"], body["headcount"]) == ("法人営業", "open", "reserved", 1)
    assert body["description"] == "既存顧客への提案営業です。\n出張は月1回ほど。"  # line breaks kept
    assert body["introductions"] == [] and [line["kind"] for line in body["history"]] == ["filed"]
    summary = ledger_summary(company)
    assert (summary.slots_earned, summary.slots_reserved, summary.slots_available) == (1, 1, 0)
    reservation = LedgerEntry.objects.get(kind=LedgerKind.SLOT_RESERVED)
    assert reservation.request_id == body["id"]

    second = api.post("/api/v1/relay/requests", {**REQUEST, "title": "経理"})
    assert second.status_code == 409
    assert "利用できる無料紹介枠がありません" in second.json()["detail"]
    assert ReferralRequest.objects.count() == 1
    assert LedgerEntry.objects.filter(kind=LedgerKind.SLOT_RESERVED).count() == 1


def test_no_slot_no_request(acme):
    company, api = acme
    response = api.post("/api/v1/relay/requests", REQUEST)
    assert response.status_code == 409
    assert ReferralRequest.objects.count() == 0 and LedgerEntry.objects.count() == 0


@pytest.mark.parametrize("change, field", [
    ({"salary_min": 7_000_000, "salary_max": 5_000_000}, "salary_max"),
    ({"employment_type": "intern"}, "employment_type"),
    ({"headcount": 0}, "headcount"),
    ({"headcount": 101}, "headcount"),
    ({"deadline": "2020-01-01"}, "deadline"),
    ({"title": "x" * 201}, "title"),
    ({"title": "   "}, "title"),
    ({"description": "あ" * 5001}, "description"),
    ({"location": "x" * 201}, "location"),
    ({"salary_max": 10**9}, "salary_max"),
    ({"salary_min": -1}, "salary_min"),
])
def test_bad_input_is_422_and_changes_nothing(acme, change, field):
    company, api = acme
    earn_slots(company, 1)
    entries = LedgerEntry.objects.count()
    response = api.post("/api/v1/relay/requests", {**REQUEST, **change})
    assert response.status_code == 422, response.content
    body = response.json()
    assert field in body["errors"] and body["detail"]
    assert ReferralRequest.objects.count() == 0
    assert LedgerEntry.objects.count() == entries and ledger_summary(company).slots_available == 1


def test_bad_input_wins_over_no_slot_and_malformed_json_is_422(acme):
    _company, api = acme
    assert api.post("/api/v1/relay/requests", {**REQUEST, "headcount": 0}).status_code == 422
    assert api.post("/api/v1/relay/requests", {**REQUEST, "deadline": "2026-13-45"}).status_code == 422
    assert api.post("/api/v1/relay/requests", {"description": "no title"}).status_code == 422


def test_a_deadline_of_today_in_the_companys_zone_is_accepted(acme):
    company, api = acme
    earn_slots(company, 1)
    today = timezone.now().astimezone(ZoneInfo(company.time_zone)).date()
    assert api.post("/api/v1/relay/requests", {**REQUEST, "deadline": (today - timedelta(days=1)).isoformat()}
                    ).status_code == 422
    response = api.post("/api/v1/relay/requests", {**REQUEST, "deadline": today.isoformat()})
    assert response.status_code == 201
    assert response.json()["deadline"] == today.isoformat()


def test_closing_without_a_hire_releases_the_slot(acme):
    company, api = acme
    earn_slots(company, 1)
    request_id = api.post("/api/v1/relay/requests", REQUEST).json()["id"]
    closed = api.post(f"/api/v1/relay/requests/{request_id}/close", {})
    assert closed.status_code == 200
    body = closed.json()
    assert (body["status"], body["slot"]) == ("closed", "released")
    assert [line["kind"] for line in body["history"]] == ["filed", "closed"]
    summary = ledger_summary(company)
    assert (summary.slots_reserved, summary.slots_available) == (0, 1)
    assert api.post(f"/api/v1/relay/requests/{request_id}/close", {}).status_code == 409
    assert LedgerEntry.objects.filter(kind=LedgerKind.SLOT_RELEASED).count() == 1
    # The slot that came back pays for the next request.
    assert api.post("/api/v1/relay/requests", REQUEST).status_code == 201


def test_another_companys_request_is_404_in_the_api(acme, make_company):
    company, api = acme
    earn_slots(company, 1)
    request_id = api.post("/api/v1/relay/requests", REQUEST).json()["id"]
    _other, other_key = make_company(slug="other", name="株式会社ほか")
    other = ApiClient(other_key)
    assert other.get(f"/api/v1/relay/requests/{request_id}").status_code == 404
    assert other.post(f"/api/v1/relay/requests/{request_id}/close", {}).status_code == 404
    assert other.get("/api/v1/relay/requests").json() == []
    assert ReferralRequest.objects.get().status == RequestStatus.OPEN
    assert api.get("/api/v1/relay/requests").json()[0]["id"] == request_id
    assert ApiClient(None).get(f"/api/v1/relay/requests/{request_id}").status_code == 401


def test_the_operator_key_does_not_open_the_company_api(acme):
    from tsunagu.companies.actions import issue_api_key, operator_party

    operator = ApiClient(issue_api_key(operator_party(), label="crm"))
    assert operator.post("/api/v1/relay/requests", REQUEST).status_code == 401
    assert ReferralRequest.objects.count() == 0


def test_filing_tells_the_operators_staff(acme, django_capture_on_commit_callbacks):
    company, api = acme
    earn_slots(company, 1)
    _client, staff = operator_client()
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/v1/relay/requests", REQUEST)
    notice = Message.objects.get(kind=MessageKind.NOTICE, to_email=staff.email)
    assert notice.company.is_operator  # the operator's mail, in no company's outbox
    assert "株式会社アクメ" in notice.subject and "法人営業" in notice.body_text
    assert "/console/operator/requests/" in notice.body_text
    assert not Message.objects.filter(company=company, kind=MessageKind.NOTICE).exists()


# --- the console ------------------------------------------------------------------------------------

def test_the_ledger_page_offers_the_form_only_with_a_slot_and_to_editors(acme):
    company, _api = acme
    admin = company_client(company, Role.ADMIN)
    page = admin.get("/console/ledger/").content.decode()
    assert 'id="request-form"' not in page and "利用できる無料紹介枠はまだありません" in page
    earn_slots(company, 1)
    assert 'id="request-form"' in admin.get("/console/ledger/").content.decode()
    viewer = company_client(company, Role.VIEWER)
    page = viewer.get("/console/ledger/").content.decode()
    assert 'id="request-form"' not in page and "管理者または採用担当" in page


def test_a_recruiter_files_in_the_console_and_a_viewer_cannot(acme):
    company, _api = acme
    earn_slots(company, 1)
    form = {**REQUEST, "salary_min": "4500000", "salary_max": "6,000,000", "deadline": ""}
    viewer = company_client(company, Role.VIEWER)
    assert viewer.post("/console/referrals/", form).status_code == 403
    assert ReferralRequest.objects.count() == 0

    recruiter = company_client(company, Role.RECRUITER)
    bad = recruiter.post("/console/referrals/", {**form, "salary_min": "9000000"})
    assert bad.status_code == 400 and "年収上限は年収下限以上にしてください" in bad.content.decode()
    assert ReferralRequest.objects.count() == 0

    response = recruiter.post("/console/referrals/", form)
    referral = ReferralRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/console/referrals/{referral.pk}/"
    assert (referral.salary_max, referral.created_by.email) == (6_000_000, "recruiter@acme.example")
    page = recruiter.get(f"/console/referrals/{referral.pk}/").content.decode()
    assert "法人営業" in page and "確保中" in page and "まだ推薦はありません" in page
    assert viewer.get(f"/console/referrals/{referral.pk}/").status_code == 200  # a viewer reads
    assert viewer.post(f"/console/referrals/{referral.pk}/close/").status_code == 403
    # Without a slot left, a second filing goes back to the ledger with the reason.
    again = recruiter.post("/console/referrals/", form, follow=True)
    assert "利用できる無料紹介枠がありません" in again.content.decode()
    assert ReferralRequest.objects.count() == 1


def test_closing_in_the_console_and_another_company_gets_404(acme, make_company):
    company, api = acme
    earn_slots(company, 1)
    request_id = api.post("/api/v1/relay/requests", REQUEST).json()["id"]
    other, _key = make_company(slug="other", name="株式会社ほか")
    stranger = company_client(other, Role.ADMIN)
    assert stranger.get(f"/console/referrals/{request_id}/").status_code == 404
    assert stranger.post(f"/console/referrals/{request_id}/close/").status_code == 404
    assert "法人営業" not in stranger.get("/console/referrals/").content.decode()

    admin = company_client(company, Role.ADMIN)
    response = admin.post(f"/console/referrals/{request_id}/close/", {"reason": "社内で充足"}, follow=True)
    page = response.content.decode()
    assert "紹介依頼を終了しました" in page and "返却済み" in page and "社内で充足" in page
    closed = RequestEvent.objects.get(kind="closed")
    assert closed.actor.email == "admin@acme.example"
    assert ledger_summary(company).slots_available == 1


def test_console_pages_need_a_login(acme, client):
    company, api = acme
    earn_slots(company, 1)
    request_id = api.post("/api/v1/relay/requests", REQUEST).json()["id"]
    for path in ("/console/referrals/", f"/console/referrals/{request_id}/"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response["Location"]
    assert client.post(f"/console/referrals/{request_id}/close/").status_code == 302
    assert ReferralRequest.objects.get().status == RequestStatus.OPEN
