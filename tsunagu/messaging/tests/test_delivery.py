"""Delivery through a real SMTP server (aiosmtpd): headers, MIME, retries, failures, no double sends."""

import email
import email.policy
from datetime import timedelta
from email.header import decode_header, make_header

import pytest
from django.utils import timezone

from tsunagu.messaging.actions import delivery, notices
from tsunagu.messaging.models import Message, MessageStatus
from tsunagu.testing import application_body, html_part, text_part

pytestmark = pytest.mark.django_db


def reject(api, django_capture_on_commit_callbacks, **extra):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/applications", application_body(**extra))
    assert response.status_code in (200, 201), response.content
    return response


def test_notice_arrives_as_utf8_multipart_with_company_sender(api, company, smtp_settings,
                                                              django_capture_on_commit_callbacks):
    reject(api, django_capture_on_commit_callbacks)
    [received] = smtp_settings.wait_for(1)
    mail = received["message"]
    assert received["rcpt"] == ["yoshiko@example.jp"]
    assert mail["Subject"] == "選考結果のご連絡(株式会社アクメ)"
    assert mail["From"].addresses[0].display_name == "株式会社アクメ 採用担当"
    assert mail["From"].addresses[0].addr_spec == "recruit@acme.example"
    assert mail["To"].addresses[0].display_name == "髙橋 𠮷子"
    assert mail["Message-ID"] and mail["Date"]
    assert mail.get_content_type() == "multipart/alternative"
    text = text_part(mail)
    assert text.startswith("髙橋 𠮷子様")
    assert "「バックエンドエンジニア」" in text
    assert "/r/" in text
    assert "<a href=" in html_part(mail)
    for part in mail.walk():
        if part.get_content_maintype() == "text":
            assert part.get_content_charset() == "utf-8"
    message = Message.objects.get()
    assert message.status == MessageStatus.SENT
    assert message.message_id == mail["Message-ID"]
    assert message.template.version == 1
    assert message.body_text == text.replace("\r\n", "\n")


def test_reply_to_is_set_when_configured(api, company, smtp_settings, django_capture_on_commit_callbacks):
    company.reply_to = "hr@acme.example"
    company.save()
    reject(api, django_capture_on_commit_callbacks)
    [received] = smtp_settings.wait_for(1)
    assert received["message"]["Reply-To"] == "hr@acme.example"


def test_temporary_failure_is_retried_later_and_then_delivered(api, smtp_settings,
                                                                django_capture_on_commit_callbacks):
    smtp_settings.respond = "451 4.3.0 Mailbox busy, try later"
    reject(api, django_capture_on_commit_callbacks)
    message = Message.objects.get()
    assert message.status == MessageStatus.SCHEDULED
    assert message.attempts == 1
    assert "451" in message.last_error
    assert message.send_at > timezone.now()

    smtp_settings.respond = None
    Message.objects.filter(pk=message.pk).update(send_at=timezone.now() - timedelta(seconds=1))
    assert delivery.sweep_outbox() == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.attempts == 2
    assert len(smtp_settings.wait_for(1)) == 1


def test_permanent_failure_marks_failed_with_the_servers_reason(api, smtp_settings,
                                                                  django_capture_on_commit_callbacks):
    smtp_settings.respond = "550 5.1.1 No such user here"
    reject(api, django_capture_on_commit_callbacks)
    message = Message.objects.get()
    assert message.status == MessageStatus.FAILED
    assert "550" in message.last_error and "No such user" in message.last_error
    assert api.get("/api/v1/messages").json()[0]["last_error"].startswith("550")


def test_smtp_server_down_delays_but_never_drops(api, settings, django_capture_on_commit_callbacks):
    from tsunagu.testing import free_port

    settings.EMAIL_BACKEND = "tsunagu.messaging.backends.SMTPEmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    reject(api, django_capture_on_commit_callbacks)
    message = Message.objects.get()
    assert message.status == MessageStatus.SCHEDULED
    assert "Connection" in message.last_error or "refused" in message.last_error.lower()


def test_gives_up_after_the_last_attempt(api, smtp_settings, django_capture_on_commit_callbacks):
    smtp_settings.respond = "421 4.7.0 Too many connections"
    reject(api, django_capture_on_commit_callbacks)
    message = Message.objects.get()
    Message.objects.filter(pk=message.pk).update(attempts=delivery.MAX_ATTEMPTS - 1,
                                                 send_at=timezone.now() - timedelta(seconds=1))
    delivery.sweep_outbox()
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert "421" in message.last_error


def test_a_message_is_claimed_once_however_often_it_is_queued(api, smtp_settings, make_company,
                                                                django_capture_on_commit_callbacks):
    from tsunagu.testing import ApiClient

    _company, key = make_company(slug="slow", delay_minutes=60)
    ApiClient(key).post("/api/v1/applications", application_body())
    message = Message.objects.get()
    Message.objects.filter(pk=message.pk).update(send_at=timezone.now() - timedelta(seconds=1))
    first = delivery.deliver_due_messages()
    second = delivery.deliver_due_messages()
    assert first.sent == [message.pk] and second.sent == []
    assert len(smtp_settings.wait_for(1)) == 1


def test_a_worker_killed_mid_send_loses_nothing(api, smtp_settings, make_company):
    from tsunagu.testing import ApiClient

    _company, key = make_company(slug="slow", delay_minutes=60)
    ApiClient(key).post("/api/v1/applications", application_body())
    message = Message.objects.get()
    # What a crash leaves behind: claimed, "sending", never finished.
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENDING, claimed_at=timezone.now() - delivery.SENDING_LEASE - timedelta(seconds=1),
        send_at=timezone.now() - timedelta(minutes=10), claim_token="dead-worker",
    )
    assert delivery.sweep_outbox() == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert len(smtp_settings.wait_for(1)) == 1


def test_cancelled_before_send_time_is_never_sent(api, smtp_settings, make_company):
    from tsunagu.testing import ApiClient

    company, key = make_company(slug="slow", delay_minutes=60)
    client = ApiClient(key)
    client.post("/api/v1/applications", application_body())
    client.post("/api/v1/applications", application_body(status="active"))
    Message.objects.update(send_at=timezone.now() - timedelta(seconds=1))
    assert delivery.sweep_outbox() == 0
    assert delivery.deliver_due_messages().sent == []
    assert smtp_settings.received == []


def test_send_now_bypasses_delay_and_window(smtp_settings, make_company, django_capture_on_commit_callbacks):
    from tsunagu.testing import ApiClient

    company, key = make_company(slug="slow", delay_minutes=600, send_window="business")
    ApiClient(key).post("/api/v1/applications", application_body())
    message = Message.objects.get()
    assert message.send_at > timezone.now() + timedelta(hours=9)
    with django_capture_on_commit_callbacks(execute=True):
        notices.send_message_now(company, message.pk)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert len(smtp_settings.wait_for(1)) == 1


def test_capture_mode_stores_the_mail_without_sending(api, settings, django_capture_on_commit_callbacks):
    from tsunagu.messaging.models import CapturedMail

    settings.EMAIL_BACKEND = "tsunagu.messaging.backends.CaptureEmailBackend"

    reject(api, django_capture_on_commit_callbacks)
    message = Message.objects.get()
    assert message.status == MessageStatus.SENT
    captured = CapturedMail.objects.get()
    assert captured.message_id == message.message_id
    assert "yoshiko@example.jp" in captured.to


def test_a_burst_wakes_one_worker_not_one_per_notice(monkeypatch):
    from huey.contrib.djhuey import HUEY

    from tsunagu.lib import queue

    calls = []
    monkeypatch.setattr(queue, "enqueue", lambda name: calls.append(1))  # what reaches the queue
    HUEY.get(notices.DELIVERY_WAKE_KEY)  # start clean
    for _ in range(50):
        notices.request_delivery()
    assert len(calls) == 1
    HUEY.get(notices.DELIVERY_WAKE_KEY)  # what the task does when a worker starts it
    notices.request_delivery()
    assert len(calls) == 2
    # A marker left behind by a lost task does not block delivery for long.
    HUEY.put(notices.DELIVERY_WAKE_KEY, str(0.0))
    notices.request_delivery()
    assert len(calls) == 3


def test_an_undo_that_races_with_the_claim_still_stops_the_notice(smtp_settings, make_company):
    from tsunagu.talent.models import Application
    from tsunagu.testing import ApiClient

    _company, key = make_company(slug="slow", delay_minutes=60)
    ApiClient(key).post("/api/v1/applications", application_body())
    Message.objects.update(send_at=timezone.now() - timedelta(seconds=1))
    # The status changed without the cancel reaching the outbox (e.g. it committed after the claim).
    Application.objects.update(status="active")
    delivery.deliver_due_messages()
    message = Message.objects.get()
    assert message.status == MessageStatus.CANCELLED
    assert smtp_settings.received == []


@pytest.mark.parametrize("other", [{"status": "hired"}, {"status": "active", "stage": "内定"}])
def test_no_rejection_while_hired_or_holding_an_offer_in_the_same_company(api, smtp_settings, other,
                                                                            django_capture_on_commit_callbacks):
    api.post("/api/v1/applications", application_body(external_id="OTHER", job={"title": "営業"}, **other))
    reject(api, django_capture_on_commit_callbacks)
    assert smtp_settings.received == []
    assert not Message.objects.filter(status=MessageStatus.SENT).exists()


def test_an_offer_elsewhere_stops_a_notice_already_planned(api, make_company, smtp_settings,
                                                           django_capture_on_commit_callbacks):
    from tsunagu.testing import ApiClient

    _company, key = make_company(slug="slow", delay_minutes=60)
    client = ApiClient(key)
    client.post("/api/v1/applications", application_body())
    client.post("/api/v1/applications", application_body(external_id="OTHER", status="active", stage="内定",
                                                         job={"title": "営業"}))
    Message.objects.update(send_at=timezone.now() - timedelta(seconds=1))
    delivery.deliver_due_messages()
    assert Message.objects.get().status == MessageStatus.CANCELLED
    assert smtp_settings.received == []


def test_rejections_for_several_jobs_within_the_window_share_one_notice(make_company, smtp_settings,
                                                                         django_capture_on_commit_callbacks):
    from tsunagu.testing import ApiClient, text_part

    company, key = make_company(slug="combine", delay_minutes=30)
    client = ApiClient(key)
    client.post("/api/v1/applications", application_body(external_id="A-1"))
    client.post("/api/v1/applications", application_body(external_id="A-2", job={"title": "データアナリスト"}))
    assert Message.objects.filter(status=MessageStatus.SCHEDULED).count() == 1
    assert "combined" in Message.objects.get(application__external_id="A-2").cancel_reason
    Message.objects.filter(status=MessageStatus.SCHEDULED).update(send_at=timezone.now() - timedelta(seconds=1))
    delivery.deliver_due_messages()
    [received] = smtp_settings.wait_for(1)
    assert "「バックエンドエンジニア、データアナリスト」" in text_part(received["message"])


def test_cancelling_the_shared_notice_gives_the_other_rejection_its_own(make_company):
    from tsunagu.testing import ApiClient

    company, key = make_company(slug="combine", delay_minutes=30)
    client = ApiClient(key)
    client.post("/api/v1/applications", application_body(external_id="A-1"))
    client.post("/api/v1/applications", application_body(external_id="A-2", job={"title": "データアナリスト"}))
    client.post("/api/v1/applications", application_body(external_id="A-1", status="active"))
    pending = Message.objects.get(status=MessageStatus.SCHEDULED)
    assert pending.application.external_id == "A-2"


def test_combining_can_be_switched_off(make_company):
    from tsunagu.companies.actions import update_company_settings
    from tsunagu.testing import ApiClient

    company, key = make_company(slug="separate", delay_minutes=30)
    update_company_settings(company, combine_rejections_minutes=0)
    client = ApiClient(key)
    client.post("/api/v1/applications", application_body(external_id="A-1"))
    client.post("/api/v1/applications", application_body(external_id="A-2", job={"title": "データアナリスト"}))
    assert Message.objects.filter(status=MessageStatus.SCHEDULED).count() == 2


def test_long_japanese_subject_and_names_are_folded_and_read_back_intact(api, company, smtp_settings,
                                                                         django_capture_on_commit_callbacks):
    from tsunagu.messaging.actions.templates import save_template

    subject = "【株式会社アクメ】{{ job_title }}の選考結果につきまして、誠に恐縮ながらご連絡申し上げます(重要なお知らせ)"
    save_template(company, "rejection", subject=subject, body_text="{{ candidate_name }}様\n\n{{ referral_url }}\n")
    company.sender_name = "株式会社アクメ・ホールディングス グループ人事本部 新卒および中途採用担当チーム"
    company.save()
    name = "髙橋𠮷子ヴィクトリア・エリザベス・アレクサンドラ・シャーロット・マルガリータ"
    reject(api, django_capture_on_commit_callbacks, candidate={"name": name, "email": "long@example.jp"})
    [received] = smtp_settings.wait_for(1)
    raw, mail = received["raw"], received["message"]
    # Every physical line stays within the 78-character recommendation of RFC 5322.
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    assert mail["Subject"] == subject.replace("{{ job_title }}", "バックエンドエンジニア")
    # Decoded as RFC 2047 says (space between encoded words ignored); Python's modern address parser
    # would insert a space at each fold of a display name.
    plain = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert str(make_header(decode_header(plain["To"]))) == f"{name} <long@example.jp>"
    assert str(make_header(decode_header(plain["From"]))) == f"{company.display_sender_name} <recruit@acme.example>"
    assert text_part(mail).startswith(f"{name}様")


def test_a_line_break_in_a_name_cannot_add_a_header(smtp_settings, make_company):
    from tsunagu.messaging.mime import NoticeEmail

    email = NoticeEmail(subject="件名", text="本文", html="<p>本文</p>", from_name="採用担当",
                        from_email="recruit@acme.example", to_name="山田\r\nBcc: victim@example.jp",
                        to_email="yamada@example.jp", message_id="<1@acme.example>")
    with pytest.raises(ValueError):
        email.message()


def test_one_delivery_task_sends_batch_after_batch_until_nothing_is_due(api, smtp_settings, monkeypatch):
    for number in range(5):
        api.post("/api/v1/applications", application_body(external_id=f"A-{number}",
                                                          candidate={"name": "山田 太郎",
                                                                     "email": f"t{number}@example.jp"}))
    woken = []
    # No other worker joins in: the one task must get through all of it by itself.
    monkeypatch.setattr(notices, "request_delivery", lambda: woken.append(1))
    report = delivery.deliver_while_due(batch_size=2)
    assert sorted(report.sent) == sorted(Message.objects.values_list("pk", flat=True))
    assert len(smtp_settings.wait_for(5)) == 5
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
    assert woken  # full batches asked for help


def test_sent_html_carries_the_open_pixel_and_keeps_the_personal_links(api, company, smtp_settings,
                                                                       django_capture_on_commit_callbacks):
    from tsunagu.messaging.actions.templates import save_template

    save_template(company, "rejection", subject="選考結果のご連絡",
                  body_text="{{ candidate_name }}様\n\n求人一覧: https://jobs.acme.example/list\n\n{{ referral_url }}\n")
    reject(api, django_capture_on_commit_callbacks)
    [received] = smtp_settings.wait_for(1)
    html, text = html_part(received["message"]), text_part(received["message"])
    assert "/t/o/" in html and "/t/c/" in html  # the pixel, and the company's own link made trackable
    assert 'href="https://jobs.acme.example/list"' not in html
    assert "/r/" in html and "/u/" in html  # the referral and unsubscribe links record on their own
    assert "https://jobs.acme.example/list" in text and "/t/" not in text  # the text part is as written


def test_a_slow_mail_server_makes_the_batch_hand_back_the_rest_before_its_lease_ends(make_company, settings,
                                                                                        monkeypatch):
    """A tarpit answering each mail after a while: the batch stops at half its lease and returns the unsent
    rest to the due list, so the sweep never hands them to a second worker while this one still sends."""
    import asyncio

    from tsunagu.testing import ApiClient, SmtpSink, free_port, send_through, smtp_running

    class Tarpit(SmtpSink):
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
            await asyncio.sleep(0.3)
            return await super().handle_DATA(server, session, envelope)

    with smtp_running(Tarpit(port=free_port())) as sink:
        send_through(settings, sink)
        monkeypatch.setattr(delivery, "SENDING_LEASE", timedelta(seconds=1.4))
        _company, key = make_company(delay_minutes=60)
        for number in range(6):
            ApiClient(key).post("/api/v1/applications", application_body(
                external_id=f"A-{number}", email_address=f"p{number}@example.jp"))
        Message.objects.update(send_at=timezone.now() - timedelta(seconds=1))

        first = delivery.deliver_due_messages(batch_size=6)
        assert 1 <= len(first.sent) < 6 and first.handed_back == 6 - len(first.sent)
        rest = Message.objects.exclude(pk__in=first.sent)
        assert {(m.status, m.attempts, m.claim_token) for m in rest} == {(MessageStatus.SCHEDULED, 0, "")}
        # Nothing is left "sending" for the sweep to hand to another worker.
        assert not Message.objects.filter(status=MessageStatus.SENDING).exists()
        while delivery.deliver_due_messages(batch_size=6).claimed:
            pass
        assert Message.objects.filter(status=MessageStatus.SENT).count() == 6
        received = sink.wait_for(6)
        assert sorted(r["rcpt"][0] for r in received) == [f"p{n}@example.jp" for n in range(6)]
