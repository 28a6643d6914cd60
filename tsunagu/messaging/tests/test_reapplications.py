"""Re-applications end to end: the API, a signed webhook and a CSV import each recognise a known person once
(however often the ATS repeats itself), HR is told once per person by real SMTP, a probable match asks instead
of merging, HR confirms, separates or merges, each member's choice of mail is kept, and the welcome-back mail
goes out only when the company turned it on."""

from __future__ import annotations

import pytest

from tsunagu.companies import actions as companies
from tsunagu.companies.models import Membership, Role
from tsunagu.intake.actions import connections, imports
from tsunagu.intake.tests import webhook_samples as samples
from tsunagu.messaging.actions.suppression import suppress
from tsunagu.messaging.models import Message, MessageKind, MessageStatus, SuppressionReason
from tsunagu.talent.actions import reapplications
from tsunagu.talent.models import (
    Application,
    Candidate,
    CandidateTag,
    Job,
    MatchKind,
    Reapplication,
    ReviewStatus,
)
from tsunagu.testing import ApiClient, application_body, text_part

pytestmark = pytest.mark.django_db

ADMIN_EMAIL = "boss@acme.example"


@pytest.fixture
def acme(make_company):
    company, key = make_company()
    companies.create_user(email=ADMIN_EMAIL, password="a-long-password", company=company, role=Role.ADMIN)
    return company, ApiClient(key)


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """POST an application through the API, running what waits for the commit (queue, delivery)."""

    def do(api, **body):
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post("/api/v1/applications", application_body(**body))
        assert response.status_code in (200, 201), response.content
        return response

    return do


def alerts_to(address: str) -> list[Message]:
    return list(Message.objects.filter(kind=MessageKind.ALERT, to_email=address))


# --- the three ways in -----------------------------------------------------------------------------

def test_api_second_application_alerts_once_by_real_mail(acme, post, smtp_settings):
    company, api = acme
    post(api, external_id="A-1", status="rejected")
    assert not Reapplication.objects.exists()  # a first application is not a re-application
    post(api, external_id="A-2", status="active", job={"external_id": "J-2", "title": "SRE"})
    post(api, external_id="A-2", status="active", job={"external_id": "J-2", "title": "SRE"})  # a retry
    [reapplication] = Reapplication.objects.all()
    assert (reapplication.match, reapplication.match_detail) == (MatchKind.EXACT, "メールアドレス")
    assert reapplication.candidate_id == reapplication.previous_id
    [alert] = alerts_to(ADMIN_EMAIL)
    assert alert.key == f"reapplication:{reapplication.pk}:{alert_user_id(company)}"
    smtp_settings.wait_for(2)  # the rejection notice of A-1 and the alert
    [mail] = smtp_settings.messages_to(ADMIN_EMAIL)
    body = text_part(mail)
    assert "髙橋 𠮷子" in mail["Subject"] and "SRE" in mail["Subject"]
    assert "バックエンドエンジニア" in body and "スキル不一致" in body  # the earlier application and its reason
    assert f"/console/reapplications/{reapplication.pk}/" in body


def alert_user_id(company) -> int:
    return Membership.objects.get(company=company, user__email=ADMIN_EMAIL).user_id


def test_webhook_repeated_alerts_once(make_company, client, smtp_settings, django_capture_on_commit_callbacks):
    company, _key = make_company(slug="gh", name="株式会社GH")
    companies.create_user(email="admin@gh.example", password="a-long-password", company=company, role=Role.ADMIN)
    connection = connections.add_connection(company, kind="greenhouse", secret="a-shared-secret-1234")

    def deliver(payload, event_id):
        body, headers = samples.greenhouse_request("a-shared-secret-1234", payload, event_id=event_id)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(connection.webhook_path, data=body, content_type="application/json", **headers)
        assert response.status_code == 200

    deliver(samples.greenhouse(application_id=1001), "evt-1")
    second = samples.greenhouse(application_id=1002)
    deliver(second, "evt-2")
    deliver(second, "evt-2")  # the same delivery again
    deliver(second, "evt-3")  # the same news under another event id
    [reapplication] = Reapplication.objects.filter(company=company)
    assert reapplication.application.external_id == "1002"
    assert len(alerts_to("admin@gh.example")) == 1
    smtp_settings.wait_for(3)
    assert len(smtp_settings.messages_to("admin@gh.example")) == 1


CSV_HEADER = "応募ID,氏名,フリガナ,メールアドレス,電話番号,応募職種,選考結果,不採用理由"


def write_csv(tmp_path, rows, name="export.csv"):
    path = tmp_path / name
    path.write_text("\n".join([CSV_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("batch", [True, False])
def test_csv_import_that_notifies_alerts_once_history_does_not(acme, tmp_path, monkeypatch, batch,
                                                               django_capture_on_commit_callbacks):
    company, _api = acme
    if not batch:
        monkeypatch.setattr("tsunagu.talent.actions.batch_writes_supported", lambda: False)
    history = write_csv(tmp_path, ["C-1,佐藤 花子,サトウ ハナコ,hanako@example.jp,,営業,不採用,経験不足",
                                   "C-2,佐藤 花子,サトウ ハナコ,hanako@example.jp,,企画,不採用,経験不足"])
    imports.import_csv(company, history, dry_run=False)
    assert not Reapplication.objects.exists()  # history, not news
    fresh = write_csv(tmp_path, ["C-3,佐藤 花子,サトウ ハナコ,hanako@example.jp,,マーケティング,選考中,",
                                 "C-4,鈴木 健,スズキ ケン,ken@example.jp,,営業,選考中,"], name="new.csv")
    for _ in range(2):  # the second import of the same file skips every row
        with django_capture_on_commit_callbacks(execute=True):
            imports.import_csv(company, fresh, dry_run=False, send_notices=True)
    [reapplication] = Reapplication.objects.all()
    assert reapplication.application.external_id == "C-3" and reapplication.match == MatchKind.EXACT
    assert len(alerts_to(ADMIN_EMAIL)) == 1


def test_two_new_applications_in_one_file_the_second_is_the_reapplication(acme, tmp_path):
    company, _api = acme
    path = write_csv(tmp_path, ["D-1,田中 美咲,タナカ ミサキ,misaki@example.jp,,営業,選考中,",
                                "D-2,田中 美咲,タナカ ミサキ,misaki@example.jp,,企画,選考中,"])
    imports.import_csv(company, path, dry_run=False, send_notices=True)
    assert [r.application.external_id for r in Reapplication.objects.all()] == ["D-2"]


# --- what matches ----------------------------------------------------------------------------------

def test_same_phone_is_an_exact_match_to_the_other_record(acme, post):
    _company, api = acme
    post(api, external_id="P-1", email_address="old@example.jp")
    post(api, external_id="P-2", email_address="new@example.jp",
         candidate={"name": "別名 太郎", "email": "new@example.jp", "phone": "+81 90 1234 5678"})
    [reapplication] = Reapplication.objects.all()
    assert (reapplication.match, reapplication.match_detail) == (MatchKind.EXACT, "電話番号")
    assert reapplication.previous.email == "old@example.jp" and reapplication.candidate.email == "new@example.jp"


def test_probable_match_by_folded_name_and_reading_asks_and_never_merges(acme, post, login):
    company, api = acme
    post(api, external_id="N-1", candidate={"name": "高橋 吉子", "name_kana": "たかはし よしこ",
                                            "email": "one@example.jp", "phone": "090-1111-1111"})
    post(api, external_id="N-2", status="active",
         candidate={"name": "髙橋 𠮷子", "name_kana": "ﾀｶﾊｼ ﾖｼｺ", "email": "two@example.jp", "phone": "080-2222-2222"})
    [reapplication] = Reapplication.objects.all()
    assert reapplication.match == MatchKind.PROBABLE and reapplication.status == ReviewStatus.OPEN
    assert Candidate.objects.filter(company=company, merged_into__isnull=True).count() == 2  # not merged
    client = login(company, Role.RECRUITER)
    page = client.get(f"/console/reapplications/{reapplication.pk}/").content.decode()
    assert 'id="confirm"' in page and 'id="separate"' in page and 'id="merge"' not in page
    # Merging before HR confirmed is refused.
    client.post(f"/console/reapplications/{reapplication.pk}/merge/")
    assert Candidate.objects.filter(company=company, merged_into__isnull=True).count() == 2


def test_no_match_for_a_new_person(acme, post):
    _company, api = acme
    post(api, external_id="X-1")
    post(api, external_id="X-2", candidate={"name": "鈴木 健", "name_kana": "スズキ ケン", "email": "ken@example.jp"})
    assert not Reapplication.objects.exists()


# --- review and merge ------------------------------------------------------------------------------

@pytest.fixture
def probable(acme, post):
    company, api = acme
    post(api, external_id="M-1", candidate={"name": "山崎 太郎", "name_kana": "ヤマザキ タロウ",
                                            "email": "taro@example.jp"}, tags=["Python"])
    post(api, external_id="M-2", status="active",
         candidate={"name": "山﨑 太郎", "name_kana": "やまざき たろう", "email": "taro.y@example.jp"})
    reapplication = Reapplication.objects.get()
    CandidateTag.objects.create(company=company, candidate=reapplication.candidate, label="Go", key="go")
    return company, api, reapplication


def test_confirm_then_merge_moves_history(probable, login, post):
    company, api, reapplication = probable
    client = login(company, Role.RECRUITER)
    client.post(f"/console/reapplications/{reapplication.pk}/review/", {"decision": "confirm"})
    reapplication.refresh_from_db()
    assert reapplication.status == ReviewStatus.CONFIRMED and reapplication.reviewed_by is not None
    assert 'id="merge"' in client.get(f"/console/reapplications/{reapplication.pk}/").content.decode()
    client.post(f"/console/reapplications/{reapplication.pk}/merge/")
    reapplication.refresh_from_db()
    keep, other = reapplication.previous, Candidate.objects.get(email="taro.y@example.jp")
    assert reapplication.status == ReviewStatus.MERGED and other.merged_into_id == keep.pk
    assert sorted(Application.objects.filter(candidate=keep).values_list("external_id", flat=True)) == ["M-1", "M-2"]
    assert "go" in set(CandidateTag.objects.filter(candidate=keep).values_list("key", flat=True))
    assert not CandidateTag.objects.filter(candidate=other).exists()
    # A later application under the merged record's address lands on the kept record, as a re-application.
    post(api, external_id="M-3", status="active", candidate={"name": "山﨑 太郎", "email": "taro.y@example.jp"})
    later = Reapplication.objects.get(application__external_id="M-3")
    assert later.candidate_id == later.previous_id == keep.pk
    assert Application.objects.get(external_id="M-3").candidate_id == keep.pk


def test_separate_is_never_asked_again(probable, login, post):
    company, api, reapplication = probable
    login(company, Role.RECRUITER).post(f"/console/reapplications/{reapplication.pk}/review/",
                                        {"decision": "separate"})
    reapplication.refresh_from_db()
    assert reapplication.status == ReviewStatus.SEPARATE
    post(api, external_id="M-4", status="active",
         candidate={"name": "山﨑 太郎", "name_kana": "ヤマザキ タロウ", "email": "taro.y@example.jp"})
    assert not Reapplication.objects.filter(match=MatchKind.PROBABLE).exclude(pk=reapplication.pk).exists()
    assert Reapplication.objects.get(application__external_id="M-4").match == MatchKind.EXACT
    with pytest.raises(Exception):  # noqa: B017 - a ValidationError: a separated pair cannot be merged
        reapplications.merge_reapplication(company, reapplication.pk)


def test_roles_and_other_companies(probable, login, make_company, client):
    company, _api, reapplication = probable
    detail = f"/console/reapplications/{reapplication.pk}/"
    viewer = login(company, Role.VIEWER)
    assert viewer.get("/console/reapplications/").status_code == 200
    assert viewer.get(detail).status_code == 200
    assert viewer.post(f"{detail}review/", {"decision": "confirm"}).status_code == 403
    assert viewer.post(f"{detail}merge/").status_code == 403
    other, _key = make_company(slug="other", name="株式会社アザー")
    client.logout()
    intruder = login(other, Role.ADMIN)
    for path in (detail, f"{detail}review/", f"{detail}merge/"):
        response = intruder.get(path) if path == detail else intruder.post(path, {"decision": "separate"})
        assert response.status_code == 404, path
    assert "山﨑" not in intruder.get("/console/reapplications/").content.decode()
    reapplication.refresh_from_db()
    assert reapplication.status == ReviewStatus.OPEN


def test_bad_decision_changes_nothing(probable, login):
    company, _api, reapplication = probable
    client = login(company, Role.RECRUITER)
    response = client.post(f"/console/reapplications/{reapplication.pk}/review/", {"decision": "x" * 10_000})
    assert response.status_code == 302
    reapplication.refresh_from_db()
    assert reapplication.status == ReviewStatus.OPEN


def test_unread_badge_and_seen(probable, login):
    company, _api, reapplication = probable
    client = login(company, Role.VIEWER)
    assert 'id="reapplication-badge"' in client.get("/console/reapplications/").content.decode()
    client.get(f"/console/reapplications/{reapplication.pk}/")
    assert 'id="reapplication-badge"' not in client.get("/console/reapplications/").content.decode()


def test_detail_shows_history_and_what_was_sent(acme, post, login):
    company, api = acme
    post(api, external_id="H-1", evaluation="B")
    post(api, external_id="H-2", status="active", job={"external_id": "J-9", "title": "SRE"})
    reapplication = Reapplication.objects.get()
    page = login(company, Role.VIEWER).get(f"/console/reapplications/{reapplication.pk}/").content.decode()
    notice = Message.objects.get(kind=MessageKind.REJECTION)
    assert "スキル不一致" in page and "一次面接" in page and "バックエンドエンジニア" in page
    assert f"/console/outbox/{notice.pk}/" in page


# --- who gets mail -----------------------------------------------------------------------------------

def test_member_choices_and_job_followers(acme, post, login, client):
    company, api = acme
    admin = Membership.objects.get(company=company, user__email=ADMIN_EMAIL)
    companies.create_user(email="rec@acme.example", password="a-long-password", company=company, role=Role.RECRUITER)
    companies.create_user(email="fan@acme.example", password="a-long-password", company=company, role=Role.VIEWER)
    companies.create_user(email="opt-in@acme.example", password="a-long-password", company=company,
                          role=Role.RECRUITER)
    post(api, external_id="F-1")
    job = Job.objects.get(company=company, external_id="J-1")
    fan = Membership.objects.get(user__email="fan@acme.example")
    job.followers.add(fan.user)
    # The admin turns the mail off on the page; another recruiter turns it on.
    client.login(username=ADMIN_EMAIL, password="a-long-password")
    assert client.post("/console/reapplications/mail/", {"mail": "off"}).status_code == 302
    client.logout()
    client.login(username="opt-in@acme.example", password="a-long-password")
    client.post("/console/reapplications/mail/", {"mail": "on"})
    admin.refresh_from_db()
    assert admin.reapplication_mail is False
    post(api, external_id="F-2", status="active")  # the same job J-1
    recipients = set(Message.objects.filter(kind=MessageKind.ALERT).values_list("to_email", flat=True))
    assert recipients == {"fan@acme.example", "opt-in@acme.example"}


# --- the welcome-back mail -------------------------------------------------------------------------

def test_welcome_back_only_when_turned_on(acme, post, smtp_settings):
    company, api = acme
    post(api, external_id="W-1")
    post(api, external_id="W-2", status="active")
    assert not Message.objects.filter(kind=MessageKind.WELCOME_BACK).exists()
    company.welcome_back_mail = True
    company.save()
    post(api, external_id="W-3", status="active")
    post(api, external_id="W-3", status="active")
    [welcome] = Message.objects.filter(kind=MessageKind.WELCOME_BACK)
    assert welcome.key == f"welcome_back:{Application.objects.get(external_id='W-3').pk}"
    assert welcome.status == MessageStatus.SENT
    mails = [m for m in smtp_settings.messages_to("yoshiko@example.jp") if "あらためて" in m["Subject"]]
    assert len(mails) == 1 and text_part(mails[0]).startswith("髙橋 𠮷子様")


def test_welcome_back_not_to_a_suppressed_address(acme, post):
    company, api = acme
    company.welcome_back_mail = True
    company.save()
    post(api, external_id="S-1")
    suppress(company, "yoshiko@example.jp", SuppressionReason.UNSUBSCRIBED)
    post(api, external_id="S-2", status="active")
    assert Reapplication.objects.count() == 1
    assert not Message.objects.filter(kind=MessageKind.WELCOME_BACK).exists()


def test_a_welcome_back_still_waiting_when_the_person_is_rejected_is_not_sent(acme, post, smtp_settings):
    from django.utils import timezone

    from tsunagu.messaging.actions import delivery

    company, api = acme
    company.welcome_back_mail = True
    company.save()
    post(api, external_id="R-1")
    # Without running what waits for the commit, nothing is delivered yet: the thank-you waits in the outbox.
    assert api.post("/api/v1/applications", application_body(external_id="R-2", status="active")).status_code == 201
    welcome = Message.objects.get(kind=MessageKind.WELCOME_BACK)
    assert welcome.status == MessageStatus.SCHEDULED
    # Decided before the thank-you went out.
    assert api.post("/api/v1/applications", application_body(external_id="R-2", status="rejected")).status_code == 200
    Message.objects.filter(pk=welcome.pk).update(send_at=timezone.now())
    delivery.deliver_due_messages()
    welcome.refresh_from_db()
    assert welcome.status == MessageStatus.CANCELLED and welcome.cancel_reason == "application rejected"
    assert not [m for m in smtp_settings.messages_to("yoshiko@example.jp") if "あらためて" in m["Subject"]]
