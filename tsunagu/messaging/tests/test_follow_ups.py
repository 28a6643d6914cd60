"""Follow-ups across a simulated year: planned once per step from our own tables (repeated runs, an outage),
stop rules, conditions, the frequency cap, the send window, and a real delivery with List-Unsubscribe.
Time is moved by passing `now` to the planner, never by sleeping."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from tsunagu.messaging import template_sets
from tsunagu.messaging.actions import delivery, followups
from tsunagu.messaging.actions.suppression import suppress
from tsunagu.messaging.defaults import DEFAULT_FOLLOW_UP_STEPS
from tsunagu.messaging.models import FollowUpStep, Message, MessageKind, MessageStatus, MessageTemplate
from tsunagu.talent.models import Application
from tsunagu.talent.stages import Stage
from tsunagu.testing import application_body, text_part

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")
DAY = timedelta(days=1)
# A year and a bit before now, so the simulated year ends in the past and delivery sees the mail as due.
T0 = (timezone.now() - timedelta(days=420)).replace(microsecond=0)


def reject(api, external_id="A-1", at=T0, email="yoshiko@example.jp", applied=None, **extra) -> Application:
    """An application rejected at `at`, whose rejection notice went out then."""
    body = application_body(external_id=external_id, email_address=email, occurred_at=at.isoformat(),
                            applied_at=(applied or at - 20 * DAY).isoformat(), **extra)
    response = api.post("/api/v1/applications", body)
    assert response.status_code in (200, 201), response.content
    application = Application.objects.get(external_id=external_id)
    assert application.rejected_at == at
    Message.objects.filter(application=application, kind=MessageKind.REJECTION).update(
        status=MessageStatus.SENT, send_at=at, sent_at=at)
    return application


def follow_ups(**filters):
    return Message.objects.filter(step__gt=0, **filters).order_by("step", "pk")


def test_a_new_company_has_the_default_sequence_and_wording(company):
    steps = list(FollowUpStep.objects.filter(company=company).order_by("step").values("step", "delay_days", "active"))
    assert steps == [{"step": 1, "delay_days": 182, "active": True}, {"step": 2, "delay_days": 365, "active": True}]
    six = template_sets.template_for(company, MessageKind.FOLLOW_UP, step=1)
    twelve = template_sets.template_for(company, MessageKind.FOLLOW_UP, step=2)
    assert "その後いかがお過ごしでしょうか" in six.subject + six.body_text and "{{ referral_url }}" in six.body_text
    assert "open_positions" in twelve.body_text and (six.step, twelve.step) == (1, 2)
    # A step added later, without wording of its own, uses the kind's default.
    assert template_sets.template_for(company, MessageKind.FOLLOW_UP, step=3).step == 0
    assert template_sets.current_template(company, MessageKind.INVITATION).version == 1
    assert template_sets.current_template(company, MessageKind.WELCOME_BACK).version == 1


def test_the_data_migration_gives_existing_companies_the_defaults(company):
    import importlib

    from django.apps import apps

    FollowUpStep.objects.all().delete()
    MessageTemplate.objects.filter(kind__in=[MessageKind.FOLLOW_UP, MessageKind.INVITATION]).delete()
    migration = importlib.import_module("tsunagu.messaging.migrations.0003_default_follow_ups")
    migration.install_defaults(apps, None)
    migration.install_defaults(apps, None)  # idempotent
    assert FollowUpStep.objects.filter(company=company).count() == len(DEFAULT_FOLLOW_UP_STEPS)
    assert MessageTemplate.objects.filter(company=company, kind=MessageKind.FOLLOW_UP).count() == 3
    assert MessageTemplate.objects.filter(company=company, kind=MessageKind.INVITATION).count() == 1


def test_a_simulated_year_plans_the_6_and_12_month_follow_ups_once_each(api, company):
    application = reject(api)
    for day in range(0, 420):
        now = T0 + day * DAY + timedelta(hours=3)
        followups.plan_due_follow_ups(now)
        if day % 50 == 0:
            followups.plan_due_follow_ups(now)  # the planner running twice changes nothing
    six, twelve = follow_ups()
    assert (six.step, twelve.step) == (1, 2)
    assert (six.key, twelve.key) == (f"follow_up:{application.pk}:1", f"follow_up:{application.pk}:2")
    assert six.send_at == T0 + 182 * DAY + timedelta(hours=3)
    assert twelve.send_at == T0 + 365 * DAY + timedelta(hours=3)
    assert all(m.status == MessageStatus.SCHEDULED and m.kind == MessageKind.FOLLOW_UP for m in (six, twelve))
    assert (six.to_email, six.to_name) == ("yoshiko@example.jp", "髙橋 𠮷子")

    report = delivery.deliver_due_messages()
    assert sorted(report.sent) == [six.pk, twelve.pk]
    six.refresh_from_db()
    twelve.refresh_from_db()
    assert six.template.step == 1 and twelve.template.step == 2  # each message records its version
    assert six.subject == "その後いかがお過ごしでしょうか(株式会社アクメ)"
    assert "バックエンドエンジニア" in twelve.body_text  # the open positions (applied to within 90 days)
    assert "/r/" in six.body_text and "/u/" in six.body_text


def test_after_an_outage_a_due_follow_up_is_planned_once(api, company):
    reject(api)
    followups.plan_due_follow_ups(T0 + 100 * DAY)  # nothing due yet
    assert not follow_ups().exists()
    # The planner does not run for five weeks past the due date, then runs (twice, as a restart might).
    back = T0 + (182 + 35) * DAY
    assert followups.plan_due_follow_ups(back).planned == 1
    assert followups.plan_due_follow_ups(back + timedelta(minutes=1)).planned == 0
    [message] = follow_ups()
    assert message.send_at == back  # due, so it goes out as soon as the system is back
    # A step that fell due longer ago than CATCH_UP_DAYS is not sent late.
    reject(api, external_id="A-2", email="late@example.jp", at=T0 - 100 * DAY)
    followups.plan_due_follow_ups(back)
    assert not follow_ups(application__external_id="A-2").exists()


def test_concurrent_or_repeated_plans_never_make_a_second_row(api, company):
    application = reject(api)
    step = FollowUpStep.objects.get(company=company, step=1)
    due = T0 + 183 * DAY
    followups.plan_due_follow_ups(due)
    # A second planner that read the application before the first wrote (the race the unique key settles).
    report = followups.FollowUpReport()
    followups._plan_batch(step, [Application.objects.select_related("candidate", "job").get(pk=application.pk)],
                          due, report)
    assert follow_ups().count() == 1


@pytest.mark.parametrize("rule", ["reapplied", "in_selection", "hired", "suppressed", "retention", "duplicate"])
def test_each_stop_rule_stops_the_follow_up(api, company, rule):
    applied = T0 - 30 * DAY
    application = reject(api, applied=applied)
    if rule == "reapplied":
        reject(api, external_id="A-2", at=T0 + 100 * DAY, applied=T0 + 40 * DAY,
               job={"external_id": "J-2", "title": "営業", "category": "営業"})
    elif rule == "in_selection":
        api.post("/api/v1/applications", application_body(external_id="A-2", status="active", applied_at=applied.isoformat(),
                                                          job={"external_id": "J-2", "title": "営業"}))
    elif rule == "hired":
        api.post("/api/v1/applications", application_body(external_id="A-2", status="hired",
                                                          job={"external_id": "J-2", "title": "営業"}))
    elif rule == "suppressed":
        suppress(company, "Yoshiko@Example.jp", "unsubscribed")
    elif rule == "retention":
        company.retention_days = 100
        company.save()
    elif rule == "duplicate":
        reject(api, external_id="A-2", at=T0 + 2 * DAY, applied=applied, job={"external_id": "J-2", "title": "営業"})
    for day in (183, 190):
        followups.plan_due_follow_ups(T0 + day * DAY)
    if rule == "duplicate":
        # The person gets the step once: for the application that fell due first.
        assert follow_ups(application=application, step=1).get().status == MessageStatus.SCHEDULED
        application = Application.objects.get(external_id="A-2")
    message = follow_ups(application=application, step=1).get()
    if rule == "suppressed":
        assert message.status == MessageStatus.SUPPRESSED
        assert "配信停止リスト" in message.status_reason
    else:
        assert message.status == MessageStatus.CANCELLED
        assert message.cancel_reason == followups.stop_text(rule)
        assert message.cancelled_at is not None
    assert follow_ups(status=MessageStatus.SCHEDULED).count() == (1 if rule == "duplicate" else 0)


def test_a_stop_rule_that_starts_after_planning_stops_the_mail_at_send_time(api, company):
    application = reject(api)
    followups.plan_due_follow_ups(T0 + 183 * DAY)
    [message] = follow_ups()
    api.post("/api/v1/applications", application_body(external_id="A-9", status="active",
                                                      job={"external_id": "J-2", "title": "営業"}))
    report = delivery.deliver_due_messages()
    assert report.sent == []
    message.refresh_from_db()
    assert message.status == MessageStatus.CANCELLED
    assert message.cancel_reason == followups.stop_text(followups.STOP_REAPPLIED)
    # Undoing the rejection stops it too.
    other = reject(api, external_id="A-3", email="other@example.jp")
    followups.plan_due_follow_ups(T0 + 184 * DAY)
    Application.objects.filter(pk=other.pk).update(status="active")
    delivery.deliver_due_messages()
    assert follow_ups(application=other).get().cancel_reason == followups.stop_text(followups.STOP_NOT_REJECTED)
    assert application.pk != other.pk


def test_conditions_stage_tags_and_reasons(api, company):
    step = FollowUpStep.objects.get(company=company, step=1)
    step.min_stage, step.tags, step.rejection_reasons = Stage.SECOND_INTERVIEW, ["Python"], ["スキル不一致"]
    step.save()
    ok = reject(api, "OK", email="ok@example.jp", stage="最終面接", tags=["Python", "Go"], rejection_reason="スキル不一致")
    reject(api, "EARLY", email="early@example.jp", stage="一次面接", tags=["Python"], rejection_reason="スキル不一致")
    reject(api, "NOTAG", email="notag@example.jp", stage="最終面接", tags=["Java"], rejection_reason="スキル不一致")
    reject(api, "REASON", email="reason@example.jp", stage="最終面接", tags=["Python"], rejection_reason="経歴詐称")
    followups.plan_due_follow_ups(T0 + 183 * DAY)
    assert [m.application_id for m in follow_ups(step=1)] == [ok.pk]
    # An inactive step plans nothing.
    FollowUpStep.objects.filter(company=company, step=2).update(active=False)
    followups.plan_due_follow_ups(T0 + 366 * DAY)
    assert not follow_ups(step=2).exists()


def test_the_frequency_cap_pushes_a_follow_up(api, company):
    application = reject(api)
    due = T0 + 183 * DAY
    # The company mailed the person 10 days before the follow-up falls due (any kind counts).
    Message.objects.create(company=company, kind=MessageKind.INVITATION, key="manual:1", application=application,
                           to_email="yoshiko@example.jp", to_name="髙橋 𠮷子", status=MessageStatus.SENT,
                           send_at=due - 10 * DAY, sent_at=due - 10 * DAY)
    followups.plan_due_follow_ups(due)
    [message] = follow_ups()
    assert message.send_at == due + 20 * DAY  # 30 days after the last mail
    # After an outage two steps fall due at once: they go out a cap apart, not together.
    company.frequency_cap_days = 45
    company.save()
    FollowUpStep.objects.filter(company=company, step=2).update(delay_days=200)
    other = reject(api, "B-1", email="other@example.jp", at=T0 - 10 * DAY)
    back = T0 - 10 * DAY + 230 * DAY  # step 1 fell due 48 days ago, step 2 30 days ago
    followups.plan_due_follow_ups(back)
    first, second = follow_ups(application=other)
    assert first.send_at == back and second.send_at == back + 45 * DAY


def test_follow_ups_go_out_inside_the_send_window(api, make_company):
    company, key = make_company(slug="window", send_window="business")
    from tsunagu.testing import ApiClient

    saturday_night = datetime(2025, 6, 7, 3, 0, tzinfo=TOKYO)  # 2025-06-07 is a Saturday
    reject(ApiClient(key), at=saturday_night - 182 * DAY)
    followups.plan_due_follow_ups(saturday_night)
    [message] = follow_ups()
    assert message.send_at.astimezone(TOKYO) == datetime(2025, 6, 9, 9, 0, tzinfo=TOKYO)  # Monday 9:00


def test_a_follow_up_arrives_over_smtp_with_list_unsubscribe_and_a_working_referral_link(
        api, company, smtp_settings):
    reject(api)
    followups.plan_due_follow_ups(T0 + 183 * DAY)
    report = delivery.deliver_due_messages()
    assert len(report.sent) == 1
    [received] = smtp_settings.wait_for(1)
    mail = received["message"]
    assert received["rcpt"] == ["yoshiko@example.jp"]
    assert str(mail["Subject"]) == "その後いかがお過ごしでしょうか(株式会社アクメ)"
    assert mail["List-Unsubscribe"].startswith("<http") and "/u/" in mail["List-Unsubscribe"]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = text_part(mail)
    assert text.startswith("髙橋 𠮷子様")
    assert "その後いかがお過ごしでしょうか。" in text and "送信者:株式会社アクメ" in text
    referral = next(word for word in text.split() if "/r/" in word).split("/r/", 1)[1]
    referral = "/r/" + referral.split("\n")[0].rstrip(")")
    page = Client().get(referral)
    assert page.status_code == 200  # the relay's landing page accepts a follow-up's personal link
    message = follow_ups().get()
    assert message.status == MessageStatus.SENT and message.template.step == 1


def test_the_sequence_editor(api, company, login):
    client = login(company)
    page = client.get("/console/templates/follow-ups/").content.decode()
    assert "第1回" in page and "約6か月後" in page and "約12か月後" in page
    step = FollowUpStep.objects.get(company=company, step=1)
    response = client.post(f"/console/templates/follow-ups/{step.pk}/", {
        "kind": "follow_up", "delay": "9", "unit": "months", "min_stage": str(Stage.FIRST_INTERVIEW),
        "tags": "Python、Go", "rejection_reasons": "スキル不一致\n\n時期が合わない", "active": "on"})
    assert response.status_code == 302
    step.refresh_from_db()
    assert (step.delay_days, step.min_stage, step.tags, step.rejection_reasons, step.active) == (
        273, Stage.FIRST_INTERVIEW, ["Python", "Go"], ["スキル不一致", "時期が合わない"], True)
    bad = client.post(f"/console/templates/follow-ups/{step.pk}/", {"kind": "follow_up", "delay": "0", "unit": "days"},
                      follow=True)
    assert "1〜1825日" in bad.content.decode()
    client.post("/console/templates/follow-ups/add/", {"kind": "invitation", "delay": "18", "unit": "months",
                                                       "min_stage": "0", "active": "on"})
    added = FollowUpStep.objects.get(company=company, step=3)
    assert (added.kind, added.delay_days) == (MessageKind.INVITATION, 547)
    page = client.get("/console/templates/follow-ups/").content.decode()
    assert "/console/templates/invitation/?step=3" in page  # the link to its wording
    client.post(f"/console/templates/follow-ups/{added.pk}/delete/")
    assert not FollowUpStep.objects.filter(pk=added.pk).exists()
    # Numbers are not reused once mail was planned under them.
    reject(api)
    followups.plan_due_follow_ups(T0 + 400 * DAY)
    assert followups.add_follow_up_step(company, delay_days=600).step == 3


def test_viewers_cannot_edit_the_sequence(company, login):
    from tsunagu.companies.models import Role

    client = login(company, role=Role.VIEWER)
    step = FollowUpStep.objects.get(company=company, step=1)
    assert client.get("/console/templates/follow-ups/").status_code == 200
    assert client.post(f"/console/templates/follow-ups/{step.pk}/", {"kind": "follow_up", "delay": "5"}).status_code == 403


def test_other_companies_steps_are_out_of_reach(company, make_company, login):
    other, _key = make_company(slug="other", name="株式会社ほか")
    client = login(company)
    theirs = FollowUpStep.objects.get(company=other, step=1)
    assert client.post(f"/console/templates/follow-ups/{theirs.pk}/delete/").status_code == 404
    assert FollowUpStep.objects.filter(pk=theirs.pk).exists()


def test_the_scheduler_plans_follow_ups_about_once_a_minute():
    from tsunagu.core import runtime

    jobs = {name: (job, every) for name, job, every in runtime.scheduler_jobs()}
    assert jobs["follow-ups"] == (followups.plan_due_follow_ups, 60)
