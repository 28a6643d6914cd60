"""Introductions (推薦): who may be proposed, the registrant's consent on a public page (GET shows, only POST
answers, once, before the link expires), what the company sees before and after consent, the outcomes and the
slot a hire uses, and the mail each step sends."""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from tsunagu.companies.actions import operator_party
from tsunagu.companies.models import Role
from tsunagu.lib import tokens
from tsunagu.messaging.models import Message, MessageKind
from tsunagu.relay.actions import introductions, requests
from tsunagu.relay.introduction_consent import introduction_consent_text
from tsunagu.relay.models import (
    ConsentKind,
    ConsentRecord,
    Introduction,
    IntroductionStatus,
    LedgerEntry,
    LedgerKind,
    RegistrantStatus,
    RequestStatus,
)
from tsunagu.relay.selectors import ledger_summary
from tsunagu.relay.tests.referrals import (
    REQUEST,
    company_client,
    consent_path,
    earn_slots,
    operator_client,
    registered,
    registrant,
    rejected,
)
from tsunagu.testing import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(make_company):
    """A company with an admin and one open referral request, and the operator's staff at their desk."""
    company, key = make_company(referral_ratio=1)
    admin = company_client(company, Role.ADMIN)
    earn_slots(company, 1)
    referral = requests.file_request(company, requests.RequestForm(**REQUEST))
    desk, staff = operator_client()

    class Scene:
        pass

    scene = Scene()
    scene.company, scene.api, scene.admin, scene.referral, scene.desk, scene.staff = (
        company, ApiClient(key), admin, referral, desk, staff)
    return scene


def propose(scene, person, recommendation="営業経験5年。丁寧な提案が持ち味です。"):
    return scene.desk.post(f"/console/operator/requests/{scene.referral.pk}/propose/",
                           {"registrant": person.pk, "recommendation": recommendation}, follow=True)


def consent_mail(person):
    return Message.objects.get(kind=MessageKind.CONSENT_REQUEST, to_email=person.email)


def digest_on(page: str) -> str:
    return re.search(r'name="digest" value="([0-9a-f]+)"', page).group(1)


# --- who can be proposed -------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [RegistrantStatus.PAUSED, RegistrantStatus.WITHDRAWN])
def test_a_paused_or_withdrawn_registrant_cannot_be_proposed(scene, status):
    person = registrant(status=status)
    page = propose(scene, person).content.decode()
    assert "の登録者は推薦できません" in page
    assert not Introduction.objects.exists() and not Message.objects.filter(kind=MessageKind.CONSENT_REQUEST).exists()


def test_a_registrant_the_company_rejected_is_refused_unless_they_opted_in(scene):
    came_through_its_link = registered(scene.company, email="former@example.jp", name="元 応募者").registrant
    page = propose(scene, came_through_its_link).content.decode()
    assert "株式会社アクメに応募したことがあるため推薦できません" in page
    assert not Introduction.objects.exists()

    # Known to the company only as an applicant (its ATS sent the application), the address written otherwise.
    rejected(scene.company, email="Applicant@Example.jp", name="応募 者")
    applicant = registrant("ａｐｐｌｉｃａｎｔ@example.jp", phone="")
    assert "応募したことがある" in propose(scene, applicant).content.decode()
    # ... or by the phone number alone.
    rejected(scene.company, email="someone-else@example.jp", phone="090-9999-8888")
    by_phone = registrant("by-phone@example.jp", phone="09099998888")
    assert "応募したことがある" in propose(scene, by_phone).content.decode()
    assert not Introduction.objects.exists()

    applicant.open_to_former_companies = True
    applicant.save()
    assert "同意をお願いするメールを送りました" in propose(scene, applicant).content.decode()
    assert Introduction.objects.get().registrant == applicant


def test_the_same_registrant_twice_and_a_closed_request_are_refused(scene):
    person = registrant()
    propose(scene, person)
    assert "既にこの依頼に推薦されています" in propose(scene, person).content.decode()
    assert Introduction.objects.count() == 1 and Message.objects.filter(kind=MessageKind.CONSENT_REQUEST).count() == 1
    requests.close_request(scene.referral)
    other = registrant("other@example.jp")
    assert "終了している" in propose(scene, other).content.decode()
    assert Introduction.objects.count() == 1


def test_an_over_long_recommendation_is_refused(scene):
    page = propose(scene, registrant(), recommendation="あ" * 5001).content.decode()
    assert "推薦文は5000文字以内" in page and not Introduction.objects.exists()


def test_the_desk_search_says_who_cannot_be_proposed_and_why(scene):
    registrant("hanako@example.jp", name="山田 花子")
    registrant("hanako2@example.jp", name="山田 花美", status=RegistrantStatus.PAUSED)
    page = scene.desk.get(f"/console/operator/requests/{scene.referral.pk}/", {"q": "山田"}).content.decode()
    assert page.count('class="panel candidate"') == 2
    assert page.count('name="registrant"') == 1  # only the one who can be proposed has the button
    assert "休止の登録者は推薦できません" in page


# --- the consent -------------------------------------------------------------------------------------------

def test_the_company_sees_nothing_before_consent_then_the_consented_profile(scene, django_capture_on_commit_callbacks):
    person = registrant()
    propose(scene, person)
    introduction = Introduction.objects.get()
    assert introduction.status == IntroductionStatus.CONSENT_REQUESTED
    mail = consent_mail(person)
    assert mail.company == operator_party()  # from the operator: in no company's outbox
    assert "株式会社アクメ" in mail.body_text and "法人営業" in mail.body_text
    expires = timezone.localdate(timezone.now() + timedelta(days=14)).isoformat()
    assert f"このリンクは{expires}まで、1回だけ" in mail.body_text
    path = consent_path(mail.body_text)

    # Before consent: the company knows that someone waits, never who.
    api_view = scene.api.get(f"/api/v1/relay/requests/{scene.referral.pk}")
    for secret in (person.name, person.email, "090-1111-2222", "営業経験5年"):
        assert secret not in api_view.content.decode()
    [pending] = api_view.json()["introductions"]
    assert (pending["status"], pending["profile"], pending["recommendation"]) == ("consent_requested", None, None)
    page = scene.admin.get(f"/console/referrals/{scene.referral.pk}/").content.decode()
    assert "1名の推薦が、ご本人の同意を待っています" in page and person.name not in page and person.email not in page
    assert "/r/consent/" not in scene.api.get("/api/v1/messages").content.decode()

    # Opening the link (a person, or a mail scanner) shows what will be provided, and changes nothing.
    client = scene.api.client.__class__()
    shown = client.get(path)
    assert shown.status_code == 200
    text = shown.content.decode()
    assert "株式会社アクメ" in text and "法人営業" in text and "氏名、メールアドレス、電話番号、希望職種、希望勤務地" in text
    assert "営業経験5年。丁寧な提案が持ち味です。" in text  # the recommendation, quoted in full
    assert client.head(path).status_code == 200
    introduction.refresh_from_db()
    assert introduction.status == IntroductionStatus.CONSENT_REQUESTED and not ConsentRecord.objects.exists()

    assert client.post(path, {"digest": digest_on(text)}).status_code == 400  # neither button
    assert client.post(path, {"answer": "consent", "digest": "0" * 32}).status_code == 409  # not what was shown
    assert not ConsentRecord.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(path, {"answer": "consent", "digest": digest_on(text)})
    assert done.status_code == 200 and "ご同意ありがとうございます" in done.content.decode()
    record = ConsentRecord.objects.get()
    introduction.refresh_from_db()
    assert record.kind == ConsentKind.INTRODUCTION and record.introduction == introduction
    assert record.company == scene.company and record.registrant == person
    assert record.text == introduction_consent_text(introduction, operator_party())
    assert record.text.replace("\n", "") in re.sub(r"\s*\n\s*", "", text.replace("&quot;", '"'))
    assert introduction.status == IntroductionStatus.INTRODUCED and introduction.consented_at == record.given_at
    person.refresh_from_db()
    assert person.status == RegistrantStatus.INTRODUCING

    # The company's admin is told, without the person's data.
    notice = Message.objects.get(company=scene.company, kind=MessageKind.NOTICE)
    assert notice.to_email == "admin@acme.example" and "紹介が届きました" in notice.subject
    assert f"/console/referrals/{scene.referral.pk}/" in notice.body_text
    for secret in (person.name, person.email, "090-1111-2222", "営業経験5年"):
        assert secret not in notice.body_text and secret not in notice.subject

    # After consent: the profile as consented, and the recommendation.
    [shown_to_company] = scene.api.get(f"/api/v1/relay/requests/{scene.referral.pk}").json()["introductions"]
    assert shown_to_company["profile"] == {"name": "山田 花子", "email": "hanako@example.jp", "phone": "090-1111-2222",
                                           "desired_job": "営業", "desired_region": "東京都"}
    assert shown_to_company["recommendation"] == "営業経験5年。丁寧な提案が持ち味です。"
    page = scene.admin.get(f"/console/referrals/{scene.referral.pk}/").content.decode()
    assert "山田 花子" in page and "hanako@example.jp" in page and "営業経験5年" in page

    # The link works once: a later decline changes nothing.
    again = client.post(path, {"answer": "decline", "digest": digest_on(text)})
    assert "すでにご同意いただいています" in again.content.decode()
    introduction.refresh_from_db()
    assert introduction.status == IntroductionStatus.INTRODUCED and ConsentRecord.objects.count() == 1


def test_a_decline_tells_the_operator_and_the_company_sees_nothing(scene, client):
    person = registrant()
    propose(scene, person)
    path = consent_path(consent_mail(person).body_text)
    page = client.get(path).content.decode()
    declined = client.post(path, {"answer": "decline", "digest": digest_on(page)})
    assert declined.status_code == 200 and "承知しました" in declined.content.decode()
    introduction = Introduction.objects.get()
    assert introduction.status == IntroductionStatus.DECLINED and not ConsentRecord.objects.exists()
    notice = Message.objects.get(kind=MessageKind.NOTICE, to_email=scene.staff.email, key__contains="declined")
    assert notice.company.is_operator and "推薦辞退" in notice.subject
    assert not Message.objects.filter(company=scene.company, kind=MessageKind.NOTICE).exists()
    [seen] = scene.api.get(f"/api/v1/relay/requests/{scene.referral.pk}").json()["introductions"]
    assert (seen["status"], seen["profile"]) == ("declined", None)
    assert "すでにお断りのご回答" in client.get(path).content.decode()
    assert scene.api.post(f"/api/v1/relay/introductions/{introduction.pk}/outcome",
                          {"outcome": "interview"}).status_code == 409


def test_the_link_expires(scene, client):
    person = registrant()
    propose(scene, person)
    path = consent_path(consent_mail(person).body_text)
    later = timezone.now() + timedelta(days=15)
    with mock.patch("time.time", return_value=later.timestamp()):
        page = client.get(path)
        posted = client.post(path, {"answer": "consent", "digest": "x"})
    assert page.status_code == 410 and "有効期限" in page.content.decode()
    assert posted.status_code == 410
    assert Introduction.objects.get().status == IntroductionStatus.CONSENT_REQUESTED
    assert not ConsentRecord.objects.exists()


def test_one_introductions_link_opens_no_other(scene, client):
    first, second = registrant("a@example.jp", name="一 郎"), registrant("b@example.jp", name="二 郎")
    propose(scene, first)
    propose(scene, second)
    first_intro = Introduction.objects.get(registrant=first)
    second_intro = Introduction.objects.get(registrant=second)
    path = consent_path(consent_mail(first).body_text)
    token = path.rsplit("/", 1)[1]
    # The id moved to the other introduction with the first one's signature: refused.
    value, rest = token.split(".", 1)
    forged = f"{tokens.introduction_token(second_intro.pk).split('.', 1)[0]}.{rest}"
    assert forged != token
    assert client.get(f"/r/consent/{forged}").status_code == 404
    assert client.post(f"/r/consent/{forged}", {"answer": "consent"}).status_code == 404
    # A referral or verification token is not a consent token either.
    assert client.get(f"/r/consent/{tokens.verify_token(second_intro.pk)}").status_code == 404
    page = client.get(path).content.decode()
    assert "一 郎" in page and "二 郎" not in page
    client.post(path, {"answer": "consent", "digest": digest_on(page)})
    first_intro.refresh_from_db()
    second_intro.refresh_from_db()
    assert first_intro.status == IntroductionStatus.INTRODUCED
    assert second_intro.status == IntroductionStatus.CONSENT_REQUESTED


def test_closing_the_request_withdraws_waiting_proposals_and_their_links(scene, client):
    person = registrant()
    propose(scene, person)
    path = consent_path(consent_mail(person).body_text)
    scene.admin.post(f"/console/referrals/{scene.referral.pk}/close/")
    assert Introduction.objects.get().status == IntroductionStatus.WITHDRAWN
    page = client.get(path).content.decode()
    assert "このご推薦の確認は終了しました" in page
    client.post(path, {"answer": "consent", "digest": "0"})
    assert not ConsentRecord.objects.exists()


def test_the_operator_withdraws_a_proposal(scene, client):
    person = registrant()
    propose(scene, person)
    introduction = Introduction.objects.get()
    response = scene.desk.post(f"/console/operator/requests/introductions/{introduction.pk}/withdraw/", follow=True)
    assert "推薦を取り下げました" in response.content.decode()
    introduction.refresh_from_db()
    assert introduction.status == IntroductionStatus.WITHDRAWN
    assert "終了しました" in client.get(consent_path(consent_mail(person).body_text)).content.decode()


# --- outcomes ----------------------------------------------------------------------------------------------

def consented(scene, person, client):
    propose(scene, person)
    path = consent_path(consent_mail(person).body_text)
    client.post(path, {"answer": "consent", "digest": digest_on(client.get(path).content.decode())})
    return Introduction.objects.get(registrant=person)


def test_outcomes_up_to_a_hire_that_uses_the_slot(scene, client, make_company):
    person = registrant()
    propose(scene, person)
    introduction = Introduction.objects.get()
    url = f"/api/v1/relay/introductions/{introduction.pk}/outcome"
    assert scene.api.post(url, {"outcome": "interview"}).status_code == 409  # before consent
    path = consent_path(consent_mail(person).body_text)
    client.post(path, {"answer": "consent", "digest": digest_on(client.get(path).content.decode())})

    _other, other_key = make_company(slug="other", name="株式会社ほか")
    assert ApiClient(other_key).post(url, {"outcome": "hired"}).status_code == 404
    bad = scene.api.post(url, {"outcome": "maybe"})
    assert bad.status_code == 422 and "outcome" in bad.json()["errors"]

    assert scene.api.post(url, {"outcome": "document_passed"}).json()["outcome"] == "document_passed"
    assert scene.api.post(url, {"outcome": "interview"}).status_code == 200
    assert scene.api.post(url, {"outcome": "offered"}).status_code == 200
    person.refresh_from_db()
    assert person.status == RegistrantStatus.OFFERED
    assert Message.objects.filter(kind=MessageKind.NOTICE, to_email=scene.staff.email,
                                  key__contains=":offered:").exists()

    hired = scene.api.post(url, {"outcome": "hired"})
    assert hired.status_code == 200 and hired.json()["outcome"] == "hired"
    use = LedgerEntry.objects.get(kind=LedgerKind.SLOT_REDEEMED)
    assert (use.introduction_id, use.request_id) == (introduction.pk, scene.referral.pk)
    summary = ledger_summary(scene.company)
    assert (summary.slots_earned, summary.slots_reserved, summary.slots_redeemed, summary.slots_available) == (1, 0, 1, 0)
    body = scene.api.get(f"/api/v1/relay/requests/{scene.referral.pk}").json()
    assert (body["status"], body["slot"]) == ("filled", "used")
    assert [line["kind"] for line in body["history"]] == [
        "filed", "proposed", "consent_requested", "consented", "outcome", "outcome", "outcome", "outcome",
        "slot_used", "filled"]
    person.refresh_from_db()
    assert person.status == RegistrantStatus.JOINED

    # A hire is final, is recorded once, and a filled request cannot be closed or hire again.
    assert scene.api.post(url, {"outcome": "hired"}).status_code == 200
    assert scene.api.post(url, {"outcome": "rejected"}).status_code == 409
    assert scene.api.post(f"/api/v1/relay/requests/{scene.referral.pk}/close", {}).status_code == 409
    assert LedgerEntry.objects.filter(kind=LedgerKind.SLOT_REDEEMED).count() == 1
    assert LedgerEntry.objects.filter(kind=LedgerKind.SLOT_RELEASED).count() == 0


def test_a_request_for_two_fills_at_the_second_hire_and_uses_one_slot(scene, client):
    scene.referral.headcount = 2
    scene.referral.save()
    first = consented(scene, registrant("a@example.jp", name="一 郎"), client)
    second = consented(scene, registrant("b@example.jp", name="二 郎"), client)
    introductions.record_outcome(first, "hired")
    scene.referral.refresh_from_db()
    assert scene.referral.status == RequestStatus.OPEN
    introductions.record_outcome(second, "hired")
    scene.referral.refresh_from_db()
    assert scene.referral.status == RequestStatus.FILLED
    assert LedgerEntry.objects.filter(kind=LedgerKind.SLOT_REDEEMED).count() == 1
    assert ledger_summary(scene.company).slots_redeemed == 1


def test_outcomes_in_the_console(scene, client):
    introduction = consented(scene, registrant(), client)
    viewer = company_client(scene.company, Role.VIEWER)
    url = f"/console/referrals/introductions/{introduction.pk}/outcome/"
    assert viewer.post(url, {"outcome": "hired"}).status_code == 403
    page = scene.admin.post(url, {"outcome": "interview"}, follow=True).content.decode()
    assert "選考結果を記録しました" in page
    introduction.refresh_from_db()
    assert introduction.outcome == "interview"
    stranger = company_client(scene.company.__class__.objects.create(slug="x", name="X社"), Role.ADMIN)
    assert stranger.post(url, {"outcome": "hired"}).status_code == 404
    introduction.refresh_from_db()
    assert introduction.outcome == "interview"


# --- notifications -----------------------------------------------------------------------------------------

def test_a_slot_earned_tells_the_companys_admins_once(make_company, django_capture_on_commit_callbacks):
    company, _key = make_company(slug="beta", name="ベータ株式会社", referral_ratio=2)
    company_client(company, Role.ADMIN)
    company_client(company, Role.RECRUITER)
    with django_capture_on_commit_callbacks(execute=True):
        registered(company, email="one@example.jp")
    assert not Message.objects.filter(kind=MessageKind.NOTICE).exists()  # 1 of 2: no slot yet
    with django_capture_on_commit_callbacks(execute=True):
        registration = registered(company, email="two@example.jp", name="二 人目")
    [notice] = Message.objects.filter(kind=MessageKind.NOTICE)
    assert notice.company == company and notice.to_email == "admin@beta.example"  # admins only
    assert "無料紹介枠を獲得しました" in notice.subject and "/console/ledger/" in notice.body_text
    assert "二 人目" not in notice.body_text
    from tsunagu.relay.actions import ledger

    with django_capture_on_commit_callbacks(execute=True):
        ledger.credit(registration)  # again: the same credit, no second slot, no second mail
    assert Message.objects.filter(kind=MessageKind.NOTICE).count() == 1
