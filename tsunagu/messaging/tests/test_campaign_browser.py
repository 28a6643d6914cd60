"""The campaign flow in a real Chromium, at desktop and phone width: from a pool search's query (or ticked
candidates of a job's shortlist) to the audience count and a rendered sample, scheduling, and the campaign's
page."""

from urllib.parse import urlencode

import pytest

from tsunagu.companies import actions
from tsunagu.companies.models import Role
from tsunagu.messaging.actions import campaigns as campaign_actions
from tsunagu.messaging.models import Campaign, CampaignStatus, Message
from tsunagu.messaging.tests.campaign_people import applies_again, past
from tsunagu.testing import DESKTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def logged_in(new_page, live_server, device):
    page = new_page(device)
    page.goto(live_server.url + "/console/")
    page.fill("#id_username", "hr@acme.example")
    page.fill("#id_password", "a-long-password")
    page.click("button[type=submit]")
    page.wait_for_selector("nav.topbar")
    return page


def fits(page) -> bool:
    width, viewport = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    return width <= viewport


@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_from_a_pool_search_to_a_scheduled_campaign(make_company, live_server, new_page, device):
    company, _key = make_company()
    for number in range(3):
        past(company, number, name=f"髙橋 {number}郎")
    past(company, 7, status="hired")
    past(company, 8, category="営業", title="法人営業")
    actions.create_user(email="hr@acme.example", password="a-long-password", company=company, role=Role.RECRUITER)
    page = logged_in(new_page, live_server, device)

    page.goto(live_server.url + "/console/campaigns/new/?" + urlencode({"job_category": "エンジニア"}))
    assert page.text_content("#audience-count").strip() == "3"
    assert page.text_content("#excluded-count").strip() == "1"
    assert "採用済み" in page.text_content("#exclusions")
    assert page.locator(".sample").count() == 3
    assert "様" in page.locator(".sample-text").first.text_content()
    assert fits(page)

    page.click("a[data-kind=follow_up]")  # the other template kind: the samples follow
    page.wait_for_selector("strong[data-kind=follow_up]")
    assert "その後いかがお過ごしでしょうか" in page.locator(".sample-subject").first.text_content()
    page.fill("#id_name", "エンジニアの皆さまへ")
    page.fill("#id_per_hour", "50")
    page.click("#schedule")
    page.wait_for_selector("#campaign-status")
    assert "予約しました" in page.text_content(".flash")
    campaign = Campaign.objects.get()
    assert (campaign.name, campaign.kind, campaign.per_hour, campaign.audience_size) == (
        "エンジニアの皆さまへ", "follow_up", 50, 3)
    assert page.text_content("[data-stat=audience]").strip() == "3"
    assert fits(page)

    campaign_actions.plan_due_campaigns()
    page.reload()
    assert page.text_content("[data-stat=planned]").strip() == "3"
    assert page.locator("#campaign-messages a").count() == 3
    assert "約5%が再応募" in page.text_content("#stats")
    assert fits(page)

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cancel-campaign")
    page.wait_for_selector(".flash")
    assert Campaign.objects.get().status == CampaignStatus.CANCELLED
    # The first mail was due at once (the queue runs immediately in tests); the rest waited for the throttle.
    statuses = list(Message.objects.order_by("send_at").values_list("status", flat=True))
    assert statuses[1:] == ["cancelled", "cancelled"]


@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_ticked_candidates_of_a_job_get_the_new_position(make_company, live_server, new_page, device):
    company, _key = make_company()
    people = [past(company, number).candidate for number in range(2)]
    job = applies_again(company, 99, title="データエンジニア").job
    actions.create_user(email="hr@acme.example", password="a-long-password", company=company, role=Role.RECRUITER)
    page = logged_in(new_page, live_server, device)

    query = urlencode([("candidate", c.pk) for c in people] + [("job", job.pk), ("kind", "invitation")])
    page.goto(live_server.url + "/console/campaigns/new/?" + query)
    assert page.text_content("#audience-count").strip() == "2"
    assert "「データエンジニア」の募集を開始" in page.locator(".sample-text").first.text_content()
    assert fits(page)
    page.check("#send-later")
    page.fill("#id_send_at", "2001-01-01T10:00")  # in the past: refused, nothing scheduled
    page.click("#schedule")
    page.wait_for_selector("#campaign-form .errorlist")
    assert not Campaign.objects.exists()
    page.check("input[name=send][value=now]")
    page.click("#schedule")
    page.wait_for_selector("#campaign-status")
    assert Campaign.objects.get().job == job
    page.click("text=キャンペーンの一覧")
    page.wait_for_selector("#campaigns")
    assert "データエンジニア" in page.text_content("#campaigns")
    assert fits(page)
