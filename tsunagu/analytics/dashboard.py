"""Everything the dashboard shows for a period, in one place for the page, the printable report and the
monthly mail (read only)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from tsunagu.analytics.money import Money, money
from tsunagu.analytics.periods import Period
from tsunagu.analytics.report import Summary, Trend, summary, trend
from tsunagu.companies.models import Company
from tsunagu.lib.charts import Series, bar_chart, line_chart


@dataclass
class Comparison:
    """A figure of the period beside the previous period's."""
    label: str
    key: str
    value: int | float | None
    previous: int | float | None
    percent: bool = False  # a rate (0..1), shown as a percentage
    numerator: int | None = None
    denominator: int | None = None

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


@dataclass
class Dashboard:
    company: Company
    period: Period
    current: Summary
    previous: Summary
    trend: Trend
    money: Money

    @property
    def outcomes(self) -> list[Comparison]:
        """People first: who opened the link and who registered, with their rates over the notices sent."""
        c, p = self.current, self.previous
        cr, pr = c.rates, p.rates
        return [
            Comparison(_("リンクを開いた人"), "notices_clicked", c.notices_clicked, p.notices_clicked),
            Comparison(_("登録した人"), "notices_registered", c.notices_registered, p.notices_registered),
            Comparison(_("クリック率"), "click_rate", cr["click_rate"], pr["click_rate"], True,
                       c.notices_clicked, c.notices_sent),
            Comparison(_("登録率"), "registration_rate", cr["registration_rate"], pr["registration_rate"], True,
                       c.notices_registered, c.notices_sent),
        ]

    @property
    def ledger(self) -> list[Comparison]:
        c, p = self.current, self.previous
        return [
            Comparison(_("登録(登録日ベース)"), "registrations", c.registrations, p.registrations),
            Comparison(_("クレジット"), "credits", c.credits_net, p.credits_net),
            Comparison(_("獲得した無料紹介枠"), "slots_earned", c.slots_earned_net, p.slots_earned_net),
        ]

    @property
    def notices(self) -> list[Comparison]:
        c, p = self.current, self.previous
        return [
            Comparison(_("不採用"), "rejections", c.rejections, p.rejections),
            Comparison(_("通知を送った人"), "notices_sent", c.notices_sent, p.notices_sent),
            Comparison(_("フォローアップ送信"), "followups_sent", c.followups_sent, p.followups_sent),
        ]

    @property
    def experience(self) -> list[Comparison]:
        c, p = self.current, self.previous
        cr, pr = c.rates, p.rates
        return [
            Comparison(_("約束した時刻までに送った通知"), "on_time_rate", cr["on_time_rate"], pr["on_time_rate"],
                       True, c.notices_on_time, c.notices_timed),
            Comparison(_("不採用者フォロー率"), "follow_up_coverage", cr["follow_up_coverage"],
                       pr["follow_up_coverage"], True, c.followups_covered, c.followups_due),
            Comparison(_("不達率"), "bounce_rate", cr["bounce_rate"], pr["bounce_rate"], True, c.bounced,
                       c.mails_sent),
            Comparison(_("配信停止率"), "unsubscribe_rate", cr["unsubscribe_rate"], pr["unsubscribe_rate"], True,
                       c.unsubscribed, c.mails_sent),
            Comparison(_("送信失敗"), "failed", c.failed, p.failed),
        ]

    def charts(self) -> list:
        labels, series = self.trend.labels, self.trend.series
        return [
            bar_chart(labels, [Series(_("不採用"), series["rejections"]),
                               Series(_("通知を送った人"), series["notices_sent"])],
                      title=_("不採用と通知"), unit=_("人")),
            line_chart(labels, [Series(_("リンクを開いた人"), series["notices_clicked"]),
                                Series(_("登録"), series["registrations"])],
                       title=_("クリックと登録"), unit=_("人")),
            bar_chart(labels, [Series(_("クレジット"), series["credits"]),
                               Series(_("獲得した無料紹介枠"), series["slots_earned"])],
                      title=_("クレジットと無料紹介枠"), unit=_("件")),
        ]


def dashboard(company: Company, period: Period) -> Dashboard:
    current = summary(company, period)
    return Dashboard(company, period, current, summary(company, period.previous()), trend(company, period),
                     money(company, period, current))
