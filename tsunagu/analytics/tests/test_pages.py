"""The dashboard, analysis tables, exports, report and hiring costs as HR uses them, over HTTP."""

import csv
import io
import re

import pytest

from tsunagu.analytics import table_views
from tsunagu.analytics.models import HiringCost
from tsunagu.analytics.tests import history
from tsunagu.companies.models import Role
from tsunagu.lib.spreadsheet import BOM
from tsunagu.talent.models import Application

NOVEMBER = "from=2026-11-01&to=2026-11-30"


@pytest.fixture
def acme(make_company):
    company, _key = make_company(delay_minutes=60, send_window="business")
    other, _key = make_company(slug="other", name="株式会社ほか", delay_minutes=60, send_window="business")
    history.build(company)
    history.build(other)
    Application.objects.filter(company=other, external_id="a3").update(channel="他社だけの経路")
    return company


def figures_of(page: str) -> dict:
    return dict(re.findall(r'data-figure="([\w-]+)">([^<]*)<', page))


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith(BOM)
    return list(csv.reader(io.StringIO(body[len(BOM):])))


@pytest.mark.django_db
def test_the_dashboard_for_a_period(acme, client, login):
    login(acme, Role.VIEWER)
    page = client.get(f"/console/?{NOVEMBER}").content.decode()
    figures = figures_of(page)
    assert figures["notices_clicked"] == "2" and figures["notices_registered"] == "1"
    assert figures["on_time_rate"] == "66.7%" and figures["follow_up_coverage"] == "66.7%"
    assert 'data-denominator="on_time_rate">2 / 3<' in page
    assert figures["delay-p50"] == "32時間"
    assert figures["saved_yen"] == "500,000円"
    assert figures["cost_per_hire"] == "—"
    assert "2026-11-01〜2026-11-30" in page and "2026-10-02〜2026-10-31" in page  # compared with
    # The previous period's figure and the change beside each.
    assert re.search(r'data-change="rejections">\+1<', page)  # 2 in November against 1 from 2 to 31 October
    october = figures_of(client.get("/console/?from=2026-10-01&to=2026-10-31").content.decode())
    assert october["rejections"] == "1" and october["notices_sent"] == "0" and october["click_rate"] == "—"


@pytest.mark.django_db
@pytest.mark.parametrize("query, message", [
    ("from=2026-13-01&to=2026-12-31", "YYYY-MM-DD"),
    ("from=2026-11-01", "from と to の両方"),
    ("from=2026-11-30&to=2026-11-01", "開始日(from)以降"),
    ("from=2020-01-01&to=2026-01-01", "3年以内"),
    ("from=1900-01-01&to=1900-01-02", "2000年から2100年"),
    ("period=decade", "期間の種類が不明"),
    ("from=%00&to=2026-01-01", "YYYY-MM-DD"),
])
def test_a_bad_period_is_a_clear_400(acme, client, login, query, message):
    login(acme, Role.VIEWER)
    for path in ("/console/", "/console/analytics/funnel/", "/console/analytics/funnel.csv",
                 "/console/analytics/trend.csv", "/console/analytics/report/", "/console/templates/ab/"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, path
        assert message in response.content.decode()


@pytest.mark.django_db
def test_the_funnel_page_sorts_and_never_shows_another_company(acme, client, login):
    login(acme, Role.VIEWER)
    page = client.get(f"/console/analytics/funnel/?by=channel&{NOVEMBER}").content.decode()
    keys = re.findall(r'<tr data-key="([^"]*)">', page)
    assert keys[0] == "リクナビ" and set(keys) == {"リクナビ", "", "doda"}
    assert "他社だけの経路" not in page
    assert "一次面接通過率" in page and "75.0%" in page
    ascending = client.get(f"/console/analytics/funnel/?by=channel&{NOVEMBER}&sort=label&dir=asc").content.decode()
    assert re.findall(r'<tr data-key="([^"]*)">', ascending) == ["", "doda", "リクナビ"]
    assert 'aria-sort="ascending"' in ascending
    for by in ("category", "job", "stage", "reason"):
        assert client.get(f"/console/analytics/funnel/?by={by}&{NOVEMBER}").status_code == 200
    assert client.get(f"/console/analytics/funnel/?by=salary&{NOVEMBER}").status_code == 400
    # An unknown sort column falls back to the default order instead of failing.
    assert client.get(f"/console/analytics/funnel/?by=job&sort=__class__&{NOVEMBER}").status_code == 200


@pytest.mark.django_db
def test_csv_exports_open_in_excel(acme, client, login):
    Application.objects.filter(company=acme, external_id="a5").update(channel="=HYPERLINK(\"http://evil\")")
    login(acme, Role.VIEWER)
    response = client.get(f"/console/analytics/funnel.csv?by=channel&{NOVEMBER}")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = read_csv(response)
    header = rows[0]
    assert header[0] == "応募経路" and "登録率(%)" in header
    for cell in header:
        cell.encode("cp932")  # Excel in Japan reads the header as Shift_JIS if the BOM is lost
    by_label = {row[0]: row for row in rows[1:]}
    assert "'=HYPERLINK(\"http://evil\")" in by_label  # neutralised, never a formula
    assert by_label["合計"][1] == "4"
    trend_rows = read_csv(client.get(f"/console/analytics/trend.csv?{NOVEMBER}"))
    assert trend_rows[0][0] == "週の初日"
    column = trend_rows[0].index("通知を送った人")
    assert sum(int(row[column]) for row in trend_rows[1:]) == 3
    for line in trend_rows[0]:
        line.encode("cp932")
    variants = read_csv(client.get(f"/console/analytics/variants.csv?{NOVEMBER}"))
    assert variants[0][:3] == ["テンプレート", "パターン", "送信"]
    assert sum(int(row[2]) for row in variants[1:]) == 3
    stage_rows = read_csv(client.get(f"/console/analytics/funnel.csv?by=stage&{NOVEMBER}"))
    assert stage_rows[0][0] == "選考ステップ"


@pytest.mark.django_db
def test_the_printable_report(acme, client, login):
    login(acme, Role.VIEWER)
    page = client.get(f"/console/analytics/report/?{NOVEMBER}").content.decode()
    assert "株式会社アクメ 不採用者フォローの成果レポート" in page
    assert "2026年11月1日〜2026年11月30日" in page
    assert 'id="report-channels"' in page and "リクナビ" in page and "他社だけの経路" not in page
    assert 'class="topbar"' not in page  # no console navigation on paper
    assert figures_of(page)["notices_registered"] == "1"


@pytest.mark.django_db
def test_hiring_costs_entered_by_an_admin(acme, client, login):
    login(acme, Role.ADMIN)
    response = client.post("/console/analytics/costs/", {"month": "2026-11", "cost_yen": "3000000", "hires": "2"})
    assert response.status_code == 302
    figures = figures_of(client.get(f"/console/?{NOVEMBER}").content.decode())
    assert figures["cost_per_hire"] == "1,500,000円"
    # Correcting the month overwrites it; bad input changes nothing and says why.
    client.post("/console/analytics/costs/", {"month": "2026-11", "cost_yen": "4000000", "hires": "2"})
    for bad, message in (({"month": "2026-13"}, "YYYY-MM"), ({"cost_yen": "-1"}, "採用費用は0以上"),
                         ({"hires": "two"}, "採用人数は0以上"), ({"cost_yen": "9" * 30}, "採用費用は0以上"),
                         ({"note": "あ" * 301}, "300文字")):
        data = {"month": "2026-11", "cost_yen": "1", "hires": "1", **bad}
        response = client.post("/console/analytics/costs/", data)
        assert response.status_code == 400 and message in response.content.decode()
    cost = HiringCost.objects.get(company=acme)
    assert (cost.cost_yen, cost.hires) == (4_000_000, 2)
    client.post("/console/analytics/costs/", {"delete": "2026-11"})
    assert not HiringCost.objects.filter(company=acme).exists()


@pytest.mark.django_db
def test_costs_are_the_companys_own(acme, client, login, make_company):
    other = make_company(slug="third", name="株式会社サード")[0]
    HiringCost.objects.create(company=other, month="2026-11-01", cost_yen=123_456_789, hires=3)
    login(acme, Role.VIEWER)
    page = client.get("/console/analytics/costs/").content.decode()
    assert "123,456,789" not in page and 'id="cost-form"' not in page  # a viewer reads, without the form
    assert client.post("/console/analytics/costs/", {"month": "2026-11", "cost_yen": "1", "hires": "1"}).status_code == 403
    login(acme, Role.ADMIN)
    client.post("/console/analytics/costs/", {"delete": "2026-11"})
    assert HiringCost.objects.filter(company=other).exists()


@pytest.mark.django_db
def test_a_long_table_shows_its_first_rows_and_the_csv_all(acme, client, login, monkeypatch):
    monkeypatch.setattr(table_views, "PAGE_ROWS", 1)
    login(acme, Role.VIEWER)
    page = client.get(f"/console/analytics/funnel/?by=channel&{NOVEMBER}").content.decode()
    assert re.findall(r'<tr data-key="([^"]*)">', page) == ["リクナビ"]
    assert "ほかに2行あります" in page
    rows = read_csv(client.get(f"/console/analytics/funnel.csv?by=channel&{NOVEMBER}"))
    assert len(rows) == 1 + 3 + 1  # header, three channels, total


@pytest.mark.django_db
def test_a_malformed_delete_says_so_and_deletes_nothing(acme, client, login):
    HiringCost.objects.create(company=acme, month="2026-11-01", cost_yen=1_000, hires=1)
    login(acme, Role.ADMIN)
    page = client.post("/console/analytics/costs/", {"delete": "2026-13"}, follow=True).content.decode()
    assert "YYYY-MM" in page and "削除しました" not in page
    assert HiringCost.objects.filter(company=acme).count() == 1
