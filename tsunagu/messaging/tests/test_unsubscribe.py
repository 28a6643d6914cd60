"""Unsubscribe (RFC 8058), the suppression list at send time, and the footer 特定電子メール法 requires.

Mail is parsed as a real SMTP server received it; the one-click endpoint is called without cookies and
with CSRF checks on, in both encodings RFC 8058 allows.
"""

import email
import email.policy
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tsunagu.companies.actions import operator_party
from tsunagu.companies.models import Role
from tsunagu.lib.tokens import referral_token
from tsunagu.messaging import unsubscribe
from tsunagu.messaging.actions import delivery, notices, templates
from tsunagu.messaging.actions import suppression as suppressing
from tsunagu.messaging.actions.suppression import suppress
from tsunagu.messaging.mime import uri_list_header
from tsunagu.messaging.models import (
    EventKind,
    Message,
    MessageEvent,
    MessageKind,
    MessageStatus,
    Suppression,
    SuppressionReason,
)
from tsunagu.testing import ApiClient, application_body, html_part, text_part

pytestmark = pytest.mark.django_db

ADDRESS = "東京都千代田区丸の内1-1-1 アクメビル5階"


@pytest.fixture
def company(company_and_key):
    company = company_and_key[0]
    company.postal_address = ADDRESS
    company.reply_to = "hr@acme.example"
    company.save()
    return company


def reject(api, capture, external_id="A-1", email_address="yoshiko@example.jp", **extra):
    with capture(execute=True):
        response = api.post("/api/v1/applications", application_body(external_id=external_id,
                                                                      email_address=email_address, **extra))
    assert response.status_code in (200, 201), response.content
    return Message.objects.get(application__external_id=external_id, kind=MessageKind.REJECTION)


def uris(header_value: str) -> list[str]:
    return re.findall(r"<([^>]+)>", header_value)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def one_click(path: str, encoding: str):
    """A mail provider's RFC 8058 request: a fresh client (no cookies) with CSRF checks enforced."""
    client = Client(enforce_csrf_checks=True)
    if encoding == "urlencoded":
        return client.post(path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    return client.post(path, data={"List-Unsubscribe": "One-Click"})  # multipart/form-data


# --- headers and footer, as received ---------------------------------------------------------------

def test_notice_carries_rfc8058_headers_and_the_legal_footer(api, company, smtp_settings, settings,
                                                             django_capture_on_commit_callbacks):
    settings.BASE_URL = "https://tsunagu.example.jp"
    message = reject(api, django_capture_on_commit_callbacks)
    [received] = smtp_settings.wait_for(1)
    mail = email.message_from_bytes(received["raw"], policy=email.policy.default)

    https_url, mailto = uris(str(mail["List-Unsubscribe"]))
    assert https_url.startswith("https://tsunagu.example.jp/u/")
    assert unsubscribe.message_id_from_token(https_url.rsplit("/", 1)[1]) == message.pk
    assert mailto == "mailto:hr@acme.example?subject=unsubscribe"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert len(mail.get_all("List-Unsubscribe")) == 1 and len(mail.get_all("List-Unsubscribe-Post")) == 1
    # The existing headers are still right next to the new ones.
    assert mail["From"].addresses[0].display_name == "株式会社アクメ 採用担当"
    assert mail["Reply-To"] == "hr@acme.example"
    assert mail["Date"].datetime is not None
    # Every physical line within RFC 5322's 78 characters (the URI is short enough not to need folding).
    assert max(len(line) for line in received["raw"].split(b"\r\n")) <= 78

    text = text_part(mail)
    assert text.startswith("髙橋 𠮷子様")
    footer = text.split("―" * 24, 1)[1]
    assert https_url in footer
    assert "送信者:株式会社アクメ" in footer and f"住所:{ADDRESS}" in footer
    assert "お問い合わせ:hr@acme.example" in footer
    html = html_part(mail)
    assert f'href="{https_url}"' in html
    assert ADDRESS in html and "株式会社アクメ" in html
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert mail["Message-ID"] == message.message_id
    assert message.body_text == text.replace("\r\n", "\n")  # the outbox keeps what was sent, footer included


def test_a_user_template_cannot_drop_the_footer_but_can_place_the_link(api, company, smtp_settings,
                                                                        django_capture_on_commit_callbacks):
    templates.save_template(company, "rejection", subject="選考結果",
                          body_text="{{ candidate_name }}様\n\n停止: {{ unsubscribe_url }}\n")
    message = reject(api, django_capture_on_commit_callbacks)
    [received] = smtp_settings.wait_for(1)
    text = text_part(received["message"])
    link = unsubscribe.unsubscribe_url(message.pk)
    assert text.count(link) == 2  # once where the template put it, once in the footer
    assert f"住所:{ADDRESS}" in text


def test_unsubscribe_url_is_a_documented_variable_only_where_mail_advertises(company):
    from django.core.exceptions import ValidationError

    from tsunagu.messaging import rendering

    assert "unsubscribe_url" in rendering.VARIABLES[MessageKind.REJECTION]
    assert "unsubscribe_url" not in rendering.VARIABLES[MessageKind.VERIFICATION]
    with pytest.raises(ValidationError, match="unsubscribe_url"):
        templates.save_template(company, "verification", subject="確認", body_text="{{ unsubscribe_url }}")


def test_the_verification_mail_is_transactional_and_never_held_back(api, company, smtp_settings, client,
                                                                    django_capture_on_commit_callbacks):
    notice = reject(api, django_capture_on_commit_callbacks)
    smtp_settings.wait_for(1)
    # Even an address on the list gets the mail it has just asked for on our page.
    suppress(company, "yoshiko@example.jp", SuppressionReason.UNSUBSCRIBED)
    landing = client.get(f"/r/{referral_token(notice.pk)}").content.decode()
    form = {"name": "髙橋 𠮷子", "email": "yoshiko@example.jp", "consent_purpose": "on", "consent_provision": "on",
            "consent_digest": re.search(r'name="consent_digest" value="([^"]+)"', landing).group(1)}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/r/{referral_token(notice.pk)}", form)
    assert response.status_code == 302
    verification = smtp_settings.wait_for(2)[1]
    mail = email.message_from_bytes(verification["raw"], policy=email.policy.default)
    assert "/r/verify/" in text_part(mail)
    assert mail["List-Unsubscribe"] is None and mail["List-Unsubscribe-Post"] is None
    assert "/u/" not in text_part(mail) and "/u/" not in html_part(mail)
    assert Message.objects.get(kind=MessageKind.VERIFICATION).status == MessageStatus.SENT


def test_uri_list_header_refuses_what_is_not_a_uri():
    for bad in ["https://x/u/a b", "https://x/u/a>b", "https://x/u/\r\nBcc: v@example.jp", "https://x/ü"]:
        with pytest.raises(ValueError):
            uri_list_header("List-Unsubscribe", [bad])


# --- the one-click endpoint ------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_one_click_post_suppresses_at_once_and_a_later_notice_is_not_sent(encoding, api, company, smtp_settings,
                                                                           django_capture_on_commit_callbacks):
    notice = reject(api, django_capture_on_commit_callbacks)
    [received] = smtp_settings.wait_for(1)
    https_url = uris(str(received["message"]["List-Unsubscribe"]))[0]

    response = one_click(path_of(https_url), encoding)
    assert response.status_code == 200
    assert "Location" not in response and not response.cookies
    assert "配信を停止しました" in response.content.decode()
    suppression = Suppression.objects.get(company=company)
    assert (suppression.email, suppression.reason, suppression.message_id) == (
        "yoshiko@example.jp", SuppressionReason.UNSUBSCRIBED, notice.pk)
    [event] = MessageEvent.objects.filter(message=notice)
    assert (event.kind, event.detail) == (EventKind.UNSUBSCRIBED, suppressing.VIA_ONE_CLICK)
    # A provider that repeats the request changes nothing more.
    assert one_click(path_of(https_url), encoding).status_code == 200
    assert Suppression.objects.count() == 1 and MessageEvent.objects.count() == 1

    later = reject(api, django_capture_on_commit_callbacks, external_id="A-2",
                   job={"external_id": "J-2", "title": "営業"})
    assert later.status == MessageStatus.SUPPRESSED
    assert "配信停止の申し出" in later.status_reason
    assert timezone.localdate().strftime("%Y-%m-%d") in later.status_reason
    delivery.deliver_due_messages()
    assert len(smtp_settings.received) == 1
    [row] = api.get("/api/v1/messages", application="A-2").json()
    assert (row["status"], row["status_reason"]) == ("suppressed", later.status_reason)


def test_an_address_suppressed_after_planning_is_held_back_at_send_time(make_company, smtp_settings,
                                                                          django_capture_on_commit_callbacks):
    company, key = make_company(delay_minutes=60)
    api = ApiClient(key)
    notice = reject(api, django_capture_on_commit_callbacks, email_address="Yoshiko@Example.jp")
    assert notice.status == MessageStatus.SCHEDULED
    # As a bounce webhook would: straight onto the list, in another spelling of the address.
    suppress(company, "yoshiko@example.jp", SuppressionReason.HARD_BOUNCE, detail="550 5.1.1 unknown user")
    Message.objects.filter(pk=notice.pk).update(send_at=timezone.now() - timedelta(seconds=1))
    report = delivery.deliver_due_messages()
    assert report.suppressed == [notice.pk] and report.sent == []
    notice.refresh_from_db()
    assert notice.status == MessageStatus.SUPPRESSED
    assert "ハードバウンス" in notice.status_reason
    assert smtp_settings.received == []


def test_a_get_or_head_only_shows_the_confirmation(api, company, django_capture_on_commit_callbacks):
    notice = reject(api, django_capture_on_commit_callbacks)
    path = path_of(unsubscribe.unsubscribe_url(notice.pk))
    client = Client()
    page = client.get(path)
    assert page.status_code == 200
    assert 'id="unsubscribe"' in page.content.decode() and "株式会社アクメ" in page.content.decode()
    assert client.head(path).status_code == 200
    assert not Suppression.objects.exists() and not MessageEvent.objects.exists()
    assert Client().put(path).status_code == 405
    assert not Suppression.objects.exists()


def test_the_pages_button_unsubscribes_too(api, company, django_capture_on_commit_callbacks):
    notice = reject(api, django_capture_on_commit_callbacks)
    response = Client(enforce_csrf_checks=True).post(path_of(unsubscribe.unsubscribe_url(notice.pk)), {"confirm": "1"})
    assert response.status_code == 200
    assert MessageEvent.objects.get().detail == suppressing.VIA_PAGE
    assert "配信は停止済みです" in Client().get(path_of(unsubscribe.unsubscribe_url(notice.pk))).content.decode()


def test_forged_or_tampered_tokens_are_404_and_change_nothing(api, company, django_capture_on_commit_callbacks):
    notice = reject(api, django_capture_on_commit_callbacks)
    token = unsubscribe.unsubscribe_token(notice.pk)
    value, mac = token.split(".")
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    verification = notices.plan_verification_mail(operator_party(), key="verify:1", to_email="yoshiko@example.jp",
                                                  to_name="髙橋 𠮷子", verify_token="x")
    forged = [
        f"{value}.{flipped}",                               # altered signature
        f"{unsubscribe.unsubscribe_token(notice.pk + 1).split('.')[0]}.{mac}",  # another message, this MAC
        referral_token(notice.pk),                          # a valid token of another kind
        value, "", "x.y", "!!.@@", "あ.い",
        unsubscribe.unsubscribe_token(verification.pk),     # transactional mail has no unsubscribe
    ]
    for bad in forged:
        path = f"/u/{bad}"
        for response in (Client().get(path), one_click(path, "urlencoded"), one_click(path, "multipart"),
                         Client().post(path + "/preferences", {"action": "stop"})):
            assert response.status_code == 404, bad
    assert not Suppression.objects.exists() and not MessageEvent.objects.exists()
    notice.refresh_from_db()
    assert notice.status == MessageStatus.SENT


def test_unsubscribing_holds_back_the_persons_scheduled_mail_in_that_company_only(make_company,
                                                                                  django_capture_on_commit_callbacks):
    mine, mine_key = make_company(slug="mine", name="株式会社ミネ", delay_minutes=60)
    theirs, theirs_key = make_company(slug="theirs", name="株式会社ゼアズ", delay_minutes=60)
    mine.combine_rejections_minutes = 0
    mine.save()
    first = reject(ApiClient(mine_key), django_capture_on_commit_callbacks, external_id="M-1")
    second = reject(ApiClient(mine_key), django_capture_on_commit_callbacks, external_id="M-2",
                    job={"external_id": "J-2", "title": "営業"})
    someone_else = reject(ApiClient(mine_key), django_capture_on_commit_callbacks, external_id="M-3",
                          email_address="other@example.jp")
    theirs_notice = reject(ApiClient(theirs_key), django_capture_on_commit_callbacks, external_id="T-1")
    assert {m.status for m in (first, second, someone_else, theirs_notice)} == {MessageStatus.SCHEDULED}

    assert one_click(path_of(unsubscribe.unsubscribe_url(first.pk)), "urlencoded").status_code == 200
    for message in (first, second, someone_else, theirs_notice):
        message.refresh_from_db()
    assert first.status == second.status == MessageStatus.SUPPRESSED
    assert "配信停止の申し出" in second.status_reason
    assert someone_else.status == MessageStatus.SCHEDULED
    assert theirs_notice.status == MessageStatus.SCHEDULED  # suppression is per company
    assert not Suppression.objects.filter(company=theirs).exists()


def test_another_companys_notice_to_the_same_address_is_still_sent(make_company, smtp_settings,
                                                                   django_capture_on_commit_callbacks):
    _mine, mine_key = make_company(slug="mine", name="株式会社ミネ")
    _theirs, theirs_key = make_company(slug="theirs", name="株式会社ゼアズ")
    notice = reject(ApiClient(mine_key), django_capture_on_commit_callbacks, external_id="M-1")
    assert one_click(path_of(unsubscribe.unsubscribe_url(notice.pk)), "multipart").status_code == 200
    theirs_notice = reject(ApiClient(theirs_key), django_capture_on_commit_callbacks, external_id="T-1")
    assert theirs_notice.status == MessageStatus.SENT
    assert [m["rcpt"] for m in smtp_settings.wait_for(2)] == [["yoshiko@example.jp"]] * 2


# --- the preference page ---------------------------------------------------------------------------

def test_preference_page_stops_all_mail_and_the_candidate_may_resume(api, company,
                                                                     django_capture_on_commit_callbacks):
    notice = reject(api, django_capture_on_commit_callbacks)
    path = path_of(unsubscribe.unsubscribe_url(notice.pk)) + "/preferences"
    page = Client().get(path).content.decode()
    assert 'id="stop-all"' in page and "yoshiko@example.jp" in page
    assert not Suppression.objects.exists()

    stopped = Client(enforce_csrf_checks=True).post(path, {"action": "stop"})
    assert stopped.status_code == 200 and 'id="done"' in stopped.content.decode()
    assert Suppression.objects.get().reason == SuppressionReason.UNSUBSCRIBED
    assert MessageEvent.objects.get().detail == suppressing.VIA_PREFERENCES

    resumed = Client(enforce_csrf_checks=True).post(path, {"action": "resume"})
    assert resumed.status_code == 200 and "配信を再開しました" in resumed.content.decode()
    assert not Suppression.objects.exists()


def test_the_candidate_cannot_lift_a_suppression_that_is_not_their_own(api, company,
                                                                       django_capture_on_commit_callbacks):
    notice = reject(api, django_capture_on_commit_callbacks)
    suppress(company, "yoshiko@example.jp", SuppressionReason.HARD_BOUNCE)
    path = path_of(unsubscribe.unsubscribe_url(notice.pk)) + "/preferences"
    assert 'id="resume"' not in Client().get(path).content.decode()
    Client().post(path, {"action": "resume"})
    assert Suppression.objects.get().reason == SuppressionReason.HARD_BOUNCE


# --- the console -----------------------------------------------------------------------------------

def test_console_suppression_list_add_and_lift(api, company, login, django_capture_on_commit_callbacks):
    company.delay_minutes = 60
    company.save()
    pending = reject(api, django_capture_on_commit_callbacks)
    client = login(company)
    response = client.post("/console/suppressions/add/", {"email": "Yoshiko@example.jp", "detail": "電話で依頼"})
    assert response.status_code == 302
    suppression = Suppression.objects.get(company=company)
    assert (suppression.reason, suppression.detail) == (SuppressionReason.MANUAL, "電話で依頼")
    pending.refresh_from_db()
    assert pending.status == MessageStatus.SUPPRESSED and "管理者による停止" in pending.status_reason

    page = client.get("/console/suppressions/").content.decode()
    assert "Yoshiko@example.jp" in page and "管理者による停止" in page and "電話で依頼" in page
    assert "Yoshiko@example.jp" in client.get("/console/suppressions/?q=yoshiko&reason=manual").content.decode()
    outbox = client.get("/console/outbox/").content.decode()
    assert "配信停止" in outbox and "/console/suppressions/" in outbox
    detail = client.get(f"/console/outbox/{pending.pk}/").content.decode()
    assert 'id="message-status-reason"' in detail and "管理者による停止" in detail

    client.post("/console/suppressions/add/", {"email": "yoshiko@example.jp"})
    assert Suppression.objects.count() == 1  # already on the list: said so, nothing added
    client.post("/console/suppressions/add/", {"email": "not an address"})
    assert Suppression.objects.count() == 1

    # Still on the list: "send again" is refused; lifted: it goes out.
    client.post(f"/console/outbox/{pending.pk}/send-now/")
    pending.refresh_from_db()
    assert pending.status == MessageStatus.SUPPRESSED
    assert client.post(f"/console/suppressions/{suppression.pk}/lift/").status_code == 302
    assert not Suppression.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/console/outbox/{pending.pk}/send-now/")
    pending.refresh_from_db()
    assert pending.status == MessageStatus.SENT and pending.status_reason == ""


def test_only_admins_change_the_list_and_only_their_companys(make_company, login):
    mine, _ = make_company(slug="mine", name="株式会社ミネ")
    theirs, _ = make_company(slug="theirs", name="株式会社ゼアズ")
    theirs_row = suppress(theirs, "x@example.jp", SuppressionReason.MANUAL)
    client = login(mine, role=Role.RECRUITER)
    assert client.get("/console/suppressions/").status_code == 200
    assert "x@example.jp" not in client.get("/console/suppressions/").content.decode()
    assert client.post("/console/suppressions/add/", {"email": "y@example.jp"}).status_code == 403
    assert client.post(f"/console/suppressions/{theirs_row.pk}/lift/").status_code == 403
    admin = login(mine, role=Role.ADMIN)
    assert admin.post(f"/console/suppressions/{theirs_row.pk}/lift/").status_code == 404
    assert Suppression.objects.filter(pk=theirs_row.pk).exists()
    assert not Suppression.objects.filter(company=mine).exists()


def test_settings_warn_while_the_postal_address_is_missing(make_company, login):
    company, _ = make_company()
    client = login(company)
    assert 'id="postal-address-warning"' in client.get("/console/settings/").content.decode()
    form = {
        "name": company.name, "sender_name": "", "sender_email": company.sender_email, "reply_to": "",
        "signature": "", "time_zone": company.time_zone, "delay_minutes": company.delay_minutes,
        "send_window": company.send_window, "business_hour_start": 9, "business_hour_end": 18,
        "combine_rejections_minutes": 60, "referral_ratio": 10, "postal_address": ADDRESS, "privacy_policy": "",
        "retention_days": company.retention_days, "frequency_cap_days": 30,
    }
    response = client.post("/console/settings/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    company.refresh_from_db()
    assert company.postal_address == ADDRESS
    assert 'id="postal-address-warning"' not in client.get("/console/settings/").content.decode()


def test_openapi_documents_status_reason(api):
    schema = Client().get("/api/v1/openapi.json").json()
    message_out = schema["components"]["schemas"]["MessageOut"]["properties"]
    assert "status_reason" in message_out and "suppressed" in message_out["status"]["description"]
