"""The outbox in the console: bulk cancel, the message page (headers, HTML, timeline), failure alerts."""

import pytest
from django.utils import timezone

from tsunagu.companies.models import Role
from tsunagu.messaging.actions import alerts
from tsunagu.messaging.models import EventKind, Message, MessageEvent, MessageStatus
from tsunagu.testing import ApiClient, application_body

pytestmark = pytest.mark.django_db


def reject(key, number, delay=None):
    response = ApiClient(key).post("/api/v1/applications", application_body(
        external_id=f"A-{number}", candidate={"name": f"候補者{number}", "email": f"c{number}@example.jp"}))
    assert response.status_code in (200, 201), response.content
    return Message.objects.get(application__external_id=f"A-{number}")


def test_bulk_cancel_stops_only_the_ticked_scheduled_messages_of_this_company(make_company, login):
    company, key = make_company(delay_minutes=600)
    other, other_key = make_company(slug="other", name="株式会社ほか", delay_minutes=600)
    first, second, kept = (reject(key, n) for n in (1, 2, 3))
    foreign = reject(other_key, 9)
    sent = reject(key, 4)
    Message.objects.filter(pk=sent.pk).update(status=MessageStatus.SENT, sent_at=timezone.now())
    client = login(company, Role.RECRUITER)
    page = client.get("/console/outbox/?status=scheduled")
    assert page.status_code == 200 and f'name="message" value="{first.pk}"' in page.content.decode()
    response = client.post("/console/outbox/cancel/", {
        "message": [first.pk, second.pk, foreign.pk, sent.pk], "next": "/console/outbox/?status=scheduled"})
    assert response.status_code == 302 and response["Location"] == "/console/outbox/?status=scheduled"
    statuses = dict(Message.objects.values_list("pk", "status"))
    assert statuses[first.pk] == statuses[second.pk] == MessageStatus.CANCELLED
    assert statuses[kept.pk] == MessageStatus.SCHEDULED
    assert statuses[foreign.pk] == MessageStatus.SCHEDULED  # another company's: untouched
    assert statuses[sent.pk] == MessageStatus.SENT
    assert "一括で取り消し" in Message.objects.get(pk=first.pk).cancel_reason


def test_a_viewer_cannot_cancel_in_bulk(make_company, login):
    company, key = make_company(delay_minutes=600)
    message = reject(key, 1)
    client = login(company, Role.VIEWER)
    assert 'name="message"' not in client.get("/console/outbox/").content.decode()
    assert client.post("/console/outbox/cancel/", {"message": [message.pk]}).status_code == 403
    assert Message.objects.get(pk=message.pk).status == MessageStatus.SCHEDULED


def test_the_message_page_shows_headers_html_and_what_happened(make_company, login, smtp_settings,
                                                               django_capture_on_commit_callbacks):
    company, key = make_company()
    with django_capture_on_commit_callbacks(execute=True):
        message = reject(key, 1)
    smtp_settings.wait_for(1)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    MessageEvent.objects.create(company=company, message=message, kind=EventKind.DELIVERED,
                                occurred_at=timezone.now(), source="postmark", detail="250 OK")
    page = login(company, Role.VIEWER).get(f"/console/outbox/{message.pk}/").content.decode()
    assert "List-Unsubscribe" in page and "株式会社アクメ 採用担当 &lt;recruit@acme.example&gt;" in page
    assert "Message-ID</th><td" in page and message.message_id.strip("<>") in page
    assert 'id="message-html"' in page and "srcdoc=" in page and "sandbox" in page
    timeline = page[page.index('id="message-timeline"'):]
    assert "送信" in timeline and "配達" in timeline and "postmark" in timeline


def test_failures_are_mailed_to_the_admins_once(make_company, smtp_settings, django_capture_on_commit_callbacks):
    from tsunagu.companies import actions as companies

    company, key = make_company()
    company.failure_alerts = True
    company.save()
    companies.create_user(email="boss@acme.example", password="a-long-password", company=company, role=Role.ADMIN)
    companies.create_user(email="staff@acme.example", password="a-long-password", company=company,
                          role=Role.RECRUITER)
    quiet, quiet_key = make_company(slug="quiet", name="株式会社しずか")  # did not ask for alerts
    companies.create_user(email="boss@quiet.example", password="a-long-password", company=quiet, role=Role.ADMIN)
    smtp_settings.respond = "550 5.1.1 No such user"
    with django_capture_on_commit_callbacks(execute=True):
        failed = reject(key, 1)
        reject(quiet_key, 2)
    failed.refresh_from_db()
    assert failed.status == MessageStatus.FAILED
    smtp_settings.respond = None
    assert alerts.alert_failures() == 1
    [alert] = smtp_settings.wait_for(1)
    assert alert["rcpt"] == ["boss@acme.example"]
    assert "1件" in alert["message"]["Subject"]
    body = alert["message"].get_content()
    assert "c1@example.jp" in body and "550" in body and f"/console/outbox/{failed.pk}/" in body
    assert alerts.alert_failures() == 0  # each failure is alerted once
    assert len(smtp_settings.received) == 1


def test_the_outbox_finds_a_person_by_name_reading_address_or_application_id(make_company, login):
    company, key = make_company(delay_minutes=600)
    other, other_key = make_company(slug="other", name="株式会社ほか", delay_minutes=600)
    api = ApiClient(key)
    for number, name, kana in ((1, "髙橋 𠮷子", "タカハシ ヨシコ"), (2, "佐藤 花子", "サトウ ハナコ")):
        assert api.post("/api/v1/applications", application_body(
            external_id=f"A-{number}", candidate={"name": name, "name_kana": kana,
                                                  "email": f"person{number}@example.jp"})).status_code == 201
    ApiClient(other_key).post("/api/v1/applications", application_body(
        external_id="A-1", candidate={"name": "髙橋 𠮷子", "email": "takahashi@elsewhere.example"}))
    client = login(company, Role.VIEWER)

    def found(query):
        page = client.get("/console/outbox/", {"q": query}).content.decode()
        return sorted(address for address in ("person1@example.jp", "person2@example.jp",
                                              "takahashi@elsewhere.example") if address in page)

    assert found("髙橋𠮷子") == ["person1@example.jp"]  # typed without the space
    assert found("たかはし") == ["person1@example.jp"]  # the reading, in hiragana
    assert found("PERSON2@") == ["person2@example.jp"]
    assert found("A-2") == ["person2@example.jp"]
    assert found("山田") == []
    assert 'value="髙橋"' in client.get("/console/outbox/", {"q": "髙橋"}).content.decode()
