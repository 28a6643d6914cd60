"""The candidate's path: personal link, registration with consent, double opt-in, ledger."""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone

from tsunagu.lib import tokens
from tsunagu.messaging.models import Message, MessageKind
from tsunagu.relay.actions import ledger, registration
from tsunagu.relay.models import Click, LedgerEntry, Registration, RegistrationRequest
from tsunagu.relay.selectors import ledger_summary
from tsunagu.testing import application_body

pytestmark = pytest.mark.django_db


def reject(api, capture, external_id="A-1", email_address="yoshiko@example.jp"):
    with capture(execute=True):
        api.post("/api/v1/applications", application_body(external_id=external_id, email_address=email_address))
    return Message.objects.get(application__external_id=external_id, kind=MessageKind.REJECTION)


def link_path(message):
    return re.search(r"/r/[^\s]+", message.body_text).group(0)


def register(client, path, capture, **overrides):
    form = {"name": "髙橋 𠮷子", "email": "yoshiko@example.jp", "desired_job": "エンジニア",
            "desired_region": "東京都", "consent_purpose": "on", "consent_provision": "on", **overrides}
    with capture(execute=True):
        return client.post(path, form)


def verify_path(outbox_mail):
    return re.search(r"/r/verify/[^\s]+", outbox_mail.body).group(0)


def test_the_link_records_a_click_and_shows_the_consent_texts(client, api, django_capture_on_commit_callbacks):
    message = reject(api, django_capture_on_commit_callbacks)
    response = client.get(link_path(message))
    assert response.status_code == 200
    page = response.content.decode()
    assert "キャリアリレー" in page and "利用目的" in page or "利用します" in page
    assert 'name="consent_purpose"' in page and 'name="consent_provision"' in page
    assert Click.objects.filter(message=message).count() == 1
    client.head(link_path(message))
    assert Click.objects.count() == 1  # HEAD (link scanners) is not a click


@pytest.mark.parametrize("token", ["nonsense", "1.forged-signature", tokens.referral_token(999999)])
def test_forged_or_unknown_links_are_404(client, company, token):
    assert client.get(f"/r/{token}").status_code == 404


def test_a_link_cannot_be_moved_to_another_message(client, api, django_capture_on_commit_callbacks):
    first = reject(api, django_capture_on_commit_callbacks)
    value, signature = tokens.referral_token(first.pk).split(".")
    assert client.get(f"/r/{signature and tokens.referral_token(first.pk).replace(value, 'zz')}").status_code == 404


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


def test_double_opt_in_then_exactly_one_credit(client, api, company, django_capture_on_commit_callbacks):
    message = reject(api, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    response = register(client, link_path(message), django_capture_on_commit_callbacks)
    assert response.status_code == 302
    [verification] = mail.outbox
    assert verification.to == ["yoshiko@example.jp"]
    assert verification.message()["To"].encode() and verification.to_name == "髙橋 𠮷子"
    assert ledger_summary(company).credits == 0  # nothing counts before verification

    path = verify_path(verification)
    page = client.get(path)
    assert page.status_code == 200 and "登録を完了する" in page.content.decode()
    assert Registration.objects.count() == 0  # opening the link (or a mail scanner) registers nobody

    done = client.post(path)
    assert done.status_code == 200 and "ご登録が完了しました" in done.content.decode()
    assert client.post(path).status_code == 200  # a second press is harmless
    registration = Registration.objects.get()
    assert registration.name == "髙橋 𠮷子"
    assert registration.desired_region == "東京都"
    assert ledger_summary(company).credits == 1

    # The same candidate registering again through the same link earns nothing more.
    mail.outbox.clear()
    register(client, link_path(message), django_capture_on_commit_callbacks, email="other@example.jp")
    client.post(verify_path(mail.outbox[0]))
    assert ledger_summary(company).credits == 1
    assert Registration.objects.count() == 1
    assert client.get(link_path(message)).content.decode().count("すでに完了しています") == 1


def test_every_tenth_credit_earns_a_slot(client, api, company, django_capture_on_commit_callbacks):
    for index in range(21):
        message = reject(api, django_capture_on_commit_callbacks, external_id=f"A-{index}",
                         email_address=f"c{index}@example.jp")
        mail.outbox.clear()
        register(client, link_path(message), django_capture_on_commit_callbacks, email=f"c{index}@example.jp")
        client.post(verify_path(mail.outbox[0]))
    summary = ledger_summary(company)
    assert (summary.credits, summary.slots_earned, summary.slots_available, summary.credits_to_next_slot) == (21, 2, 2, 9)
    numbers = sorted(LedgerEntry.objects.filter(kind="credit").values_list("number", flat=True))
    assert numbers == list(range(1, 22))
    assert api.get("/api/v1/relay/ledger").json()["slots_earned"] == 2


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


def test_a_link_cannot_be_used_to_flood_someone_with_mail(client, api, django_capture_on_commit_callbacks):
    message = reject(api, django_capture_on_commit_callbacks)
    for _ in range(registration.MAX_REQUESTS_PER_LINK_PER_DAY):
        assert register(client, link_path(message), django_capture_on_commit_callbacks).status_code == 302
    assert register(client, link_path(message), django_capture_on_commit_callbacks).status_code == 400


def test_operator_redeems_a_slot_only_when_one_is_available(company):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        ledger.redeem_slot(company, note="紹介: 株式会社X")
    assert LedgerEntry.objects.count() == 0
