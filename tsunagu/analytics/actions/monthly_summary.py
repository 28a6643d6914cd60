"""The monthly summary mail: last month's figures, the month before's beside them, to every admin of each
company that asked for it (Company.monthly_summary_mail), through the outbox like any other mail.

The scheduler calls `send_monthly_summaries()` every hour. A company's summary of a month is written once the
next month has begun in the company's time zone and its send window has opened, on or after the first, at
the start of its business hours (messaging.schedule.next_send_time): the month's counts are complete by then,
and HR reads the mail at a working hour. Each admin's mail is keyed `monthly_summary:<YYYY-MM>:<user id>` (the
month summarised): a repeated run, or two at once, write nothing new, and once a month's mails exist the
company is passed over without counting anything. A company that turns the mail on gets the summaries of the
months that begin afterwards (Company.monthly_summary_since). A month the scheduler missed entirely (it was
down for the whole of the next month) is not summarised later: the printable report has every month.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tsunagu.analytics.actions import rollup
from tsunagu.analytics.dashboard import Dashboard, dashboard
from tsunagu.analytics.money import money
from tsunagu.analytics.periods import Period, add_months, named_period
from tsunagu.analytics.templatetags.analytics_format import percent, yen
from tsunagu.companies.models import Company, Membership, Role
from tsunagu.messaging.actions import notices
from tsunagu.messaging.models import Message, MessageKind
from tsunagu.messaging.schedule import next_send_time

logger = logging.getLogger(__name__)

KEY_PREFIX = "monthly_summary"


def month_key(month: date) -> str:
    """The start of the keys of a month's mails (the admin's user id follows)."""
    return f"{KEY_PREFIX}:{month:%Y-%m}:"


def due_month(company: Company, now: datetime) -> date | None:
    """The first day of the month whose summary the company is due now, or None (not yet, or the mail was
    turned on during the current month)."""
    zone = ZoneInfo(company.time_zone)
    local = timezone.localtime(now, zone)
    month_start = datetime(local.year, local.month, 1, tzinfo=zone)
    since = company.monthly_summary_since
    if since is not None and since >= month_start:
        return None
    opens = next_send_time(company, datetime.combine(month_start.date(), time(company.business_hour_start), zone))
    if now < opens:
        return None
    return (month_start.date() - timedelta(days=1)).replace(day=1)


def recipients(company: Company) -> list[Membership]:
    """The company's admins who can be mailed: active users with an address, ordered by user."""
    return list(Membership.objects.filter(company=company, role=Role.ADMIN, user__is_active=True)
                .exclude(user__email="").select_related("user").order_by("user_id"))


def send_monthly_summaries(now: datetime | None = None) -> int:
    """The scheduler's job: write the summaries that are due (see the module's docstring); returns how many
    mails were written. One company's trouble is logged and retried next run, never stopping the others."""
    now = now or timezone.now()
    written = 0
    for company in Company.objects.tenants().filter(monthly_summary_mail=True).order_by("pk"):
        month = due_month(company, now)
        if month is None or Message.objects.filter(company=company, key__startswith=month_key(month)).exists():
            continue
        admins = recipients(company)
        if not admins:
            continue
        try:
            rollup.refresh(company)
            written += _write(company, month, admins)
        except Exception:  # noqa: BLE001 - the next run (an hour later) tries this company again
            logger.exception("monthly summary of company %s for %s failed; retrying", company.pk, month)
    if written:
        # At once, not on commit: the scheduler calls this outside any request.
        notices.request_delivery()
    return written


@transaction.atomic
def _write(company: Company, month: date, admins: list[Membership]) -> int:
    """One mail per admin; planning again writes nothing. Returns how many mails were new."""
    with translation.override(settings.LANGUAGE_CODE):  # stored as sent: in the site's language
        subject, body = summary_mail(company, named_period("last_month", add_months(month, 1)))
    written = 0
    for membership in admins:
        user = membership.user
        key = f"{month_key(month)}{user.pk}"
        exists = Message.objects.filter(company=company, key=key).exists()
        notices.plan_fixed_mail(company, kind=MessageKind.ALERT, key=key, to_email=user.email,
                                to_name=user.get_full_name() or user.email, subject=subject, body_text=body)
        written += not exists
    return written


# --- what the mail says --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Line:
    label: str
    value: str
    previous: str


def report_url(period: Period) -> str:
    """The printable report of exactly this month, whenever the link is opened."""
    return f"{settings.BASE_URL}{reverse('console:analytics_report')}?month={period.first:%Y-%m}"


def _count(value: int | None, unit: str) -> str:
    return "—" if value is None else f"{value:,}{unit}"


def figure_lines(figures: Dashboard) -> list[Line]:
    """The key figures of the month and the month before, as the mail writes them."""
    by_key = {c.key: c for c in (*figures.notices, *figures.outcomes, *figures.ledger, *figures.experience)}
    people, items, slots = _("人"), _("件"), _("枠")
    lines = []
    for key, unit in (("rejections", people), ("notices_sent", people), ("notices_clicked", people),
                      ("registrations", items), ("credits", items), ("slots_earned", slots)):
        comparison = by_key[key]
        lines.append(Line(comparison.label, _count(comparison.value, unit), _count(comparison.previous, unit)))
    current = figures.money
    previous = money(figures.company, figures.period.previous(), figures.previous)
    lines.append(Line(_("利用した無料紹介枠"), _count(current.slots_used, slots), _count(previous.slots_used, slots)))
    for key in ("on_time_rate", "follow_up_coverage"):
        comparison = by_key[key]
        value = percent(comparison.value)
        if comparison.denominator:
            value = f"{value}({comparison.numerator:,}/{comparison.denominator:,})"
        lines.append(Line(comparison.label, value, percent(comparison.previous)))
    lines.append(Line(_("削減できた採用コスト"), yen(current.saved_yen), yen(previous.saved_yen)))
    return lines


def summary_mail(company: Company, period: Period) -> tuple[str, str]:
    """Subject and plain text of the company's summary of the period (a whole month), in the active language."""
    figures = dashboard(company, period)
    month = {"year": period.first.year, "month": period.first.month}
    subject = _("【Tsunagu】%(year)d年%(month)d月の成果サマリー(%(company)s)") % {**month, "company": company.name}
    lines = [_("%(label)s: %(value)s(前月 %(previous)s)") % {
        "label": line.label, "value": line.value, "previous": line.previous} for line in figure_lines(figures)]
    fee = figures.money.fee_yen
    body = "\n".join([
        _("%(company)sの%(year)d年%(month)d月の成果をお知らせします。カッコ内は前月の数字です。")
        % {**month, "company": company.name}, "",
        _("期間: %(first)s〜%(last)s(%(zone)s)") % {
            "first": period.first.isoformat(), "last": period.last.isoformat(), "zone": company.time_zone}, "",
        *lines, "",
        _("削減できた採用コストは、利用した無料紹介枠の数 × 契約の紹介手数料(%(fee)s)です。") % {"fee": yen(fee)},
        _("リンクを開いた人は、その月に送った通知のうちリンクが開かれたものの数です。"), "",
        _("グラフと内訳の入った印刷用のレポート: %(url)s") % {"url": report_url(period)}, "",
        _("企業の設定で「毎月の成果サマリーを管理者にメールで送る」がオンのため、管理者の皆様にお送りしています。"
          "止めるときは、コンソールの「設定」でオフにしてください。"),
    ]) + "\n"
    return subject, body
