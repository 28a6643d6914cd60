"""The console as HR uses it: login, pages, actions, roles, and tenant isolation."""

from datetime import date

import pytest

from tsunagu.companies.models import Role
from tsunagu.messaging.models import Message, MessageStatus
from tsunagu.testing import ApiClient, application_body, login_with_second_factor

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_companies(make_company):
    mine, mine_key = make_company(slug="mine", name="株式会社ミネ", delay_minutes=60)
    theirs, theirs_key = make_company(slug="theirs", name="株式会社ゼアズ", delay_minutes=60)
    ApiClient(mine_key).post("/api/v1/applications", application_body(external_id="M-1"))
    ApiClient(theirs_key).post("/api/v1/applications", application_body(external_id="T-1",
                                                                        email_address="other@example.jp"))
    return mine, theirs


def test_login_page_and_redirect_for_anonymous_users(client):
    response = client.get("/console/")
    assert response.status_code == 302 and "/console/login/" in response["Location"]
    assert "ログイン" in client.get("/console/login/").content.decode()


def test_every_console_page_renders(login, two_companies):
    mine, _ = two_companies
    client = login(mine)
    message = Message.objects.get(company=mine)
    candidate = message.application.candidate
    for path in ["/console/", "/console/outbox/", "/console/outbox/?status=scheduled", f"/console/outbox/{message.pk}/",
                 "/console/candidates/", "/console/candidates/?q=たかはし", f"/console/candidates/{candidate.pk}/",
                 "/console/ledger/", "/console/settings/", "/console/templates/", "/console/templates/rejection/"]:
        response = client.get(path)
        assert response.status_code == 200, path
    page = client.get(f"/console/outbox/{message.pk}/").content.decode()
    assert "髙橋 𠮷子様" in page  # the rendered notice, before sending


def test_capture_mode_banner_says_nothing_is_really_sent(login, two_companies, settings):
    mine, _ = two_companies
    client = login(mine)
    settings.EMAIL_BACKEND = "tsunagu.messaging.backends.CaptureEmailBackend"
    assert "キャプチャモードです" in client.get("/console/").content.decode()
    settings.EMAIL_BACKEND = "tsunagu.messaging.backends.SMTPEmailBackend"
    assert "キャプチャモードです" not in client.get("/console/").content.decode()


def test_another_companys_objects_are_404_in_the_console(login, two_companies):
    mine, theirs = two_companies
    client = login(mine)
    their_message = Message.objects.get(company=theirs)
    assert client.get(f"/console/outbox/{their_message.pk}/").status_code == 404
    assert client.get(f"/console/candidates/{their_message.application.candidate_id}/").status_code == 404
    assert client.post(f"/console/outbox/{their_message.pk}/cancel/").status_code == 404
    assert client.post(f"/console/outbox/{their_message.pk}/send-now/").status_code == 404
    their_message.refresh_from_db()
    assert their_message.status == MessageStatus.SCHEDULED
    assert "other@example.jp" not in client.get("/console/outbox/").content.decode()
    assert "other@example.jp" not in client.get("/console/candidates/").content.decode()


def test_cancel_from_the_console(login, two_companies):
    mine, _ = two_companies
    client = login(mine, role=Role.RECRUITER)
    message = Message.objects.get(company=mine)
    response = client.post(f"/console/outbox/{message.pk}/cancel/", follow=True)
    assert "送信を取り消しました" in response.content.decode()
    message.refresh_from_db()
    assert message.status == MessageStatus.CANCELLED
    # Cancelling twice is refused with a clear message, and changes nothing.
    response = client.post(f"/console/outbox/{message.pk}/cancel/", follow=True)
    assert "送信予定のメールだけを取り消せます" in response.content.decode()


def test_viewers_cannot_change_anything(login, two_companies):
    mine, _ = two_companies
    client = login(mine, role=Role.VIEWER)
    message = Message.objects.get(company=mine)
    assert client.post(f"/console/outbox/{message.pk}/cancel/").status_code == 403
    assert client.post("/console/settings/", {"name": "乗っ取り"}).status_code == 403
    assert client.post("/console/templates/rejection/", {"subject": "x", "body_text": "y"}).status_code == 403
    message.refresh_from_db()
    assert message.status == MessageStatus.SCHEDULED


def test_settings_are_saved_and_bad_values_are_refused(login, two_companies):
    mine, _ = two_companies
    client = login(mine)
    form = {"name": "株式会社ミネ", "time_zone": "Asia/Tokyo", "delay_minutes": 30, "send_window": "always",
            "business_hour_start": 9, "business_hour_end": 18, "combine_rejections_minutes": 60, "referral_ratio": 5,
            "retention_days": 365, "frequency_cap_days": 30}
    assert client.post("/console/settings/", form).status_code == 302
    mine.refresh_from_db()
    # The registrations-per-slot ratio is the operator's (the contract): a company cannot set its own price.
    assert (mine.delay_minutes, mine.send_window, mine.relay_contract.ratio) == (30, "always", 10)
    bad = {**form, "time_zone": "Mars/Olympus"}
    response = client.post("/console/settings/", bad)
    assert response.status_code == 200
    assert "Mars/Olympus" in response.content.decode()
    mine.refresh_from_db()
    assert mine.time_zone == "Asia/Tokyo"


def test_closing_days_are_checked_line_by_line(login, two_companies):
    mine, _ = two_companies
    client = login(mine)
    form = {"name": mine.name, "time_zone": "Asia/Tokyo", "delay_minutes": 30, "send_window": "business",
            "business_hour_start": 9, "business_hour_end": 18, "combine_rejections_minutes": 60, "referral_ratio": 10,
            "retention_days": 365, "frequency_cap_days": 30, "closed_year_end": "on",
            "closed_days": "2026-08-13〜2026-08-16\n2026-10-01 # 創立記念日"}
    page = client.get("/console/settings/").content.decode()
    assert "年末年始(12月29日〜1月3日)は送らない" in page and 'name="closed_days"' in page
    assert client.post("/console/settings/", form).status_code == 302
    mine.refresh_from_db()
    assert mine.closed_year_end and mine.closed_on(date(2026, 8, 15)) and mine.closed_on(date(2026, 10, 1))
    response = client.post("/console/settings/", {**form, "closed_days": "2026-08-13\n2026-02-30", "delay_minutes": 5})
    assert response.status_code == 200
    assert "2行目: 日付は「2026-08-13」か「2026-08-13〜2026-08-16」の形で書いてください。" in response.content.decode()
    mine.refresh_from_db()
    assert mine.delay_minutes == 30 and "創立記念日" in mine.closed_days


def test_template_editor_refuses_unknown_variables_and_previews(login, two_companies):
    mine, _ = two_companies
    client = login(mine)
    response = client.post("/console/templates/rejection/", {"subject": "件名", "body_text": "{{ candiate_name }}様"})
    assert response.status_code == 200
    assert "candiate_name" in response.content.decode() and "1行目" in response.content.decode()
    preview = client.post("/console/templates/rejection/preview/",
                          {"subject": "{{ company_name }}", "body_text": "{{ candidate_name }}様"})
    assert "髙橋 𠮷子様" in preview.content.decode()
    saved = client.post("/console/templates/rejection/",
                        {"subject": "結果のご連絡", "body_text": "{{ candidate_name }}様\n{{ referral_url }}"})
    assert saved.status_code == 302


def test_api_keys_are_shown_once_and_can_be_revoked(login, two_companies):
    mine, _ = two_companies
    client = login(mine)
    page = client.post("/console/settings/api-keys/", {"label": "ci"}, follow=True).content.decode()
    import re

    key = re.search(r"tsu_[0-9a-f]{8}_[A-Za-z0-9_-]+", page).group(0)
    assert ApiClient(key).get("/api/v1/relay/ledger").status_code == 200
    assert key not in client.get("/console/settings/").content.decode()
    from tsunagu.companies.models import ApiKey

    stored = ApiKey.objects.get(label="ci")
    client.post(f"/console/settings/api-keys/{stored.pk}/revoke/")
    assert ApiClient(key).get("/api/v1/relay/ledger").status_code == 401


def test_operator_sees_all_companies_and_users_do_not(login, client, two_companies):
    mine, _ = two_companies
    login(mine)
    assert client.get("/console/operator/").status_code == 403
    from tsunagu.companies.actions import create_user

    create_user(email="staff@relay.example", password="a-long-password", operator=True)
    client.logout()
    login_with_second_factor(client, "staff@relay.example", "a-long-password")
    page = client.get("/console/operator/").content.decode()
    assert "株式会社ミネ" in page and "株式会社ゼアズ" in page
    assert client.get("/console/", follow=True).redirect_chain[-1][0].endswith("/console/operator/")
