"""The operator's figures by company and month: a hand-counted history of two companies (and one without any
activity) made through the relay's actions at chosen times, with month boundaries in Japan time; the page, the
CSV, who may see them, and bad periods."""

from __future__ import annotations

import csv
import io
from contextlib import contextmanager
from datetime import UTC, date, datetime
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from tsunagu.analytics.operator_stats import RangeError, Row, operator_monthly
from tsunagu.companies.actions import operator_party
from tsunagu.companies.models import Role
from tsunagu.lib import tokens
from tsunagu.relay.actions import introductions, requests, review
from tsunagu.relay.introduction_consent import introduction_consent_text, text_digest
from tsunagu.relay.models import CreditStatus, Registration
from tsunagu.relay.tests.desk_factories import make_registration
from tsunagu.relay.tests.referrals import REQUEST, company_client, operator_client, registered, registrant

pytestmark = pytest.mark.django_db


@contextmanager
def at(year, month, day, hour=0, minute=0):
    """Everything written inside happens at this moment (UTC): auto_now_add reads django.utils.timezone.now."""
    moment = datetime(year, month, day, hour, minute, tzinfo=UTC)
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield moment


FIGURES = ("registrations", "credited", "held", "voided", "duplicate", "slots_earned", "slots_reserved",
           "slots_redeemed", "slots_revoked", "requests", "introductions", "hires")


def figures(row: Row) -> dict:
    return {name: getattr(row, name) for name in FIGURES if getattr(row, name)}


@pytest.fixture
def history(make_company):
    """Counted by hand (months in Japan time; every credit earns a slot: ratio 1):

    acme 2026-10: a credited registration at 10-31 23:59 JST (its slot earned then), a held one voided.
    acme 2026-11: a credited registration at 11-01 00:00 JST (its slot), a held one; a referral request
                  (its slot reserved), one registrant proposed, consented and hired (the slot used).
    beta 2026-10: a credited registration (its slot), later reversed, so now void; a registration of
                  acme's October registrant (a duplicate).
    beta 2026-11: the reversal: the slot revoked.
    Outside: acme in September (09-30 23:59 JST), beta in December (12-01 00:00 JST); idle has nothing.
    """
    acme = make_company(slug="acme", name="アクメ株式会社", referral_ratio=1)[0]
    beta = make_company(slug="beta", name="ベータ株式会社", referral_ratio=1)[0]
    make_company(slug="idle", name="アイドル株式会社", referral_ratio=1)
    with at(2026, 9, 30, 14, 59):
        registered(acme, email="september@example.jp")
    with at(2026, 10, 31, 14, 59):
        registered(acme, email="october@example.jp")
    with at(2026, 10, 10, 3):
        doubtful = make_registration(acme, email="doubtful@example.jp", status=CreditStatus.HELD)
        review.void(doubtful, reason="同一端末からの連続登録")
    with at(2026, 10, 31, 15, 0):
        registered(acme, email="november@example.jp")
    with at(2026, 11, 5, 2):
        make_registration(acme, email="held@example.jp", status=CreditStatus.HELD)
    with at(2026, 11, 10, 1):
        referral = requests.file_request(acme, requests.RequestForm(**REQUEST))
    with at(2026, 11, 11, 1):
        introduction = introductions.propose(referral, registrant("hanako@example.jp"), recommendation="推薦します")
    with at(2026, 11, 12, 1):
        text = introduction_consent_text(introduction, operator_party())
        answer = introductions.answer_consent(tokens.introduction_token(introduction.pk), consent=True,
                                              shown_digest=text_digest(text))
        assert answer.result == "consented"
    with at(2026, 11, 20, 1):
        introductions.record_outcome(introduction, "offered")
    with at(2026, 11, 30, 14, 59):
        introductions.record_outcome(introduction, "hired")
    with at(2026, 10, 15, 1):
        reversed_later = registered(beta, email="beta@example.jp")
    with at(2026, 10, 20, 1):
        assert registered(beta, email="october@example.jp").credit_status == CreditStatus.DUPLICATE
    with at(2026, 11, 3, 1):
        review.reverse(reversed_later, reason="本人ではない登録")
    with at(2026, 11, 30, 15, 0):
        registered(beta, email="december@example.jp")
    return acme, beta


EXPECTED = {
    ("acme", "2026-10"): {"registrations": 2, "credited": 1, "voided": 1, "slots_earned": 1},
    ("acme", "2026-11"): {"registrations": 2, "credited": 1, "held": 1, "slots_earned": 1, "slots_reserved": 1,
                          "slots_redeemed": 1, "requests": 1, "introductions": 1, "hires": 1},
    ("beta", "2026-10"): {"registrations": 2, "voided": 1, "duplicate": 1, "slots_earned": 1},
    ("beta", "2026-11"): {"slots_revoked": 1},
}
TOTAL = {"registrations": 6, "credited": 2, "held": 1, "voided": 2, "duplicate": 1, "slots_earned": 3,
         "slots_reserved": 1, "slots_redeemed": 1, "slots_revoked": 1, "requests": 1, "introductions": 1,
         "hires": 1}


def test_figures_match_the_hand_count(history):
    rows = operator_monthly(date(2026, 10, 1), date(2026, 11, 30))
    *companies, overall = rows
    assert {(row.company.slug, row.month): figures(row) for row in companies} == EXPECTED
    assert [(row.company.slug, row.month) for row in companies] == sorted(EXPECTED)  # by name: アクメ before ベータ
    assert overall.is_total and overall.month == "" and figures(overall) == TOTAL


def test_month_boundaries_are_japan_time(history):
    # 2026-10-31 23:59 JST (14:59 UTC) is October's; 2026-11-01 00:00 JST (15:00 UTC) November's.
    october = operator_monthly(date(2026, 10, 1), date(2026, 10, 1))
    assert {(row.company.slug, row.month): row.credited for row in october[:-1]} == {
        ("acme", "2026-10"): 1, ("beta", "2026-10"): 0}
    assert operator_monthly(date(2026, 11, 1), date(2026, 11, 1))[0].credited == 1
    # The months on either side hold the September and December registrations, and nothing of the rest.
    september = operator_monthly(date(2026, 9, 1), date(2026, 9, 1))
    assert [(row.company.slug if row.company else None, figures(row)) for row in september] == [
        ("acme", {"registrations": 1, "credited": 1, "slots_earned": 1}),
        (None, {"registrations": 1, "credited": 1, "slots_earned": 1})]
    december = operator_monthly(date(2026, 12, 1), date(2026, 12, 31))
    assert [(row.company.slug, row.month) for row in december[:-1]] == [("beta", "2026-12")]
    # The four months together: every figure once.
    whole = operator_monthly(date(2026, 9, 1), date(2026, 12, 1))[-1]
    assert whole.registrations == TOTAL["registrations"] + 2 and whole.slots_earned == TOTAL["slots_earned"] + 2


def test_an_empty_range_has_zero_totals(history):
    assert operator_monthly(date(2025, 1, 1), date(2025, 12, 1)) == [Row(company=None, month="")]


@pytest.mark.parametrize("start, end", [(date(2026, 11, 1), date(2026, 10, 1)), (date(2024, 1, 1), date(2026, 1, 1))])
def test_a_bad_range_is_refused(db, start, end):
    with pytest.raises(RangeError):
        operator_monthly(start, end)
    assert len(operator_monthly(date(2024, 2, 1), date(2026, 1, 1))) == 1  # 24 months is the most allowed


# --- the page and the CSV -------------------------------------------------------------------------------

PAGE = "/console/operator/analytics/"
CSV = "/console/operator/analytics.csv"


def test_the_page_shows_each_company_by_month_with_totals(history):
    desk, _staff = operator_client()
    response = desk.get(PAGE, {"from": "2026-10", "to": "2026-11"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "企業別・月別の集計" in page and 'id="nav-operator-analytics"' in page
    assert 'href="/console/operator/companies/acme/"' in page and 'href="/console/operator/companies/beta/"' in page
    assert "アイドル株式会社" not in page
    assert f'href="{CSV}?from=2026-10&amp;to=2026-11"' in page
    acme_rows = response.context["companies"][0]
    assert acme_rows[0].company.slug == "acme" and figures(acme_rows[0]) == {
        name: EXPECTED[("acme", "2026-10")].get(name, 0) + EXPECTED[("acme", "2026-11")].get(name, 0)
        for name in FIGURES if EXPECTED[("acme", "2026-10")].get(name) or EXPECTED[("acme", "2026-11")].get(name)}
    assert [row.month for row in acme_rows[1]] == ["2026-10", "2026-11"]
    assert figures(response.context["overall"]) == TOTAL
    assert [(row.month, row.registrations) for row in response.context["month_totals"]] == [
        ("2026-10", 4), ("2026-11", 2)]
    overall = page.split('id="overall-total"')[1].split("</tr>")[0]
    assert [cell.split("</th>")[0] for cell in overall.split("<th>")[3:]] == [str(TOTAL[name]) for name in FIGURES]


def test_the_companies_sort_by_a_column_and_back(history):
    desk, _staff = operator_client()

    def order(sort):
        response = desk.get(PAGE, {"from": "2026-10", "to": "2026-11", "sort": sort})
        assert response.status_code == 200
        return [company_total.company.slug for company_total, _months in response.context["companies"]]

    assert order("company") == ["acme", "beta"] and order("-company") == ["beta", "acme"]
    assert order("slots_revoked") == ["beta", "acme"]  # the largest first
    assert order("-slots_revoked") == ["acme", "beta"]
    assert order("duplicate") == ["beta", "acme"] and order("hires") == ["acme", "beta"]
    assert order("no_such_column") == ["acme", "beta"]  # an unknown column: the default order
    page = desk.get(PAGE, {"from": "2026-10", "to": "2026-11", "sort": "hires"}).content.decode()
    assert 'href="?from=2026-10&amp;to=2026-11&amp;sort=-hires" id="sort-hires"' in page  # a second click reverses


def test_the_default_period_is_the_last_six_months(history):
    desk, _staff = operator_client()
    response = desk.get(PAGE)
    assert response.status_code == 200
    period = response.context["period"]
    this_month = timezone.localdate(timezone=timezone.get_default_timezone()).replace(day=1)
    assert period.end == this_month
    assert (period.end.year - period.start.year) * 12 + period.end.month - period.start.month == 5


def test_the_csv_has_a_bom_japanese_headings_and_the_numbers(history):
    desk, _staff = operator_client()
    response = desk.get(CSV, {"from": "2026-10", "to": "2026-11"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "operator-analytics-202610-202611.csv" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text[1:])))
    assert lines[0] == ["企業", "スラッグ", "月", "登録", "クレジット付与", "確認待ち", "無効", "登録済みの方", "枠の獲得",
                        "枠の確保", "枠の利用", "枠の取り消し", "紹介依頼", "推薦", "入社"]
    body = {(line[1], line[2]): [int(value) for value in line[3:]] for line in lines[1:-1]}
    assert body == {key: [EXPECTED[key].get(name, 0) for name in FIGURES] for key in EXPECTED}
    assert lines[1][0] == "アクメ株式会社"
    assert lines[-1] == ["合計", "", "2026-10〜2026-11", *(str(TOTAL[name]) for name in FIGURES)]


def test_a_company_name_that_looks_like_a_formula_is_neutralised(make_company):
    company = make_company(slug="formula", name="=HYPERLINK(\"http://evil.example\")", referral_ratio=1)[0]
    registered(company, email="someone@example.jp")
    desk, _staff = operator_client()
    this_month = timezone.localdate(timezone=timezone.get_default_timezone())
    text = b"".join(desk.get(CSV, {"from": f"{this_month:%Y-%m}"}).streaming_content).decode()
    lines = list(csv.reader(io.StringIO(text[1:])))
    assert lines[1][:2] == ["'=HYPERLINK(\"http://evil.example\")", "formula"]


# --- who may see it, and bad input ----------------------------------------------------------------------

@pytest.mark.parametrize("path", [PAGE, CSV])
def test_only_operator_staff_may_see_it(history, path):
    anonymous = Client().get(path)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/console/login/")
    for role in (Role.ADMIN, Role.VIEWER):
        assert company_client(history[0], role).get(path).status_code == 403
    assert company_client(history[1], Role.ADMIN, email="admin2@beta.example").get(path).status_code == 403
    desk, _staff = operator_client()
    assert desk.get(path).status_code == 200
    assert desk.post(path).status_code == 405


@pytest.mark.parametrize("query, message", [
    ({"from": "2026/10"}, "開始月は 2026-12 の形(年-月)で入力してください。"),
    ({"to": "2026-13"}, "終了月は 2026-12 の形(年-月)で入力してください。"),
    ({"from": "1999-12"}, "開始月は 2026-12 の形(年-月)で入力してください。"),
    ({"from": "2026-1", "to": "2026-02"}, "開始月は 2026-12 の形(年-月)で入力してください。"),
    ({"from": "2026-11", "to": "2026-10"}, "終了月は開始月と同じか、それより後にしてください。"),
    ({"from": "2024-01", "to": "2026-01"}, "期間は24か月以内で指定してください。"),
])
def test_a_bad_period_is_400_with_a_message(history, query, message):
    desk, _staff = operator_client()
    registrations = Registration.objects.count()
    page = desk.get(PAGE, query)
    assert page.status_code == 400
    assert message in page.content.decode() and 'id="operator-stats"' not in page.content.decode()
    exported = desk.get(CSV, query)
    assert exported.status_code == 400 and message in exported.content.decode()
    assert Registration.objects.count() == registrations
