"""Re-contact campaigns: the audience and who is left out, planning (one keyed mail per person, throttled,
frequency cap and send window), stops at send time (unsubscribed, re-applied, hired, cancelled) and a real
delivery over SMTP."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.test import Client
from django.utils import timezone

from tsunagu.messaging.actions import campaigns as campaign_actions
from tsunagu.messaging.actions import delivery
from tsunagu.messaging.actions.suppression import suppress
from tsunagu.messaging.campaigns import Audience, read_request, summarize
from tsunagu.messaging.models import (
    Campaign,
    CampaignStatus,
    Message,
    MessageKind,
    MessageStatus,
    SuppressionReason,
)
from tsunagu.messaging.schedule import next_send_time
from tsunagu.messaging.tests.campaign_people import applies_again, campaign_for, past
from tsunagu.talent.models import Candidate
from tsunagu.testing import text_part

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")


def deliver_all_due():
    while delivery.deliver_due_messages().claimed:
        pass


def with_cap(make_company, days: int):
    company, _key = make_company()
    company.frequency_cap_days = days
    company.save(update_fields=["frequency_cap_days"])
    return company


def make_due(campaign):
    Message.objects.filter(campaign=campaign, status=MessageStatus.SCHEDULED).update(
        send_at=timezone.now() - timedelta(seconds=1))


# --- the audience ----------------------------------------------------------------------------------

def test_the_audience_is_counted_after_exclusions_each_with_its_reason(make_company):
    company, _key = make_company()
    other, _other_key = make_company(slug="other", name="株式会社アザー")
    ok = [past(company, n).candidate for n in range(3)]
    hired = past(company, 10, status="hired").candidate
    in_selection = past(company, 11).candidate
    applies_again(company, 11)
    no_contact = past(company, 12).candidate
    Candidate.objects.filter(pk=no_contact.pk).update(contact_allowed=False)
    no_email = past(company, 13).candidate
    Candidate.objects.filter(pk=no_email.pk).update(email="")
    merged = past(company, 14).candidate
    Candidate.objects.filter(pk=merged.pk).update(merged_into=ok[0])
    unsubscribed = past(company, 15).candidate
    suppress(company, "P15@Example.jp", SuppressionReason.UNSUBSCRIBED)
    withdrawn = past(company, 16, status="withdrawn").candidate
    too_old = past(company, 17, days_ago=365 * 3 + 5).candidate
    theirs = past(other, 18).candidate

    everyone = [*ok, hired, in_selection, no_contact, no_email, merged, unsubscribed, withdrawn, too_old, theirs]
    summary = summarize(company, Audience(candidate_ids=tuple(c.pk for c in everyone)))
    assert summary.eligible == 3
    assert summary.excluded == {"hired": 1, "in_selection": 1, "no_contact": 1, "no_email": 1, "merged": 1,
                                "suppressed": 1, "no_rejection": 1, "retention": 1, "not_found": 1}
    assert [reason for reason, _label, _n in summary.excluded_rows()] == [
        "merged", "no_email", "hired", "in_selection", "no_contact", "suppressed", "no_rejection", "retention",
        "not_found"]

    # The same people as a pool search: merged records are never listed by the search itself.
    searched = summarize(company, read_request(company, QueryDict("job_category=エンジニア")).audience)
    assert searched.eligible == 3 and "merged" not in searched.excluded and "not_found" not in searched.excluded


def test_another_companys_candidates_never_enter_the_audience_nor_are_mailed(make_company):
    company, _key = make_company()
    other, _other_key = make_company(slug="other", name="株式会社アザー")
    mine = past(company, 1).candidate
    theirs = past(other, 2).candidate
    campaign = campaign_for(company, [mine, theirs])
    assert campaign.candidate_ids == [mine.pk] and campaign.audience_size == 1
    assert campaign.excluded == {"not_found": 1}
    campaign_actions.plan_due_campaigns()
    assert list(Message.objects.filter(campaign=campaign).values_list("to_email", flat=True)) == ["p1@example.jp"]
    assert not Message.objects.filter(company=other).exists()


def test_bad_requests_are_refused_with_a_clear_reason(make_company):
    company, _key = make_company()
    with pytest.raises(ValidationError, match="5,000人まで"):
        read_request(company, {"candidate": [str(n) for n in range(5001)]})
    with pytest.raises(ValidationError, match="候補者の指定が正しくありません"):
        read_request(company, QueryDict("candidate=1&candidate=x1"))
    with pytest.raises(ValidationError):
        read_request(company, QueryDict("stage_at_least=nonsense"))
    with pytest.raises(ValidationError, match="テンプレートの種類"):
        read_request(company, QueryDict("kind=rejection"))
    job = past(company, 2).job
    with pytest.raises(ValidationError, match="案内する候補者を選んでください"):  # a shortlist, nobody ticked
        read_request(company, QueryDict(f"job={job.pk}&kind=invitation"))
    assert read_request(company, QueryDict(f"job={job.pk}&job_category=エンジニア")).job == job
    person = past(company, 1).candidate
    audience = Audience(candidate_ids=(person.pk,))
    for bad in ({"name": ""}, {"per_hour": 0}, {"per_hour": "many"}, {"send_at": timezone.now() - timedelta(days=1)},
                {"send_at": timezone.now() + timedelta(days=400)}, {"kind": MessageKind.REJECTION}):
        fields = {"name": "x", "kind": MessageKind.INVITATION, "per_hour": 10, **bad}
        with pytest.raises(ValidationError):
            campaign_actions.create_campaign(company, audience=audience, **fields)
    with pytest.raises(ValidationError, match="送信できる方がいません"):
        campaign_actions.create_campaign(company, name="x", kind=MessageKind.INVITATION,
                                         audience=Audience(candidate_ids=(999999,)))
    assert not Campaign.objects.exists()


# --- planning --------------------------------------------------------------------------------------

def test_one_keyed_mail_per_person_about_the_latest_rejection_with_the_new_job(make_company):
    company, _key = make_company()
    old = past(company, 1, days_ago=600, title="営業", category="営業")
    latest = past(company, 1, days_ago=100, title="バックエンドエンジニア")
    job = applies_again(company, 99, title="データエンジニア").job
    campaign = campaign_for(company, [latest.candidate], job=job)
    assert old.candidate_id == latest.candidate_id
    first = campaign_actions.plan_due_campaigns()
    again = campaign_actions.plan_due_campaigns()
    assert first.campaigns == [campaign.pk] and again.campaigns == []  # planned once, then done with planning
    [message] = Message.objects.filter(campaign=campaign)
    assert message.key == f"campaign:{campaign.pk}:{latest.candidate_id}"
    assert message.application_id == latest.pk and message.kind == MessageKind.INVITATION
    assert message.context == {"new_job_title": "データエンジニア"}
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING and campaign.planned_at is not None
    # Planning a second time (a crash before planned_at was written) adds nothing.
    Campaign.objects.filter(pk=campaign.pk).update(planned_at=None, planned_through=0)
    campaign_actions.plan_due_campaigns()
    assert Message.objects.filter(campaign=campaign).count() == 1


def test_nothing_is_planned_before_send_at(make_company):
    company, _key = make_company()
    person = past(company, 1).candidate
    campaign = campaign_for(company, [person], send_at=timezone.now() + timedelta(days=2))
    assert campaign_actions.plan_due_campaigns().campaigns == []
    assert campaign_actions.plan_due_campaigns(timezone.now() + timedelta(days=2, minutes=1)).campaigns == [campaign.pk]
    assert Message.objects.get(campaign=campaign).send_at >= campaign.send_at


def test_sending_is_spread_by_the_throttle_in_the_send_window(make_company):
    company, _key = make_company(send_window="business")
    people = [past(company, n).candidate for n in range(130)]
    campaign = campaign_for(company, people, per_hour=60)
    campaign_actions.plan_due_campaigns(batches=1)  # 130 people fit in one batch
    times = sorted(Message.objects.filter(campaign=campaign).values_list("send_at", flat=True))
    assert len(times) == 130
    per_hour = Counter(t.replace(minute=0, second=0, microsecond=0) for t in times)
    assert max(per_hour.values()) <= 60 and len(per_hour) >= 3
    assert all(b - a >= timedelta(seconds=59) for a, b in zip(times, times[1:], strict=False)
               if a.replace(minute=0, second=0, microsecond=0) == b.replace(minute=0, second=0, microsecond=0))
    assert all(next_send_time(company, t) == t for t in times)  # inside the window (weekdays 9-18, no holidays)


def test_planning_in_batches_continues_the_throttle_and_the_cursor(make_company, monkeypatch):
    company, _key = make_company()
    monkeypatch.setattr(campaign_actions, "PLAN_BATCH", 4)
    people = [past(company, n).candidate for n in range(10)]
    campaign = campaign_for(company, people, per_hour=3)
    campaign_actions.plan_due_campaigns(batches=1)
    assert Message.objects.filter(campaign=campaign).count() == 4
    campaign_actions.plan_due_campaigns(batches=1)
    campaign_actions.plan_due_campaigns(batches=1)
    times = sorted(Message.objects.filter(campaign=campaign).values_list("send_at", flat=True))
    assert len(times) == 10
    assert max(Counter(t.replace(minute=0, second=0, microsecond=0) for t in times).values()) <= 3
    assert Campaign.objects.get(pk=campaign.pk).planned_at is not None


def test_the_frequency_cap_holds_a_recently_mailed_person(make_company):
    company = with_cap(make_company, 30)
    recent = past(company, 1)
    fresh = past(company, 2).candidate
    mailed_at = timezone.now() - timedelta(days=10)
    Message.objects.create(company=company, kind=MessageKind.FOLLOW_UP, key="earlier", application=recent,
                           to_email="p1@example.jp", to_name="候補者1", send_at=mailed_at, sent_at=mailed_at,
                           status=MessageStatus.SENT)
    campaign = campaign_for(company, [recent.candidate, fresh])
    campaign_actions.plan_due_campaigns()
    held = Message.objects.get(campaign=campaign, to_email="p1@example.jp")
    assert held.send_at >= mailed_at + timedelta(days=30)
    assert Message.objects.get(campaign=campaign, to_email="p2@example.jp").send_at <= timezone.now() + timedelta(minutes=1)


# --- at send time ----------------------------------------------------------------------------------

def test_the_mail_goes_out_over_smtp_with_the_new_job_and_the_unsubscribe_link(make_company, smtp_settings):
    company, _key = make_company()
    person = past(company, 1, name="髙橋 𠮷子").candidate
    job = applies_again(company, 99, title="データエンジニア").job
    campaign = campaign_for(company, [person], job=job)
    campaign_actions.plan_due_campaigns()
    make_due(campaign)
    deliver_all_due()
    [received] = smtp_settings.wait_for(1)
    text = text_part(received["message"])
    assert "髙橋 𠮷子様" in text and "「データエンジニア」の募集を開始" in text and "「バックエンドエンジニア」" in text
    assert "/u/" in text  # the footer with the unsubscribe link
    assert received["message"]["List-Unsubscribe"]
    assert Message.objects.get(campaign=campaign).status == MessageStatus.SENT
    campaign_actions.plan_due_campaigns()
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.DONE


def test_unsubscribing_mid_campaign_stops_that_persons_mail_and_only_theirs(make_company, smtp_settings):
    company = with_cap(make_company, 0)
    a, b = past(company, 1).candidate, past(company, 2).candidate
    first = campaign_for(company, [a, b], name="第1弾")
    second = campaign_for(company, [a, b], name="第2弾", send_at=timezone.now() + timedelta(days=7))
    campaign_actions.plan_due_campaigns()
    make_due(first)
    deliver_all_due()
    mail_to_a = smtp_settings.wait_for(2)[0]["message"] if "p1@" in smtp_settings.received[0]["rcpt"][0] else \
        smtp_settings.received[1]["message"]
    # A presses the one-click unsubscribe of the first campaign's mail (RFC 8058, as a mail provider does).
    url = mail_to_a["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]
    response = Client(enforce_csrf_checks=True).post("/" + url.split("/", 3)[3],
                                                     data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200

    campaign_actions.plan_due_campaigns(timezone.now() + timedelta(days=7, minutes=1))
    # A's mail of the second campaign is not even planned (the batch re-reads the audience) ...
    assert list(Message.objects.filter(campaign=second).values_list("to_email", flat=True)) == ["p2@example.jp"]
    # ... and one planned before they unsubscribed is held back when it is due.
    Message.objects.create(company=company, kind=MessageKind.INVITATION, key="campaign:late:a", campaign=second,
                           application=a.applications.get(), to_email="p1@example.jp", to_name="候補者1",
                           send_at=timezone.now())
    make_due(second)
    deliver_all_due()
    assert Message.objects.get(key="campaign:late:a").status == MessageStatus.SUPPRESSED
    assert Message.objects.get(campaign=second, to_email="p2@example.jp").status == MessageStatus.SENT
    assert len(smtp_settings.received) == 3


def test_a_reapplication_or_a_hire_after_planning_cancels_the_mail_with_the_reason(make_company, smtp_settings):
    company, _key = make_company()
    reapplies, hired, quiet, stopped = (past(company, n).candidate for n in range(1, 5))
    campaign = campaign_for(company, [reapplies, hired, quiet, stopped], per_hour=1)
    campaign_actions.plan_due_campaigns()
    applies_again(company, 1, status="rejected")  # applied again and already rejected: still a re-application
    applies_again(company, 2, status="hired")
    Candidate.objects.filter(pk=stopped.pk).update(contact_allowed=False)
    make_due(campaign)
    deliver_all_due()
    outcome = {m.to_email: (m.status, m.cancel_reason) for m in Message.objects.filter(campaign=campaign)}
    assert outcome["p1@example.jp"] == (MessageStatus.CANCELLED,
                                        "キャンペーン停止: キャンペーンの作成後に再応募があったため送りません。")
    assert outcome["p2@example.jp"] == (MessageStatus.CANCELLED, "キャンペーン停止: 採用済みのため送りません。")
    assert outcome["p4@example.jp"] == (MessageStatus.CANCELLED,
                                        "キャンペーン停止: 再連絡しない設定になったため送りません。")
    assert outcome["p3@example.jp"][0] == MessageStatus.SENT
    assert [m["rcpt"] for m in smtp_settings.wait_for(1)] == [["p3@example.jp"]]


def test_cancelling_a_campaign_cancels_its_unsent_mail_and_stops_planning(make_company, monkeypatch):
    company, _key = make_company()
    monkeypatch.setattr(campaign_actions, "PLAN_BATCH", 2)
    people = [past(company, n).candidate for n in range(5)]
    campaign = campaign_for(company, people)
    campaign_actions.plan_due_campaigns(batches=1)
    # A mail already claimed by a worker when HR cancels is stopped at send time.
    claimed = Message.objects.filter(campaign=campaign).first()
    Message.objects.filter(pk=claimed.pk).update(send_at=timezone.now() - timedelta(seconds=1),
                                                 status=MessageStatus.SENDING)
    assert campaign_actions.cancel_campaign(company, campaign.pk, by="hr@acme.example") == 1
    # Its worker died; the sweep hands it back, and the next worker finds the campaign cancelled.
    Message.objects.filter(pk=claimed.pk).update(status=MessageStatus.SCHEDULED)
    deliver_all_due()
    claimed.refresh_from_db()
    assert claimed.status == MessageStatus.CANCELLED and "取り消された" in claimed.cancel_reason
    campaign_actions.plan_due_campaigns()
    assert Message.objects.filter(campaign=campaign).count() == 2
    assert set(Message.objects.filter(campaign=campaign).values_list("status", flat=True)) == {MessageStatus.CANCELLED}
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED and "hr@acme.example" in campaign.cancel_reason
    with pytest.raises(ValidationError):
        campaign_actions.cancel_campaign(company, campaign.pk)
    other, _other_key = make_company(slug="other", name="株式会社アザー")
    with pytest.raises(Campaign.DoesNotExist):
        campaign_actions.cancel_campaign(other, campaign.pk)


def test_a_campaign_scheduled_in_the_companys_time(make_company):
    company, _key = make_company()
    person = past(company, 1).candidate
    local = (timezone.now() + timedelta(days=3)).astimezone(TOKYO).replace(hour=10, minute=0, second=0, microsecond=0)
    campaign = campaign_for(company, [person], send_at=local)
    assert campaign.send_at == local and isinstance(campaign.send_at, datetime)
