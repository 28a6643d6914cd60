"""Failure alerts to a company's admins go through the outbox: recorded, retried, never alerted about."""

import pytest
from django.utils import timezone

from tsunagu.companies import actions as companies
from tsunagu.companies.models import Role
from tsunagu.messaging.actions import alerts, delivery
from tsunagu.messaging.models import Message, MessageKind, MessageStatus
from tsunagu.testing import ApiClient, application_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def failing_company(make_company, smtp_settings, django_capture_on_commit_callbacks):
    """A company that asked for alerts, with one admin, and a notice the mail server refused for good."""
    company, key = make_company()
    company.failure_alerts = True
    company.save()
    companies.create_user(email="boss@acme.example", password="a-long-password", company=company, role=Role.ADMIN)
    smtp_settings.respond = "550 5.1.1 No such user"
    with django_capture_on_commit_callbacks(execute=True):
        ApiClient(key).post("/api/v1/applications", application_body(external_id="A-1", email_address="gone@example.jp"))
    assert Message.objects.get(kind=MessageKind.REJECTION).status == MessageStatus.FAILED
    smtp_settings.respond = None
    return company, smtp_settings


def test_an_alert_is_an_outbox_message_without_unsubscribe_or_tracking(failing_company, login):
    company, sink = failing_company
    assert alerts.alert_failures() == 1
    [received] = sink.wait_for(1)
    alert = Message.objects.get(kind=MessageKind.ALERT)
    assert (alert.status, alert.to_email, alert.company) == (MessageStatus.SENT, "boss@acme.example", company)
    assert alert.subject == received["message"]["Subject"] and "gone@example.jp" in alert.body_text
    assert received["message"]["List-Unsubscribe"] is None and "/t/" not in received["raw"].decode()
    client = login(company, Role.VIEWER)
    outbox = client.get("/console/outbox/?kind=alert").content.decode()
    assert "boss@acme.example" in outbox and "gone@example.jp" not in outbox
    page = client.get(f"/console/outbox/{alert.pk}/").content.decode()
    assert "gone@example.jp" in page  # the alert's text, as sent


def test_an_alert_the_mail_server_delays_is_retried_and_sent_once(failing_company):
    _company, sink = failing_company
    sink.respond = "421 4.3.2 Try again later"
    alerts.alert_failures()
    alert = Message.objects.get(kind=MessageKind.ALERT)
    assert alert.status == MessageStatus.SCHEDULED and "421" in alert.last_error
    sink.respond = None
    Message.objects.filter(pk=alert.pk).update(send_at=timezone.now())  # its retry is due
    assert delivery.deliver_due_messages().sent == [alert.pk]
    assert alerts.alert_failures() == 0  # the failure was alerted once, however long the alert took
    assert [m["rcpt"] for m in sink.received] == [["boss@acme.example"]]


def test_a_failed_alert_is_not_itself_alerted(failing_company):
    _company, sink = failing_company
    sink.respond = "550 5.1.1 No such admin"
    alerts.alert_failures()
    assert Message.objects.get(kind=MessageKind.ALERT).status == MessageStatus.FAILED
    sink.respond = None
    assert alerts.alert_failures() == 0
    assert Message.objects.filter(kind=MessageKind.ALERT).count() == 1 and sink.received == []


def test_alerts_have_no_template_to_edit(failing_company, login):
    company, _sink = failing_company
    client = login(company, Role.ADMIN)
    assert "/console/templates/alert/" not in client.get("/console/templates/").content.decode()
    assert client.get("/console/templates/alert/").status_code == 404
