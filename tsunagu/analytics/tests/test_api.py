"""GET /api/v1/analytics/summary and /funnel: the numbers the pages show, for the key's company only."""

import re

import pytest

from tsunagu.analytics.tests import history
from tsunagu.companies.models import Role
from tsunagu.testing import ApiClient

NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


@pytest.fixture
def keys(make_company):
    acme, acme_key = make_company(delay_minutes=60, send_window="business")
    other, other_key = make_company(slug="other", name="株式会社ほか", delay_minutes=60, send_window="business")
    history.build(acme)
    history.build(other)
    return acme, ApiClient(acme_key), ApiClient(other_key)


@pytest.mark.django_db
def test_the_summary_is_what_the_dashboard_shows(keys, client, login):
    acme, api, _other = keys
    body = api.get("/api/v1/analytics/summary", **NOVEMBER).json()
    assert (body["first"], body["last"]) == ("2026-11-01", "2026-11-30")
    assert (body["previous_first"], body["previous_last"]) == ("2026-10-02", "2026-10-31")
    assert body["complete"] is True
    counts = body["counts"]
    assert (counts["rejections"], counts["notices_sent"], counts["notices_clicked"], counts["notices_registered"]) == (
        2, 3, 2, 1)
    assert body["previous_counts"]["rejections"] == 1
    assert body["rates"]["on_time_rate"] == pytest.approx(2 / 3)
    assert body["rates"]["unsubscribe_rate"] == 0
    assert (body["delay_minutes_p50"], body["delay_minutes_p90"]) == (1920, 2040)
    assert body["money"] == {"fee_yen": 500000, "slots_earned": 1, "slots_reserved": 0, "slots_used": 1,
                             "saved_yen": 500000, "projected_yen": 500000, "hiring_cost_yen": None, "hires": None,
                             "cost_per_hire": None, "cost_per_hire_without_relay": None}
    login(acme, Role.VIEWER)
    page = client.get("/console/?from=2026-11-01&to=2026-11-30").content.decode()
    shown = dict(re.findall(r'data-figure="([\w-]+)">([^<]*)<', page))
    for key in ("rejections", "notices_sent", "notices_clicked", "notices_registered", "followups_sent"):
        assert shown[key] == str(counts[key])
    # October has no notices: rates without a denominator are null, not 0.
    october = api.get("/api/v1/analytics/summary", **{"from": "2026-10-01", "to": "2026-10-31"}).json()
    assert october["rates"]["click_rate"] is None and october["counts"]["rejections"] == 1


@pytest.mark.django_db
def test_the_funnel_by_channel_stage_and_job(keys):
    _acme, api, other = keys
    channel = api.get("/api/v1/analytics/funnel", by="channel", **NOVEMBER).json()
    rows = {row["key"]: row for row in channel["rows"]}
    assert rows["リクナビ"]["registration_rate"] == 1 and rows["doda"]["notices_sent"] == 2
    assert channel["total"]["pass_rates"]["20"] == pytest.approx(3 / 4)
    stage = api.get("/api/v1/analytics/funnel", by="stage", **NOVEMBER).json()
    assert [row["key"] for row in stage["rows"]] == ["5", "10", "15", "20", "30", "40", "50"]
    job = api.get("/api/v1/analytics/funnel", by="job", **NOVEMBER).json()
    assert {row["label"] for row in job["rows"]} == {"法人営業", "バックエンド開発"}
    # The other company's key sees its own rows, the same shape, never ACME's ids.
    theirs = other.get("/api/v1/analytics/funnel", by="job", **NOVEMBER).json()
    assert not {row["key"] for row in theirs["rows"]} & {row["key"] for row in job["rows"]}


@pytest.mark.django_db
@pytest.mark.parametrize("params", [
    {"from": "2026-11-01"},
    {"from": "2026-11-30", "to": "2026-11-01"},
    {"from": "2020-01-01", "to": "2026-01-01"},
    {"from": "yesterday", "to": "2026-11-01"},
    {"from": "2026-11-01", "to": "2026-11-30", "form": "x"},
])
def test_bad_queries_are_422(keys, params):
    _acme, api, _other = keys
    response = api.get("/api/v1/analytics/summary", **params)
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["detail"][0]["loc"][0] == "query" and body["errors"]  # the API's one 422 shape


@pytest.mark.django_db
def test_without_a_key_or_with_a_bad_dimension(keys):
    _acme, api, _other = keys
    assert ApiClient(None).get("/api/v1/analytics/summary").status_code == 401
    assert ApiClient("wrong").get("/api/v1/analytics/funnel").status_code == 401
    assert api.get("/api/v1/analytics/funnel", by="salary").status_code == 422
    this_month = api.get("/api/v1/analytics/summary").json()
    assert this_month["first"].endswith("-01")


@pytest.mark.django_db
def test_a_period_error_says_why_in_english(keys):
    _acme, api, _other = keys
    body = api.get("/api/v1/analytics/summary", **{"from": "2020-01-01", "to": "2026-01-01"}).json()
    assert "three years" in body["detail"][0]["msg"]
