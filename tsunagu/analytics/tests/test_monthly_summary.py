"""The monthly summary mail: last month's figures to each admin, through the outbox and a real SMTP server,
once per month, from the month after it was turned on."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from tsunagu.analytics.actions import monthly_summary
from tsunagu.companies import actions as companies
from tsunagu.companies.models import Company, Role
from tsunagu.messaging.models import EventKind, Message, MessageEvent, MessageKind, MessageStatus
from tsunagu.relay.actions import contracts, ledger
from tsunagu.relay.consent import CONSENT_VERSION
from tsunagu.relay.models import CreditStatus, LedgerEntry, Registrant, Registration, RegistrationRequest
from tsunagu.relay.tests.referrals import rejected
from tsunagu.talent.models import Application
from tsunagu.talent.normalize import email_key, name_key
from tsunagu.testing import text_part

pytestmark = pytest.mark.django_db

JST = ZoneInfo("Asia/Tokyo")
PASSWORD = "a-long-password"
FEE = 600_000


def jst(*args) -> datetime:
    return datetime(*args, tzinfo=JST)


# --- a hand-made history -------------------------------------------------------------------------------

def rejection(company, email, rejected_at, sent_at=None) -> Message:
    """A rejection at `rejected_at`; its notice sent at `sent_at`, or cancelled when None."""
    application = rejected(company, email=email, external_id=email)
    Application.objects.filter(pk=application.pk).update(rejected_at=rejected_at)
    notice = Message.objects.filter(application=application, kind=MessageKind.REJECTION)
    notice.update(status=MessageStatus.SENT if sent_at else MessageStatus.CANCELLED, sent_at=sent_at)
    return notice.get()


def clicked(notice, at) -> None:
    MessageEvent.objects.create(company=notice.company, message=notice, kind=EventKind.CLICKED, occurred_at=at,
                                user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0")


def registered(notice, at) -> None:
    """The notice's reader registered and verified at `at` (credited; a slot at the contract's ratio of 1)."""
    since = timezone.now()
    candidate, email = notice.application.candidate, notice.to_email
    request = RegistrationRequest.objects.create(
        company=notice.company, message=notice, candidate=candidate, name="候補者", email=email,
        consent_version=CONSENT_VERSION, consented_at=at, verified_at=at)
    registrant = Registrant.objects.create(email_key=email_key(email), email=email, name="候補者",
                                           name_key=name_key("候補者"), first_company=notice.company)
    registration = Registration.objects.create(company=notice.company, candidate=candidate, request=request,
                                               registrant=registrant, credit_status=CreditStatus.CREDITED,
                                               **request.details())
    ledger.credit(registration)
    happened_at(notice.company, since, at)


def slot_used(company, at) -> None:
    since = timezone.now()
    ledger.redeem_slot(company, note="中途採用")
    happened_at(company, since, at)


def happened_at(company, since, at) -> None:
    """The registration and ledger rows written since `since` are dated `at`."""
    for model in (RegistrationRequest, Registration, LedgerEntry):
        model.objects.filter(company=company, created_at__gte=since).update(created_at=at)


def admin(company, email, role=Role.ADMIN, *, active=True):
    user = companies.create_user(email=email, password=PASSWORD, company=company, role=role).user
    if not active:
        get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    return user


def summarised(company) -> Company:
    """The mail turned on long ago (a company turning it on during a month is tested on its own)."""
    Company.objects.filter(pk=company.pk).update(monthly_summary_mail=True, monthly_summary_since=jst(2026, 1, 5))
    company.refresh_from_db()
    return company


@pytest.fixture
def history(make_company, smtp_settings):
    """株式会社アクメ: September 1 rejection (notice on time); October 3 rejections (the last at 23:30 on the
    31st), 2 notices (one on time), 1 click, 2 registrations, 2 credits, 2 slots, 1 slot used; November 1
    rejection at 00:10 on the 1st. Its two admins, an inactive admin, a recruiter and a viewer. Another company
    with the mail on (its own admin, 1 rejection in October) and one with it off."""
    acme = summarised(make_company(referral_ratio=1)[0])
    contracts.set_contract(acme, fee_yen=FEE)
    september = rejection(acme, "s1@example.jp", jst(2026, 9, 10, 10), jst(2026, 9, 10, 10, 5))
    first = rejection(acme, "o1@example.jp", jst(2026, 10, 5, 10), jst(2026, 10, 5, 10, 5))
    rejection(acme, "o2@example.jp", jst(2026, 10, 20, 10), jst(2026, 10, 21, 15))  # a day late
    rejection(acme, "o3@example.jp", jst(2026, 10, 31, 23, 30))
    rejection(acme, "n1@example.jp", jst(2026, 11, 1, 0, 10))
    clicked(first, jst(2026, 10, 5, 12))
    registered(first, jst(2026, 10, 6, 9))
    registered(september, jst(2026, 10, 2, 9))
    slot_used(acme, jst(2026, 10, 25, 11))
    for email in ("boss@acme.example", "deputy@acme.example"):
        admin(acme, email)
    admin(acme, "gone@acme.example", active=False)
    admin(acme, "recruiter@acme.example", Role.RECRUITER)
    admin(acme, "viewer@acme.example", Role.VIEWER)

    other = summarised(make_company(slug="other", name="株式会社ほか")[0])
    rejection(other, "x1@example.jp", jst(2026, 10, 15, 10))
    admin(other, "boss@other.example")
    quiet, _key = make_company(slug="quiet", name="株式会社しずか")  # did not ask for it
    rejection(quiet, "q1@example.jp", jst(2026, 10, 15, 10))
    admin(quiet, "boss@quiet.example")
    return acme, other, smtp_settings


def summary_of(sink, address):
    [message] = sink.messages_to(address)
    return message["Subject"], text_part(message)


# --- the mail ------------------------------------------------------------------------------------------

def test_each_admin_gets_last_months_figures_beside_the_month_before(history, settings):
    acme, other, sink = history
    assert monthly_summary.send_monthly_summaries(now=jst(2026, 11, 1, 9, 0)) == 3
    received = sink.wait_for(3)
    assert sorted(r for mail in received for r in mail["rcpt"]) == [
        "boss@acme.example", "boss@other.example", "deputy@acme.example"]
    subject, body = summary_of(sink, "boss@acme.example")
    assert subject == "【Tsunagu】2026年10月の成果サマリー(株式会社アクメ)"
    assert summary_of(sink, "deputy@acme.example") == (subject, body)
    assert "期間: 2026-10-01〜2026-10-31(Asia/Tokyo)" in body
    lines = set(body.splitlines())
    for line in (
        "不採用: 3人(前月 1人)",  # 23:30 on 31 October counts in October, 00:10 on 1 November does not
        "通知を送った人: 2人(前月 1人)",
        # Counted on the notice's sending day: September's reader registered in October.
        "リンクを開いた人: 1人(前月 1人)",
        "登録(登録日ベース): 2件(前月 0件)",
        "クレジット: 2件(前月 0件)",
        "獲得した無料紹介枠: 2枠(前月 0枠)",
        "利用した無料紹介枠: 1枠(前月 0枠)",
        "約束した時刻までに送った通知: 50.0%(1/2)(前月 100.0%)",
        "不採用者フォロー率: —(前月 —)",
        "削減できた採用コスト: 600,000円(前月 0円)",
    ):
        assert line in lines, (line, body)
    report = f"{settings.BASE_URL}/console/analytics/report/?from=2026-10-01&to=2026-10-31"
    assert report in body
    # Another company's admin gets that company's figures, and none of acme's.
    other_subject, other_body = summary_of(sink, "boss@other.example")
    assert "株式会社ほか" in other_subject and "不採用: 1人(前月 0人)" in other_body.splitlines()
    assert "株式会社アクメ" not in other_body
    # The mails are outbox rows of their company, keyed per month and admin.
    keys = set(Message.objects.filter(company=acme, kind=MessageKind.ALERT).values_list("key", "status"))
    boss, deputy = (get_user_model().objects.get(email=e).pk for e in ("boss@acme.example", "deputy@acme.example"))
    assert keys == {(f"monthly_summary:2026-10:{boss}", MessageStatus.SENT),
                    (f"monthly_summary:2026-10:{deputy}", MessageStatus.SENT)}


def test_the_report_link_shows_the_same_month_against_the_one_before(history, client):
    acme, _other, _sink = history
    monthly_summary.send_monthly_summaries(now=jst(2026, 11, 1, 9, 0))
    body = Message.objects.filter(company=acme, kind=MessageKind.ALERT).first().body_text
    path = body[body.index("/console/analytics/report/"):].split()[0]
    assert client.login(username="boss@acme.example", password=PASSWORD)
    page = client.get(path).content.decode()
    assert 'data-figure="rejections">3<' in page
    assert "前の期間 2026-09-01〜2026-09-30 と比較" in page


def test_a_second_run_writes_nothing(history):
    acme, _other, sink = history
    assert monthly_summary.send_monthly_summaries(now=jst(2026, 11, 1, 9, 0)) == 3
    sink.wait_for(3)
    assert monthly_summary.send_monthly_summaries(now=jst(2026, 11, 1, 10, 0)) == 0
    assert monthly_summary.send_monthly_summaries(now=jst(2026, 11, 30, 23, 0)) == 0
    assert Message.objects.filter(kind=MessageKind.ALERT).count() == 3
    assert len(sink.received) == 3
    # The next month has its own.
    assert monthly_summary.send_monthly_summaries(now=jst(2026, 12, 1, 9, 0)) == 3
    subject, body = summary_of_latest(acme)
    assert subject == "【Tsunagu】2026年11月の成果サマリー(株式会社アクメ)"
    assert "不採用: 1人(前月 3人)" in body.splitlines()


def summary_of_latest(company):
    message = Message.objects.filter(company=company, kind=MessageKind.ALERT).order_by("-pk").first()
    return message.subject, message.body_text


def test_nothing_before_the_first_or_before_business_hours(history):
    _acme, _other, sink = history
    # Both turned it on in October: October's summary is the first.
    Company.objects.update(monthly_summary_since=jst(2026, 10, 1, 10))
    for moment in (jst(2026, 10, 31, 23, 59), jst(2026, 11, 1, 0, 30), jst(2026, 11, 1, 8, 59)):
        assert monthly_summary.send_monthly_summaries(now=moment) == 0, moment
    assert not Message.objects.filter(kind=MessageKind.ALERT).exists() and sink.received == []
    assert monthly_summary.send_monthly_summaries(now=jst(2026, 11, 1, 9, 0)) == 3
    assert {key.rsplit(":", 1)[0] for key in Message.objects.filter(kind=MessageKind.ALERT)
            .values_list("key", flat=True)} == {"monthly_summary:2026-10"}


def test_the_business_window_waits_for_the_first_working_day(make_company):
    company, _key = make_company(send_window="business")
    summarised(company)
    # 1 January is a holiday and 29 December – 3 January the company's year-end break: Monday 4 January 2027.
    assert monthly_summary.due_month(company, jst(2027, 1, 2, 10)) is None
    assert monthly_summary.due_month(company, jst(2027, 1, 4, 8, 59)) is None
    assert monthly_summary.due_month(company, jst(2027, 1, 4, 9)).isoformat() == "2026-12-01"
    # A time zone of its own: 09:00 in New York is 23:00 in Tokyo.
    Company.objects.filter(pk=company.pk).update(time_zone="America/New_York", send_window="always")
    company.refresh_from_db()
    assert monthly_summary.due_month(company, jst(2026, 11, 1, 22, 59)) is None
    assert monthly_summary.due_month(company, jst(2026, 11, 1, 23, 0)).isoformat() == "2026-10-01"


def test_a_company_with_the_setting_off_gets_nothing(history):
    acme, other, sink = history
    Company.objects.filter(pk__in=[acme.pk, other.pk]).update(monthly_summary_mail=False)
    assert monthly_summary.send_monthly_summaries(now=jst(2026, 11, 2, 9, 0)) == 0
    assert not Message.objects.filter(kind=MessageKind.ALERT).exists() and sink.received == []


# --- the setting ---------------------------------------------------------------------------------------

def settings_form(company, **changes):
    data = {field: getattr(company, field) for field in (
        "name", "sender_name", "sender_email", "reply_to", "signature", "time_zone", "delay_minutes", "send_window",
        "business_hour_start", "business_hour_end", "combine_rejections_minutes", "postal_address",
        "frequency_cap_days", "privacy_policy", "retention_days", "dkim_selector")}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not False}


def test_an_admin_turns_it_on_and_the_first_summary_is_of_the_next_whole_month(make_company, login, smtp_settings):
    company, _key = make_company()
    client = login(company, Role.ADMIN)
    page = client.get("/console/settings/").content.decode()
    assert "毎月の成果サマリーを管理者にメールで送る" in page and 'name="monthly_summary_mail"' in page
    assert client.post("/console/settings/", settings_form(company, monthly_summary_mail="on")).status_code == 302
    company.refresh_from_db()
    assert company.monthly_summary_mail is True and company.monthly_summary_since is not None
    assert re.search(r'<input[^>]*name="monthly_summary_mail"[^>]*checked', client.get("/console/settings/").content.decode())
    # Turned on during this month: not this month's summary of the month before...
    local = timezone.localtime(company.monthly_summary_since, JST)
    assert monthly_summary.send_monthly_summaries(now=company.monthly_summary_since + timedelta(seconds=1)) == 0
    assert monthly_summary.send_monthly_summaries(now=jst(local.year, local.month, 28, 23)) == 0
    # ...but this month's, once the next has begun.
    next_month = (local.replace(day=1) + timedelta(days=32)).replace(day=1)
    assert monthly_summary.send_monthly_summaries(now=jst(next_month.year, next_month.month, 1, 9)) == 1
    [mail] = smtp_settings.wait_for(1)
    assert f"{local.year}年{local.month}月の成果サマリー" in mail["message"]["Subject"]
    # And off again.
    assert client.post("/console/settings/", settings_form(company)).status_code == 302
    company.refresh_from_db()
    assert company.monthly_summary_mail is False


def test_only_an_admin_changes_it(make_company, login):
    company, _key = make_company()
    for role in (Role.RECRUITER, Role.VIEWER):
        client = login(company, role)
        response = client.post("/console/settings/", settings_form(company, monthly_summary_mail="on"))
        assert response.status_code == 403, role
        client.logout()
    company.refresh_from_db()
    assert company.monthly_summary_mail is False


def test_the_scheduler_runs_it_every_hour():
    from tsunagu.core import runtime

    jobs = {name: (job, every) for name, job, every in runtime.scheduler_jobs()}
    assert jobs["monthly summaries"] == (monthly_summary.send_monthly_summaries, 3600)
