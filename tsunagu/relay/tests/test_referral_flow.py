"""The whole path from a slot to a hire, every mail through a real SMTP server (run on SQLite and PostgreSQL):
a company with one available slot files a request (reserved; a second filing is 409), the operator's staff
hear of it and propose a registrant (one the company rejected is refused), the registrant consents on the page
linked from the operator's mail, the company's admin hears of it, sees the profile and answers `hired` (the
slot is used, the request filled); another request closed without a hire returns its slot."""

import pytest

from tsunagu.companies.actions import update_operator_identity
from tsunagu.companies.models import Role
from tsunagu.relay.models import Introduction, RegistrantStatus, RequestStatus
from tsunagu.relay.selectors import ledger_summary
from tsunagu.relay.tests.referrals import (
    REQUEST,
    company_client,
    consent_path,
    earn_slots,
    operator_client,
    registered,
    registrant,
)
from tsunagu.relay.tests.test_introductions import digest_on
from tsunagu.testing import ApiClient, text_part

pytestmark = pytest.mark.django_db


def test_from_a_slot_to_a_hire_and_a_slot_returned(make_company, smtp_settings, client,
                                                   django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    update_operator_identity(sender_email="relay@career-relay.example", licence_number="13-ユ-300000",
                             reply_to="support@career-relay.example")
    company, key = make_company(referral_ratio=1)
    api = ApiClient(key)
    admin = company_client(company, Role.ADMIN)
    desk, staff = operator_client()

    with capture(execute=True):
        earn_slots(company, 1)
    [slot_mail] = smtp_settings.messages_to("admin@acme.example")
    assert "無料紹介枠を獲得しました" in slot_mail["Subject"]
    assert ledger_summary(company).slots_available == 1

    # The company files a request: the slot is reserved, a second filing finds none.
    with capture(execute=True):
        filed = api.post("/api/v1/relay/requests", REQUEST)
    assert filed.status_code == 201
    request_id = filed.json()["id"]
    assert ledger_summary(company).slots_available == 0
    assert api.post("/api/v1/relay/requests", {**REQUEST, "title": "経理"}).status_code == 409
    [filed_mail] = smtp_settings.messages_to(staff.email)
    assert "紹介依頼" in filed_mail["Subject"] and f"/console/operator/requests/{request_id}/" in text_part(filed_mail)

    # The operator's desk lists it; a registrant who once applied to the company is refused.
    assert "法人営業" in desk.get("/console/operator/requests/").content.decode()
    former = registered(company, email="former@example.jp", name="元 応募者", credit=False).registrant
    refused = desk.post(f"/console/operator/requests/{request_id}/propose/", {"registrant": former.pk}, follow=True)
    assert "応募したことがあるため推薦できません" in refused.content.decode()
    assert not Introduction.objects.exists()

    person = registrant("hanako@example.jp", name="山田 花子")
    with capture(execute=True):
        desk.post(f"/console/operator/requests/{request_id}/propose/",
                  {"registrant": person.pk, "recommendation": "営業経験5年。"})
    [consent_mail] = smtp_settings.messages_to("hanako@example.jp")
    assert consent_mail["From"].addresses[0].addr_spec == "relay@career-relay.example"
    body = text_part(consent_mail)
    assert "株式会社アクメ" in body and "法人営業" in body and "13-ユ-300000" in body
    path = consent_path(body)
    assert path not in api.get("/api/v1/messages").content.decode()

    # The registrant reads the page and consents; the company's admin is told.
    page = client.get(path).content.decode()
    with capture(execute=True):
        assert client.post(path, {"answer": "consent", "digest": digest_on(page)}).status_code == 200
    received = smtp_settings.messages_to("admin@acme.example")
    assert len(received) == 2 and "紹介が届きました" in received[1]["Subject"]
    assert "山田" not in text_part(received[1]) and "hanako" not in text_part(received[1])

    # The company sees the profile and answers: hired uses the slot and fills the request.
    detail = admin.get(f"/console/referrals/{request_id}/").content.decode()
    assert "山田 花子" in detail and "hanako@example.jp" in detail and "営業経験5年。" in detail
    introduction_id = api.get(f"/api/v1/relay/requests/{request_id}").json()["introductions"][0]["id"]
    with capture(execute=True):
        hired = api.post(f"/api/v1/relay/introductions/{introduction_id}/outcome", {"outcome": "hired"})
    assert hired.status_code == 200
    summary = ledger_summary(company)
    assert (summary.slots_earned, summary.slots_reserved, summary.slots_redeemed, summary.slots_available) == (1, 0, 1, 0)
    assert api.get(f"/api/v1/relay/requests/{request_id}").json()["status"] == RequestStatus.FILLED
    person.refresh_from_db()
    assert person.status == RegistrantStatus.JOINED
    assert any("入社" in m["Subject"] for m in smtp_settings.messages_to(staff.email))

    # Another slot, another request, closed without a hire: the slot comes back.
    with capture(execute=True):
        earn_slots(company, 1, prefix="second")
    second = api.post("/api/v1/relay/requests", {**REQUEST, "title": "経理"}).json()["id"]
    assert ledger_summary(company).slots_available == 0
    closed = admin.post(f"/console/referrals/{second}/close/", {"reason": "社内で充足"})
    assert closed.status_code == 302
    summary = ledger_summary(company)
    assert (summary.slots_earned, summary.slots_reserved, summary.slots_redeemed, summary.slots_available) == (2, 0, 1, 1)
    assert api.get(f"/api/v1/relay/requests/{second}").json()["slot"] == "released"
