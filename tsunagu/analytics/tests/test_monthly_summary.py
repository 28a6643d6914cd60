"""The monthly summary mail: last month's figures to each admin, through the outbox and a real SMTP server,
once per month, from the month after it was turned on."""

import re
from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from tsunagu.analytics.actions import monthly_summary
from tsunagu.analytics.periods import PeriodError, period_from
from tsunagu.analytics.tests import history
from tsunagu.analytics.tests.history import JST, jst
from tsunagu.companies import actions as companies
from tsunagu.companies.models import Company, Role
from tsunagu.messaging.models import Message, MessageKind, MessageStatus
from tsunagu.testing import text_part

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-password"


# --- who is told ---------------------------------------------------------------------------------------

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
def companies_told(make_company, smtp_settings):
    """株式会社アクメ with the hand-counted history of tests/history.py (business hours 9-18 on working days),
    its two admins, an inactive admin, a recruiter and a viewer; another company with the mail on, its own
    admin and no history; a third with the mail off."""
    acme = summarised(make_company(delay_minutes=60, send_window="business")[0])
    history.build(acme)
    for email in ("boss@acme.example", "deputy@acme.example"):
        admin(acme, email)
    admin(acme, "gone@acme.example", active=False)
    admin(acme, "recruiter@acme.example", Role.RECRUITER)
    admin(acme, "viewer@acme.example", Role.VIEWER)
    other = summarised(make_company(slug="other", name="株式会社ほか")[0])
    admin(other, "boss@other.example")
    quiet, _key = make_company(slug="quiet", name="株式会社しずか")  # did not ask for it
    admin(quiet, "boss@quiet.example")
    return acme, other, smtp_settings


def summaries(sink) -> list:
    """The summary mails the SMTP server received (the history's registration has its own mail)."""
    return [mail for mail in sink.received if "成果サマリー" in mail["message"]["Subject"]]


def summary_of(sink, address):
    [message] = [mail["message"] for mail in summaries(sink) if address in mail["rcpt"]]
    return message["Subject"], text_part(message)


def keys(company) -> set[str]:
    return set(Message.objects.filter(company=company, kind=MessageKind.ALERT).values_list("key", flat=True))


# --- the mail ------------------------------------------------------------------------------------------

def test_each_admin_gets_last_months_figures_beside_the_month_before(companies_told, settings):
    acme, _other, sink = companies_told
    assert monthly_summary.send_monthly_summaries(now=jst(2026, 12, 1, 9, 0)) == 3
    sink.wait_for(3)
    assert sorted(r for mail in summaries(sink) for r in mail["rcpt"]) == [
        "boss@acme.example", "boss@other.example", "deputy@acme.example"]
    subject, body = summary_of(sink, "boss@acme.example")
    assert subject == "【Tsunagu】2026年11月の成果サマリー(株式会社アクメ)"
    assert summary_of(sink, "deputy@acme.example") == (subject, body)
    assert "期間: 2026-11-01〜2026-11-30(Asia/Tokyo)" in body
    lines = set(body.splitlines())
    for line in (  # counted by hand in tests/history.py; October beside November
        "不採用: 2人(前月 1人)",  # 00:10 on 1 November counts in November, 23:30 on 31 October in October
        "通知を送った人: 3人(前月 0人)",
        "リンクを開いた人: 2人(前月 0人)",
        "登録(登録日ベース): 0件(前月 0件)",  # completed 00:30 on 1 December
        "クレジット: 2件(前月 0件)",
        "獲得した無料紹介枠: 1枠(前月 0枠)",
        "利用した無料紹介枠: 1枠(前月 0枠)",
        "約束した時刻までに送った通知: 66.7%(2/3)(前月 —)",
        "不採用者フォロー率: 66.7%(2/3)(前月 —)",
        "削減できた採用コスト: 500,000円(前月 0円)",
    ):
        assert line in lines, (line, body)
    assert f"{settings.BASE_URL}/console/analytics/report/?month=2026-11" in body
    # Another company's admin gets that company's figures: none of acme's.
    other_subject, other_body = summary_of(sink, "boss@other.example")
    assert other_subject == "【Tsunagu】2026年11月の成果サマリー(株式会社ほか)"
    assert {"不採用: 0人(前月 0人)", "通知を送った人: 0人(前月 0人)"} <= set(other_body.splitlines())
    assert "株式会社アクメ" not in other_body
    # The mails are outbox rows of their company, keyed per month and admin, sent.
    boss, deputy = (get_user_model().objects.get(email=e).pk for e in ("boss@acme.example", "deputy@acme.example"))
    assert keys(acme) == {f"monthly_summary:2026-11:{boss}", f"monthly_summary:2026-11:{deputy}"}
    assert set(Message.objects.filter(kind=MessageKind.ALERT).values_list("status", flat=True)) == {MessageStatus.SENT}


def test_the_month_ends_at_midnight_in_tokyo(companies_told):
    acme, _other, sink = companies_told
    # 1 November 2026 is a Sunday: the business window opens on Monday the 2nd at 9:00.
    assert monthly_summary.send_monthly_summaries(now=jst(2026, 11, 2, 9, 0)) == 3
    sink.wait_for(3)
    subject, body = summary_of(sink, "boss@acme.example")
    assert subject == "【Tsunagu】2026年10月の成果サマリー(株式会社アクメ)"
    assert {"不採用: 1人(前月 0人)", "通知を送った人: 0人(前月 0人)"} <= set(body.splitlines())


def test_the_report_link_shows_the_same_month_against_the_one_before(companies_told, client):
    acme, _other, _sink = companies_told
    monthly_summary.send_monthly_summaries(now=jst(2026, 12, 1, 9, 0))
    body = Message.objects.filter(company=acme, kind=MessageKind.ALERT).first().body_text
    path = body[body.index("/console/analytics/report/"):].split()[0]
    assert client.login(username="boss@acme.example", password=PASSWORD)
    page = client.get(path).content.decode()
    assert 'data-figure="rejections">2<' in page
    assert "前の期間 2026-10-01〜2026-10-31 と比較" in page
    assert client.get("/console/analytics/report/?month=2026-13").status_code == 400


def test_a_second_run_writes_nothing(companies_told):
    acme, _other, sink = companies_told
    assert monthly_summary.send_monthly_summaries(now=jst(2026, 12, 1, 9, 0)) == 3
    sink.wait_for(3)
    assert monthly_summary.send_monthly_summaries(now=jst(2026, 12, 1, 10, 0)) == 0
    assert monthly_summary.send_monthly_summaries(now=jst(2026, 12, 31, 23, 0)) == 0
    assert Message.objects.filter(kind=MessageKind.ALERT).count() == 3
    assert len(summaries(sink)) == 3
    # The next month has its own (4 January 2027: the first working day after the year-end break).
    assert monthly_summary.send_monthly_summaries(now=jst(2027, 1, 4, 9, 0)) == 3
    latest = Message.objects.filter(company=acme, kind=MessageKind.ALERT).order_by("-pk").first()
    assert latest.subject == "【Tsunagu】2026年12月の成果サマリー(株式会社アクメ)"
    assert "登録(登録日ベース): 1件(前月 0件)" in latest.body_text.splitlines()


def test_nothing_before_the_first_or_before_business_hours(companies_told):
    acme, _other, sink = companies_told
    # Turned on in November: November's summary is the first.
    Company.objects.update(monthly_summary_since=jst(2026, 11, 1, 10))
    for moment in (jst(2026, 11, 30, 23, 59), jst(2026, 12, 1, 0, 30), jst(2026, 12, 1, 8, 59)):
        assert monthly_summary.send_monthly_summaries(now=moment) == 0, moment
    assert not Message.objects.filter(kind=MessageKind.ALERT).exists() and summaries(sink) == []
    assert monthly_summary.send_monthly_summaries(now=jst(2026, 12, 1, 9, 0)) == 3
    assert {key.rsplit(":", 1)[0] for key in keys(acme)} == {"monthly_summary:2026-11"}


def test_the_window_and_the_time_zone_decide_when(make_company):
    company = summarised(make_company(send_window="business")[0])
    # 1 January is a holiday and 29 December – 3 January the company's year-end break: Monday 4 January 2027.
    assert monthly_summary.due_month(company, jst(2027, 1, 2, 10)) is None
    assert monthly_summary.due_month(company, jst(2027, 1, 4, 8, 59)) is None
    assert monthly_summary.due_month(company, jst(2027, 1, 4, 9)).isoformat() == "2026-12-01"
    # A time zone of its own: 09:00 on 1 November in New York (EST from that night) is 23:00 in Tokyo.
    Company.objects.filter(pk=company.pk).update(time_zone="America/New_York", send_window="always")
    company.refresh_from_db()
    assert monthly_summary.due_month(company, jst(2026, 11, 1, 22, 59)) is None
    assert monthly_summary.due_month(company, jst(2026, 11, 1, 23, 0)).isoformat() == "2026-10-01"


def test_a_company_with_the_setting_off_gets_nothing(companies_told):
    acme, other, sink = companies_told
    Company.objects.filter(pk__in=[acme.pk, other.pk]).update(monthly_summary_mail=False)
    assert monthly_summary.send_monthly_summaries(now=jst(2026, 12, 2, 9, 0)) == 0
    assert not Message.objects.filter(kind=MessageKind.ALERT).exists() and summaries(sink) == []


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


def test_the_reports_month_is_the_same_whenever_the_link_is_opened():
    march = period_from({"month": "2026-03"}, date(2027, 5, 5))
    assert (march.first, march.last, march.query) == (date(2026, 3, 1), date(2026, 3, 31), "month=2026-03")
    assert (march.previous().first, march.previous().last) == (date(2026, 2, 1), date(2026, 2, 28))
    for bad in ("2026-13", "2026-3", "March", "1999-12"):
        with pytest.raises(PeriodError):
            period_from({"month": bad}, date(2027, 5, 5))
