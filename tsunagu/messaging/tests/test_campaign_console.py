"""The console's campaign pages over real HTTP: the new-campaign page (audience after exclusions, rendered
samples, scheduling), the campaign's statistics, roles, another company's objects and bad input."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from tsunagu.companies.models import Role
from tsunagu.messaging.actions import campaigns as campaign_actions
from tsunagu.messaging.campaign_stats import campaign_stats
from tsunagu.messaging.models import Campaign, CampaignStatus, EventKind, Message, MessageEvent, MessageStatus
from tsunagu.messaging.tests.campaign_people import applies_again, campaign_for, past
from tsunagu.talent.models import Application, Candidate

pytestmark = pytest.mark.django_db

NEW = "/console/campaigns/new/"


def ids_query(candidates, **extra) -> str:
    return urlencode([("candidate", c.pk) for c in candidates] + list(extra.items()))


def test_the_page_counts_the_audience_shows_samples_and_schedules(make_company, login):
    company, _key = make_company()
    people = [past(company, n, name=f"髙橋 {n}郎").candidate for n in range(4)]
    hired = past(company, 9, status="hired").candidate
    job = applies_again(company, 99, title="データエンジニア").job
    recruiter = login(company, Role.RECRUITER)
    url = f"{NEW}?{ids_query([*people, hired], job=job.pk, kind='invitation')}"
    page = recruiter.get(url).content.decode()
    assert 'id="audience-count">4<' in page and 'id="excluded-count">1<' in page
    assert 'data-reason="hired"' in page and "採用済み" in page
    assert page.count('class="panel sample"') == 3
    assert "「データエンジニア」の募集を開始" in page and "髙橋 0郎様" in page
    assert "/r/" not in page  # the personal link reads as the placeholder
    assert "データエンジニアのご案内" in page  # the default name

    response = recruiter.post(url, {"name": "データエンジニアの再提案", "send": "now", "per_hour": "100"})
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/console/campaigns/{campaign.pk}/"
    assert (campaign.name, campaign.kind, campaign.job, campaign.per_hour, campaign.audience_size) == (
        "データエンジニアの再提案", "invitation", job, 100, 4)
    assert campaign.candidate_ids == sorted(c.pk for c in [*people, hired]) and campaign.excluded == {"hired": 1}
    assert campaign.created_by.email == "recruiter@acme.example"
    campaign_actions.plan_due_campaigns()
    page = recruiter.get(response["Location"]).content.decode()
    assert 'data-stat="planned">4<' in page and 'data-stat="sent">0<' in page and "約5%が再応募" in page


def test_a_pool_search_is_the_audience_and_a_later_time_is_the_companys(make_company, login):
    company, _key = make_company()
    engineers = [past(company, n).candidate for n in range(2)]
    past(company, 5, category="営業", title="法人営業")
    recruiter = login(company, Role.RECRUITER)
    url = f"{NEW}?{urlencode({'job_category': 'エンジニア', 'kind': 'follow_up'})}"
    page = recruiter.get(url).content.decode()
    assert 'id="audience-count">2<' in page and "職種カテゴリ: エンジニア" in page
    assert "/console/candidates/?job_category=%E3%82%A8" in page  # back to the same search
    local = (timezone.localtime(timezone.now() + timedelta(days=2), timezone.get_fixed_timezone(540))
             .replace(hour=10, minute=30, second=0, microsecond=0))
    response = recruiter.post(url, {"name": "エンジニア再応募", "send": "later",
                                    "send_at": local.strftime("%Y-%m-%dT%H:%M"), "per_hour": "200"})
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.audience_params == {"job_category": "エンジニア"} and campaign.candidate_ids == []
    assert campaign.send_at == local and campaign.kind == "follow_up"
    campaign_actions.plan_due_campaigns(local + timedelta(minutes=1))
    assert set(Message.objects.filter(campaign=campaign).values_list("application__candidate", flat=True)) == {
        c.pk for c in engineers}


def test_bad_input_is_a_clear_400_and_changes_nothing(make_company, login):
    company, _key = make_company()
    person = past(company, 1).candidate
    recruiter = login(company, Role.RECRUITER)
    too_many = f"{NEW}?" + "&".join(f"candidate={n}" for n in range(5001))
    for url in (too_many, f"{NEW}?candidate=1x", f"{NEW}?stage_at_least=abc", f"{NEW}?kind=rejection",
                f"{NEW}?job=abc", f"{NEW}?candidate={person.pk}&candidate=" + "9" * 40):
        for response in (recruiter.get(url), recruiter.post(url, {"name": "x", "send": "now", "per_hour": "10"})):
            assert response.status_code == 400, url
            assert 'id="request-errors"' in response.content.decode()
    assert "5,000人まで" in recruiter.get(too_many).content.decode()
    # A list of 1,500 (beyond Django's 1,000 query fields, within the campaign's cap) is read.
    many = f"{NEW}?" + "&".join(f"candidate={n}" for n in [person.pk, *range(10**6, 10**6 + 1499)])
    assert 'id="audience-count">1<' in recruiter.get(many).content.decode()
    url = f"{NEW}?candidate={person.pk}"
    for form in ({"name": "", "send": "now", "per_hour": "10"}, {"name": "x", "send": "now", "per_hour": "0"},
                 {"name": "x", "send": "later", "send_at": "tomorrow", "per_hour": "10"},
                 {"name": "x", "send": "later", "send_at": "2001-01-01T10:00", "per_hour": "10"},
                 {"name": "x" * 201, "send": "now", "per_hour": "10"}):
        response = recruiter.post(url, form)
        assert response.status_code == 400 and 'class="errorlist"' in response.content.decode(), form
    assert not Campaign.objects.exists()


def test_roles_viewers_read_recruiters_act(make_company, login, client):
    company, _key = make_company()
    person = past(company, 1).candidate
    campaign = campaign_for(company, [person])
    viewer = login(company, Role.VIEWER)
    page = viewer.get(f"{NEW}?candidate={person.pk}").content.decode()
    assert 'id="audience-count">1<' in page and 'id="campaign-form"' not in page
    assert viewer.post(f"{NEW}?candidate={person.pk}", {"name": "x", "send": "now"}).status_code == 403
    assert viewer.get("/console/campaigns/").status_code == 200
    assert 'id="cancel-campaign"' not in viewer.get(f"/console/campaigns/{campaign.pk}/").content.decode()
    assert viewer.post(f"/console/campaigns/{campaign.pk}/cancel/").status_code == 403
    assert Campaign.objects.count() == 1 and Campaign.objects.get().status == CampaignStatus.SCHEDULED
    client.logout()
    recruiter = login(company, Role.RECRUITER)
    assert 'id="cancel-campaign"' in recruiter.get(f"/console/campaigns/{campaign.pk}/").content.decode()
    assert recruiter.post(f"/console/campaigns/{campaign.pk}/cancel/").status_code == 302
    assert Campaign.objects.get().status == CampaignStatus.CANCELLED


def test_another_companys_campaign_job_and_people_are_not_reachable(make_company, login):
    company, _key = make_company()
    other, _other_key = make_company(slug="other", name="株式会社アザー")
    mine = past(company, 1).candidate
    theirs = past(other, 2).candidate
    their_job = theirs.applications.get().job
    their_campaign = campaign_for(other, [theirs])
    recruiter = login(company, Role.RECRUITER)
    assert recruiter.get(f"/console/campaigns/{their_campaign.pk}/").status_code == 404
    assert recruiter.post(f"/console/campaigns/{their_campaign.pk}/cancel/").status_code == 404
    assert Campaign.objects.get(pk=their_campaign.pk).status == CampaignStatus.SCHEDULED
    assert recruiter.get(f"{NEW}?candidate={mine.pk}&job={their_job.pk}").status_code == 404
    assert their_campaign.name not in recruiter.get("/console/campaigns/").content.decode()
    # Their candidate's id is ignored: counted as not found, never stored, never mailed, never shown.
    url = f"{NEW}?{ids_query([mine, theirs])}"
    page = recruiter.get(url).content.decode()
    assert 'id="audience-count">1<' in page and 'data-reason="not_found"' in page and "候補者2" not in page
    recruiter.post(url, {"name": "x", "send": "now", "per_hour": "10"})
    campaign = Campaign.objects.get(company=company)
    assert campaign.candidate_ids == [mine.pk]
    campaign_actions.plan_due_campaigns()
    assert list(Message.objects.filter(campaign=campaign).values_list("to_email", flat=True)) == ["p1@example.jp"]


def test_statistics_clicks_reapplications_by_link_or_window_and_hires(make_company, login):
    company, _key = make_company()
    clicker, applier, scanned, quiet, late = (past(company, n).candidate for n in range(1, 6))
    campaign = campaign_for(company, [clicker, applier, scanned, quiet, late])
    campaign_actions.plan_due_campaigns()
    sent_at = timezone.now() - timedelta(days=3)
    Message.objects.filter(campaign=campaign).update(status=MessageStatus.SENT, sent_at=sent_at)
    mail = {m.application.candidate_id: m for m in Message.objects.filter(campaign=campaign).select_related("application")}

    def event(candidate, *, machine=False, days_ago=2):
        MessageEvent.objects.create(company=company, message=mail[candidate.pk], kind=EventKind.CLICKED,
                                    occurred_at=timezone.now() - timedelta(days=days_ago), machine=machine,
                                    source="tracking")

    event(clicker)
    event(clicker, days_ago=1)  # twice: one person
    event(scanned, machine=True)  # a mail scanner, not a person
    applies_again(company, 1)  # after clicking: by the link
    hire = applies_again(company, 2, status="hired")  # no click: within the window, and hired
    old = applies_again(company, 5, external_id="OLD")  # Tsunagu learnt of it after the window
    Application.objects.filter(pk=old.pk).update(created_at=sent_at + timedelta(days=181))
    Message.objects.filter(pk=mail[late.pk].pk).update(sent_at=timezone.now() - timedelta(days=200))
    stats = campaign_stats(campaign)
    assert (stats.sent, stats.clicked) == (5, 1)
    assert {row.candidate_id: row.by_link for row in stats.reapplied} == {clicker.pk: True, applier.pk: False}
    assert (stats.reapplied_count, stats.by_link, stats.by_window, stats.hires) == (2, 1, 1, 1)
    assert stats.rate_percent == "40.0%" and hire.status == "hired"
    page = login(company, Role.VIEWER).get(f"/console/campaigns/{campaign.pk}/").content.decode()
    for stat, value in (("sent", 5), ("clicked", 1), ("reapplied", 2), ("hires", 1), ("rate", "40.0%")):
        assert f'data-stat="{stat}">{value}<' in page
    assert "リンク経由" in page and "約5%が再応募" in page
    assert Candidate.objects.get(pk=quiet.pk).name in page  # the mail list


def test_the_list_page_counts_each_campaigns_mail(make_company, login):
    company, _key = make_company()
    people = [past(company, n).candidate for n in range(3)]
    campaign = campaign_for(company, people, name="春の再応募キャンペーン")
    campaign_actions.plan_due_campaigns()
    page = login(company, Role.VIEWER).get("/console/campaigns/").content.decode()
    assert "春の再応募キャンペーン" in page and f"/console/campaigns/{campaign.pk}/" in page
    assert "<td>3</td>" in page
