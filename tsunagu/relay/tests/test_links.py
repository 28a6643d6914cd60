"""A link earns only if real: the personal link works (page, click, form) only once its notice was delivered,
and until the company's retention period since sending has passed. Otherwise a polite page (410) that
records and earns nothing."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from tsunagu.lib.tokens import referral_token
from tsunagu.messaging.actions import notices, suppression
from tsunagu.messaging.models import EventKind, Message, MessageEvent, MessageKind, MessageStatus
from tsunagu.relay.models import Click, RegistrationRequest
from tsunagu.relay.tests.candidate_path import FORM, link_path, register, reject, shown_digest
from tsunagu.testing import ApiClient, application_body

pytestmark = pytest.mark.django_db


def assert_inactive(client, path, capture, *, expired=False):
    """The page is polite, says nothing of the candidate, and GET, HEAD and the form all record nothing."""
    clicks, requests, mails = Click.objects.count(), RegistrationRequest.objects.count(), len(mail.outbox)
    page = client.get(path)
    assert page.status_code == 410
    text = page.content.decode()
    assert ("有効期限は終了しました" if expired else "現在ご利用いただけません") in text
    assert "yoshiko@example.jp" not in text and "髙橋" not in text and 'name="email"' not in text
    assert client.head(path).status_code == 410
    assert register(client, path, capture).status_code == 410
    assert client.get(path + "/sent").status_code == 410
    assert (Click.objects.count(), RegistrationRequest.objects.count(), len(mail.outbox)) == (clicks, requests, mails)


def scheduled_notice(make_company, capture, slug="later"):
    company, key = make_company(slug=slug, delay_minutes=60)
    with capture(execute=True):
        ApiClient(key).post("/api/v1/applications", application_body(external_id=f"{slug}-1"))
    message = Message.objects.get(company=company, kind=MessageKind.REJECTION)
    assert message.status == MessageStatus.SCHEDULED
    return company, message


def test_a_scheduled_notices_link_does_not_work(client, make_company, django_capture_on_commit_callbacks):
    # Whoever holds the link of a notice not yet sent (the company, say) cannot use it.
    _company, message = scheduled_notice(make_company, django_capture_on_commit_callbacks)
    assert_inactive(client, f"/r/{referral_token(message.pk)}", django_capture_on_commit_callbacks)


def test_a_cancelled_notices_link_does_not_work(client, make_company, django_capture_on_commit_callbacks):
    company, message = scheduled_notice(make_company, django_capture_on_commit_callbacks)
    notices.cancel_message(company, message.pk, reason="test")
    assert_inactive(client, f"/r/{referral_token(message.pk)}", django_capture_on_commit_callbacks)


def test_a_suppressed_notices_link_does_not_work(client, make_company, django_capture_on_commit_callbacks):
    company, key = make_company()
    suppression.add_suppression(company, "yoshiko@example.jp")
    with django_capture_on_commit_callbacks(execute=True):
        ApiClient(key).post("/api/v1/applications", application_body())
    message = Message.objects.get(kind=MessageKind.REJECTION)
    assert message.status == MessageStatus.SUPPRESSED
    assert_inactive(client, f"/r/{referral_token(message.pk)}", django_capture_on_commit_callbacks)


def test_a_failed_notices_link_does_not_work(client, company, api, smtp_settings, django_capture_on_commit_callbacks):
    smtp_settings.respond = "550 5.1.1 no such user"
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/v1/applications", application_body())
    message = Message.objects.get(kind=MessageKind.REJECTION)
    assert message.status == MessageStatus.FAILED
    assert_inactive(client, f"/r/{referral_token(message.pk)}", django_capture_on_commit_callbacks)


def test_a_bounced_notices_link_stops_working(client, api, django_capture_on_commit_callbacks):
    message = reject(api, django_capture_on_commit_callbacks)
    assert client.get(link_path(message)).status_code == 200
    MessageEvent.objects.create(company=message.company, message=message, kind=EventKind.BOUNCED,
                                occurred_at=timezone.now(), source="postmark", detail="mailbox does not exist")
    assert_inactive(client, link_path(message), django_capture_on_commit_callbacks)


def test_a_link_stops_working_after_the_retention_period(client, api, company, django_capture_on_commit_callbacks):
    message = reject(api, django_capture_on_commit_callbacks)
    almost = timezone.now() - timedelta(days=company.retention_days) + timedelta(hours=1)
    Message.objects.filter(pk=message.pk).update(sent_at=almost)
    assert client.get(link_path(message)).status_code == 200
    Message.objects.filter(pk=message.pk).update(sent_at=almost - timedelta(hours=2))
    assert_inactive(client, link_path(message), django_capture_on_commit_callbacks, expired=True)


def test_a_delivered_notices_link_works(client, api, django_capture_on_commit_callbacks):
    message = reject(api, django_capture_on_commit_callbacks)
    assert client.get(link_path(message)).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(link_path(message), {**FORM, "consent_digest": shown_digest(link_path(message))},
                               REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 302
    assert client.get(link_path(message) + "/sent").status_code == 200
    assert RegistrationRequest.objects.count() == 1 and Click.objects.count() == 1
