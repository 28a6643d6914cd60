"""The candidate's path: personal link, registration with consent, double opt-in by the operator's mail,
one registrant per person, the ledger."""

from datetime import timedelta
from email.header import decode_header, make_header
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone

from tsunagu.companies.actions import operator_party
from tsunagu.lib import tokens
from tsunagu.messaging.models import Message, MessageKind
from tsunagu.relay.actions import ledger
from tsunagu.relay.models import (
    Click,
    ConsentRecord,
    CreditStatus,
    LedgerEntry,
    Registrant,
    Registration,
    RegistrationRequest,
)
from tsunagu.relay.selectors import ledger_summary
from tsunagu.relay.tests.candidate_path import (
    link_path,
    register,
    register_and_verify,
    reject,
    verification_to,
    verify_path,
)
from tsunagu.testing import ApiClient

pytestmark = pytest.mark.django_db


def test_the_link_records_a_click_and_shows_the_consent_texts(client, api, django_capture_on_commit_callbacks):
    message = reject(api, django_capture_on_commit_callbacks)
    response = client.get(link_path(message))
    assert response.status_code == 200
    page = response.content.decode()
    assert "キャリアリレー" in page and "利用します" in page
    assert 'name="consent_purpose"' in page and 'name="consent_provision"' in page
    # Whoever opens a forwarded link sees neither the candidate's address nor their name.
    assert "yoshiko@example.jp" not in page and "髙橋" not in page
    assert Click.objects.filter(message=message).count() == 1
    client.head(link_path(message))
    assert Click.objects.count() == 1  # HEAD (link scanners) is not a click


@pytest.mark.parametrize("token", ["nonsense", "1.forged-signature", tokens.referral_token(999999)])
def test_forged_or_unknown_links_are_404(client, company, token):
    assert client.get(f"/r/{token}").status_code == 404


def test_a_link_cannot_be_moved_to_another_message(client, api, django_capture_on_commit_callbacks):
    first = reject(api, django_capture_on_commit_callbacks)
    value, _signature = tokens.referral_token(first.pk).split(".")
    assert client.get(f"/r/{tokens.referral_token(first.pk).replace(value, 'zz')}").status_code == 404


def test_registration_needs_both_consents_and_changes_nothing_without_them(client, api,
                                                                            django_capture_on_commit_callbacks):
    message = reject(api, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    response = register(client, link_path(message), django_capture_on_commit_callbacks, consent_provision="")
    assert response.status_code == 400
    assert "提携企業への情報提供への同意が必要です" in response.content.decode()
    response = register(client, link_path(message), django_capture_on_commit_callbacks, email="not-an-email")
    assert response.status_code == 400
    assert RegistrationRequest.objects.count() == 0 and mail.outbox == []


def test_double_opt_in_by_the_operators_mail_then_exactly_one_credit(client, api, company,
                                                                      django_capture_on_commit_callbacks):
    message = reject(api, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    response = register(client, link_path(message), django_capture_on_commit_callbacks)
    assert response.status_code == 302
    [verification] = mail.outbox
    assert verification.to == ["yoshiko@example.jp"]
    assert verification.to_name == "髙橋 𠮷子"
    # The operator's mail, not the company's: planned for the operator's party, from the operator.
    planned = Message.objects.get(kind=MessageKind.VERIFICATION)
    assert planned.company == operator_party()
    sender = str(make_header(decode_header(verification.message()["From"])))
    assert "キャリアリレー" in sender and "アクメ" not in sender
    assert "株式会社アクメ" in verification.body  # through whose notice the person came
    assert ledger_summary(company).credits == 0  # nothing counts before verification

    path = verify_path(verification)
    page = client.get(path)
    assert page.status_code == 200 and "登録を完了する" in page.content.decode()
    assert Registration.objects.count() == 0  # opening the link (or a mail scanner) registers nobody

    done = client.post(path)
    assert done.status_code == 200 and "ご登録が完了しました" in done.content.decode()
    assert client.post(path).status_code == 200  # a second press is harmless
    registration = Registration.objects.get()
    assert (registration.name, registration.desired_region) == ("髙橋 𠮷子", "東京都")
    assert (registration.credit_status, registration.reasons) == (CreditStatus.CREDITED, [])
    assert ledger_summary(company).credits == 1
    # The consents word for word, as the page showed them.
    consents = ConsentRecord.objects.filter(registrant=registration.registrant)
    assert sorted(consents.values_list("kind", flat=True)) == ["provision", "purpose"]
    assert all("キャリアリレー運営事務局" in consent.text for consent in consents)

    # The same candidate registering again through the same link earns nothing more.
    mail.outbox.clear()
    register(client, link_path(message), django_capture_on_commit_callbacks)
    client.post(verify_path(mail.outbox[0]))
    assert ledger_summary(company).credits == 1
    assert Registration.objects.count() == 1
    assert client.get(link_path(message)).content.decode().count("すでに完了しています") == 1


def test_one_person_across_companies_earns_one_credit_for_the_first(client, make_company,
                                                                   django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    first, first_key = make_company(slug="first", name="株式会社ファースト")
    second, second_key = make_company(slug="second", name="株式会社セカンド")
    register_and_verify(client, ApiClient(first_key), capture, 1, email="taro.yamada@gmail.com")
    # The same mailbox, written another way (case, a +tag, Gmail's dots), through another company's notice.
    message = reject(ApiClient(second_key), capture, external_id="B-1", email_address="Taro.Yamada@gmail.com")
    register(client, link_path(message), capture, email="TaroYamada+jobs@googlemail.com",
             name="山田 太郎")
    client.post(verify_path(verification_to("TaroYamada+jobs@googlemail.com")))
    assert Registrant.objects.count() == 1
    assert Registration.objects.get(company=second).credit_status == CreditStatus.DUPLICATE
    assert (ledger_summary(first).credits, ledger_summary(second).credits) == (1, 0)
    assert Registrant.objects.get().first_company == first


def test_one_phone_number_is_one_person_whatever_the_address(client, make_company,
                                                             django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    first, first_key = make_company(slug="first", name="株式会社ファースト")
    second, second_key = make_company(slug="second", name="株式会社セカンド")
    register_and_verify(client, ApiClient(first_key), capture, 1, email="hanako@gmail.com", phone="090-1234-5678")
    # Another mailbox, the same number written another way, through another company's notice.
    message = reject(ApiClient(second_key), capture, external_id="B-1", email_address="h.sato@example.co.jp")
    register(client, link_path(message), capture, email="h.sato@example.co.jp", phone="+81 90 1234 5678")
    client.post(verify_path(verification_to("h.sato@example.co.jp")))
    assert Registrant.objects.count() == 1 and Registrant.objects.get().phone_e164 == "+819012345678"
    assert Registration.objects.get(company=second).credit_status == CreditStatus.DUPLICATE
    assert (ledger_summary(first).credits, ledger_summary(second).credits) == (1, 0)


def test_a_phone_number_that_is_not_one_is_refused_and_nothing_is_stored(client, api,
                                                                         django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    message = reject(api, capture)
    response = register(client, link_path(message), capture, phone="電話はありません")
    assert response.status_code == 400 and "電話番号の形式が正しくありません" in response.content.decode()
    assert not RegistrationRequest.objects.exists()


def test_every_tenth_credit_earns_a_slot(client, api, company, django_capture_on_commit_callbacks):
    for index in range(21):
        register_and_verify(client, api, django_capture_on_commit_callbacks, index)
    summary = ledger_summary(company)
    assert (summary.credits, summary.slots_earned, summary.slots_available, summary.credits_to_next_slot) == (21, 2, 2, 9)
    numbers = sorted(LedgerEntry.objects.filter(kind="credit").values_list("number", flat=True))
    assert numbers == list(range(1, 22))
    ledger_json = api.get("/api/v1/relay/ledger").json()
    assert (ledger_json["slots_earned"], ledger_json["credits_held"], ledger_json["ratio"]) == (2, 0, 10)


def test_expired_verification_link_is_refused(client, api, django_capture_on_commit_callbacks):
    message = reject(api, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    register(client, link_path(message), django_capture_on_commit_callbacks)
    path = verify_path(mail.outbox[0])
    later = timezone.now() + timedelta(days=8)
    with mock.patch("time.time", return_value=later.timestamp()):
        response = client.post(path)
    assert response.status_code == 410
    assert Registration.objects.count() == 0


def test_operator_redeems_a_slot_only_when_one_is_available(company):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        ledger.redeem_slot(company, note="紹介: 株式会社X")
    assert LedgerEntry.objects.count() == 0
