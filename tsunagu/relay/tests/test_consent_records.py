"""Consent kept word for word (issue 13, item 4): the text as the page showed it survives a change of the
company's name and retention period, with its SHA-256, its purpose and a keyed hash of the address (never
the address); a text that changed between showing and posting is not recorded as agreed; withdrawal is
idempotent, follows through (退会, waiting introductions withdrawn) and shows on the registrant's page."""

import hashlib
import re

import pytest
from django.utils import timezone

from tsunagu.companies.actions import operator_party
from tsunagu.relay import fraud
from tsunagu.relay.actions import introductions, requests
from tsunagu.relay.actions.consents import withdraw_consents
from tsunagu.relay.models import (
    ConsentKind,
    ConsentRecord,
    Introduction,
    IntroductionStatus,
    RegistrantNote,
    RegistrantStatus,
    RegistrationRequest,
)
from tsunagu.relay.tests.candidate_path import FORM, link_path, reject, verification_to, verify_path
from tsunagu.relay.tests.referrals import REQUEST, earn_slots, operator_client, registrant

pytestmark = pytest.mark.django_db

IP = "203.0.113.45"


def shown(page: str) -> tuple[str, str]:
    """The purpose text and the digest the landing page shows."""
    digest = re.search(r'name="consent_digest" value="([0-9a-f]+)"', page).group(1)
    purpose = re.search(r'id="consent-purpose-text">([^<]+)<', page).group(1)
    return purpose, digest


def send_form(client, path, capture, digest, email="yoshiko@example.jp"):
    with capture(execute=True):
        return client.post(path, {**FORM, "email": email, "consent_digest": digest}, REMOTE_ADDR=IP)


def test_the_text_shown_is_what_is_kept_through_a_change_of_name_and_retention(
        client, api, company, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    message = reject(api, capture)
    path = link_path(message)
    purpose_shown, digest = shown(client.get(path).content.decode())
    assert "株式会社アクメ" in client.get(path).content.decode()
    assert send_form(client, path, capture, digest).status_code == 302

    # The company renames itself, and the operator shortens its retention (the registrants' period), before the
    # person verifies.
    company.name = "株式会社ニューアクメ"
    company.save()
    operator = operator_party()
    operator.retention_days = 365
    operator.save()
    assert client.post(verify_path(verification_to("yoshiko@example.jp"))).status_code == 200

    purpose = ConsentRecord.objects.get(kind=ConsentKind.PURPOSE)
    provision = ConsentRecord.objects.get(kind=ConsentKind.PROVISION)
    assert purpose.text == purpose_shown.replace("&quot;", '"')
    assert "3年間" in purpose.text and "株式会社アクメ" in provision.text and "ニューアクメ" not in provision.text
    for record in (purpose, provision):
        assert record.text_hash == hashlib.sha256(record.text.encode()).hexdigest()
        assert record.ip_hash == fraud.ip_hash(IP) and IP not in record.ip_hash and record.ip_hash
        assert record.withdrawn_at is None and record.version
    assert (purpose.purpose, provision.purpose) == ("career_support", "provision_to_partners")
    assert purpose.purpose_label and provision.purpose_label

    # A person who registers after the change agrees to, and is kept with, the new wording.
    second = reject(api, capture, external_id="A-2", email_address="hanako@example.jp")
    new_text, new_digest = shown(client.get(link_path(second)).content.decode())
    assert new_digest != digest and "1年間" in new_text
    assert send_form(client, link_path(second), capture, new_digest, email="hanako@example.jp").status_code == 302
    client.post(verify_path(verification_to("hanako@example.jp")))
    newer = ConsentRecord.objects.exclude(registrant=purpose.registrant)
    assert "ニューアクメ" in newer.get(kind=ConsentKind.PROVISION).text
    assert newer.get(kind=ConsentKind.PURPOSE).text_hash == hashlib.sha256(new_text.encode()).hexdigest()
    # What was kept before did not change.
    assert ConsentRecord.objects.get(pk=provision.pk).text == provision.text


def test_a_text_changed_between_showing_and_posting_is_shown_again_not_recorded(
        client, api, company, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    message = reject(api, capture)
    path = link_path(message)
    _text, digest = shown(client.get(path).content.decode())
    company.name = "株式会社ニューアクメ"
    company.save()
    response = send_form(client, path, capture, digest)
    assert response.status_code == 409
    page = response.content.decode()
    assert "同意の文面が更新されました" in page and "株式会社ニューアクメ" in page
    assert 'id="consent_purpose" >' in page  # to be ticked again, for the new wording
    assert not RegistrationRequest.objects.exists()
    for missing in ("", "0" * 32):  # no digest, or a forged one: nothing either
        assert send_form(client, path, capture, missing).status_code == 409
    assert not RegistrationRequest.objects.exists()
    _text, current = shown(page)
    assert send_form(client, path, capture, current).status_code == 302


def test_the_ip_hash_is_keyed_stable_and_never_the_address():
    assert fraud.ip_hash(IP) == fraud.ip_hash(f" {IP} ") == fraud.ip_hash(f"::ffff:{IP}")
    assert fraud.ip_hash(IP) != fraud.ip_hash("203.0.113.46")
    assert IP not in fraud.ip_hash(IP) and "203" not in fraud.ip_hash(IP)
    assert fraud.ip_hash(IP) != hashlib.sha256(IP.encode()).hexdigest()[:32]  # keyed, not a bare hash
    assert fraud.ip_hash("2001:db8::1") == fraud.ip_hash("2001:0db8:0:0::1")
    assert fraud.ip_hash("not an address") == fraud.ip_hash("") == ""


# --- withdrawal -----------------------------------------------------------------------------------------

def consented_person(company):
    """A registrant with the registration's two consents, and one introduction waiting for their answer."""
    person = registrant()
    for kind, purpose in ((ConsentKind.PURPOSE, "career_support"), (ConsentKind.PROVISION, "provision_to_partners")):
        ConsentRecord.objects.create(registrant=person, kind=kind, version="v", text=f"{kind}の文面",
                                     text_hash=hashlib.sha256(f"{kind}の文面".encode()).hexdigest(),
                                     purpose=purpose, company=company, given_at=timezone.now())
    earn_slots(company, 1)
    referral = requests.file_request(company, requests.RequestForm(**REQUEST))
    introductions.propose(referral, person, recommendation="推薦します")
    return person


def test_withdrawal_is_idempotent_and_follows_through(make_company):
    company = make_company(referral_ratio=1)[0]
    person = consented_person(company)
    when = timezone.now()
    withdrawn = withdraw_consents(person, when=when, via="本人の設定ページ")
    assert sorted(record.kind for record in withdrawn) == ["provision", "purpose"]
    assert set(ConsentRecord.objects.values_list("withdrawn_at", "withdrawn_via")) == {(when, "本人の設定ページ")}
    person.refresh_from_db()
    assert person.status == RegistrantStatus.WITHDRAWN
    assert Introduction.objects.get().status == IntroductionStatus.WITHDRAWN
    notes = RegistrantNote.objects.filter(registrant=person).count()

    # Again: nothing is left to withdraw, and nothing changes (not even the time).
    assert withdraw_consents(person, when=timezone.now(), via="もう一度") == []
    assert set(ConsentRecord.objects.values_list("withdrawn_at", "withdrawn_via")) == {(when, "本人の設定ページ")}
    assert RegistrantNote.objects.filter(registrant=person).count() == notes


def test_withdrawing_only_the_provision_keeps_the_registrant_but_stops_waiting_introductions(make_company):
    company = make_company(referral_ratio=1)[0]
    person = consented_person(company)
    [record] = withdraw_consents(person, when=timezone.now(), via="電話", kinds=[ConsentKind.PROVISION])
    assert record.kind == ConsentKind.PROVISION
    person.refresh_from_db()
    assert person.status == RegistrantStatus.INTERVIEWED
    assert Introduction.objects.get().status == IntroductionStatus.WITHDRAWN
    assert ConsentRecord.objects.get(kind=ConsentKind.PURPOSE).withdrawn_at is None


@pytest.mark.parametrize("arguments", [{"via": ""}, {"via": "電話", "kinds": ["nonsense"]}, {"via": "電話", "kinds": []}])
def test_bad_withdrawals_change_nothing(make_company, arguments):
    person = consented_person(make_company(referral_ratio=1)[0])
    with pytest.raises(Exception, match="撤回|同意"):
        withdraw_consents(person, when=timezone.now(), **arguments)
    assert not ConsentRecord.objects.filter(withdrawn_at__isnull=False).exists()


def test_staff_withdraw_for_a_person_who_phoned_and_the_page_shows_it(make_company):
    company = make_company(referral_ratio=1)[0]
    person = consented_person(company)
    desk, staff = operator_client()
    page = desk.get(f"/console/operator/registrants/{person.pk}/").content.decode()
    record = ConsentRecord.objects.get(kind=ConsentKind.PURPOSE)
    assert record.text_hash in page and "career_support" in page and "purposeの文面" in page
    assert 'id="withdraw-form"' in page

    url = f"/console/operator/registrants/{person.pk}/withdraw-consents/"
    assert desk.post(url, {"kind": "all", "via": ""}).status_code == 400
    assert desk.post(url, {"kind": "unknown", "via": "電話"}).status_code == 400
    assert not ConsentRecord.objects.filter(withdrawn_at__isnull=False).exists()
    assert desk.get(url).status_code == 405
    assert desk.post("/console/operator/registrants/999999/withdraw-consents/",
                     {"kind": "all", "via": "電話"}).status_code == 404

    response = desk.post(url, {"kind": "all", "via": "12月1日 本人から電話"}, follow=True)
    assert "同意を2件撤回しました" in response.content.decode()
    record.refresh_from_db()
    assert record.withdrawn_at and staff.email in record.withdrawn_via and "本人から電話" in record.withdrawn_via
    note = RegistrantNote.objects.filter(registrant=person, text__startswith="同意を撤回しました").get()
    assert note.author == staff
    page = desk.get(f"/console/operator/registrants/{person.pk}/").content.decode()
    assert page.count("撤回済み") == 2 and 'id="withdraw-form"' not in page
    assert desk.post(url, {"kind": "all", "via": "again"}).status_code == 302  # nothing left: no change
    assert RegistrantNote.objects.filter(registrant=person, text__startswith="同意を撤回しました").count() == 1
