"""The dashboard leads with people who clicked and registrations; machines and opens are shown apart."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tsunagu.analytics.selectors import loop_counts
from tsunagu.companies.models import Role
from tsunagu.lib import tokens
from tsunagu.messaging.actions import tracking_events
from tsunagu.messaging.models import Message, MessageKind, MessageStatus
from tsunagu.messaging.tracking import tokens as tracking_tokens
from tsunagu.relay.actions import registration as relay
from tsunagu.relay.models import Click
from tsunagu.testing import ApiClient, application_body

BROWSER = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0.0.0 Safari/537.36")


def sent_notice(api, external_id, email_address) -> Message:
    response = api.post("/api/v1/applications", application_body(external_id=external_id, email_address=email_address))
    assert response.status_code == 201, response.content
    message = Message.objects.get(application__external_id=external_id, kind=MessageKind.REJECTION)
    sent_at = timezone.now() - timedelta(hours=1)
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.SENT, sent_at=sent_at)
    message.refresh_from_db()
    return message


def click(client, message, agent=BROWSER, method="get"):
    token = tracking_tokens.click_token("https://careers.example.jp/", message_id=message.pk,
                                        company_id=message.company_id, sent_at=message.sent_at)
    response = getattr(client, method)(f"/t/c/{token}", headers={"User-Agent": agent})
    assert response.status_code == 302


def open_mail(client, message, agent=BROWSER):
    token = tracking_tokens.open_token(message_id=message.pk, company_id=message.company_id, sent_at=message.sent_at)
    assert client.get(f"/t/o/{token}.gif", headers={"User-Agent": agent}).status_code == 200


def referral_click(client, message, agent=BROWSER, seconds_after_sending=None):
    response = client.get(f"/r/{tokens.referral_token(message.pk)}", headers={"User-Agent": agent})
    assert response.status_code == 200
    if seconds_after_sending is not None:
        last = Click.objects.filter(message=message).latest("pk")
        Click.objects.filter(pk=last.pk).update(created_at=message.sent_at + timedelta(seconds=seconds_after_sending))


def register(message):
    request = relay.request_registration(message, relay.RegistrationForm(
        name="髙橋 𠮷子", email=message.to_email, consent_purpose=True, consent_provision=True))
    relay.verify_registration(tokens.verify_token(request.pk))


def build_activity(make_company, client):
    """Company A: three notices sent. Company B: activity that A must never see."""
    company, key = make_company(delay_minutes=600)
    api = ApiClient(key)
    first, second, third = (sent_notice(api, f"A-{n}", f"a{n}@example.jp") for n in (1, 2, 3))
    click(client, first)
    click(client, first)  # the same person twice: two clicks, one person
    referral_click(client, first)
    click(client, second, agent="Mozilla/5.0 (compatible; Proofpoint URL Defense)")
    click(client, second, method="head")
    referral_click(client, second, agent="Barracuda Sentinel (EE)")
    referral_click(client, second, seconds_after_sending=2)  # the gateway fetching on delivery
    referral_click(client, third)
    register(third)
    open_mail(client, first)
    open_mail(client, second, agent="Mozilla/5.0")  # Apple Mail Privacy Protection

    other, other_key = make_company(slug="other", name="株式会社ほか")
    elsewhere = sent_notice(ApiClient(other_key), "B-1", "b1@example.jp")
    click(client, elsewhere)
    referral_click(client, elsewhere)
    open_mail(client, elsewhere)
    register(elsewhere)
    tracking_events.flush()
    return company, other


@pytest.mark.django_db
def test_counts_lead_with_people_and_keep_machines_and_opens_apart(make_company, client, events):
    company, other = build_activity(make_company, client)
    counts = loop_counts(company)
    assert counts.sent == 3
    assert counts.clicked_candidates == 2  # first and third; second was only ever machines
    assert counts.clicks == 4  # 2 tracked + 2 referral clicks by people
    assert counts.machine_clicks == 4  # Proofpoint, HEAD, Barracuda, 2 s after sending
    assert counts.registrations == 1
    assert (counts.opens, counts.opened_messages, counts.machine_opens) == (2, 2, 1)
    assert counts.click_rate == pytest.approx(2 / 3)

    theirs = loop_counts(other)
    assert (theirs.sent, theirs.clicked_candidates, theirs.clicks, theirs.machine_clicks, theirs.registrations,
            theirs.opens) == (1, 1, 2, 0, 1, 1)

    # The second person's only human-looking click came 2 s after sending; filling in the registration form
    # shows a person opened the link after all.
    second = Message.objects.get(company=company, application__external_id="A-2")
    relay.request_registration(second, relay.RegistrationForm(
        name="髙橋 𠮷子", email=second.to_email, consent_purpose=True, consent_provision=True))
    assert loop_counts(company).clicked_candidates == 3


@pytest.mark.django_db
def test_the_dashboard_page_shows_them(make_company, client, login, events):
    company, _other = build_activity(make_company, client)
    login(company, Role.VIEWER)
    page = client.get("/console/").content.decode()
    figures = dict(re.findall(r'data-figure="([\w-]+)">([^<]*)<', page))
    assert {key: figures[key] for key in (
        "rejections", "notices_sent", "notices_clicked", "notices_registered", "registrations", "credits",
        "slots_earned", "click_rate", "registration_rate", "notices_opened", "failed")} == {
        "rejections": "3", "notices_sent": "3", "notices_clicked": "2", "notices_registered": "1",
        "registrations": "1", "credits": "1", "slots_earned": "0", "click_rate": "66.7%",
        "registration_rate": "33.3%", "notices_opened": "2", "failed": "0"}
    counts = dict(re.findall(r'data-count="([\w-]+)">(\d+)<', page))
    assert counts == {"machine-clicks": "4", "slots": "0", "scheduled": "0"}
    assert 'data-denominator="click_rate">2 / 3<' in page
    # Clicks and registrations come first; opens later, with the warning.
    assert page.index('data-figure="notices_clicked"') < page.index('data-figure="notices_registered"') < page.index(
        'data-figure="notices_opened"')
    assert "Mail Privacy Protection" in page and "画像プロキシ" in page


@pytest.mark.django_db
def test_failed_mail_of_any_kind_surfaces_with_a_link_to_the_outbox(make_company, client, login, events):
    company, _other = build_activity(make_company, client)
    notice = Message.objects.filter(company=company, kind=MessageKind.REJECTION).first()
    Message.objects.create(company=company, kind=MessageKind.FOLLOW_UP, key="follow_up:x:1", step=1,
                           application=notice.application, to_email=notice.to_email, to_name=notice.to_name,
                           send_at=timezone.now(), status=MessageStatus.FAILED, last_error="550 mailbox unavailable")
    login(company, Role.VIEWER)
    page = client.get("/console/").content.decode()
    assert 'data-figure="failed">1<' in page
    assert "/console/outbox/?status=failed" in page and "550 mailbox unavailable" in page
    outbox = client.get("/console/outbox/?status=failed").content.decode()
    assert "550 mailbox unavailable" in outbox and "フォローアップ" in outbox
    assert outbox.count('class="status status-') == 1  # only the failed one
