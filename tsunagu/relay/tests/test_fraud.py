"""Credits nobody can manufacture: a verified registration is credited at once only when the verified address is
the one the notice was delivered to and no fraud signal fires; otherwise it is held with its reasons. The
issue's fraud paths each end with no credit or a held one; a real candidate is credited at once."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db.models import F
from django.utils import timezone

from tsunagu.companies.actions import create_user
from tsunagu.messaging.models import EventKind, Message, MessageEvent
from tsunagu.relay import fraud
from tsunagu.relay.actions import review
from tsunagu.relay.models import CreditStatus, Registration, RegistrationRequest
from tsunagu.relay.selectors import ledger_summary
from tsunagu.relay.tests.candidate_path import (
    link_path,
    new_network,
    register,
    register_and_verify,
    reject,
    verification_to,
    verify_path,
)

pytestmark = pytest.mark.django_db

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/18.1 Mobile/15E148 Safari/604.1")


def submit(client, api, capture, index, *, email=None, registered_as=None, **options):
    """A candidate's notice delivered, then the form sent (not yet verified)."""
    email = email or f"c{index}@gmail.com"
    message = reject(api, capture, external_id=f"A-{index}", email_address=email,
                     delivered_ago=options.pop("delivered_ago", 120))
    response = register(client, link_path(message), capture, email=registered_as or email, name=f"候補者 {index}",
                        **options)
    assert response.status_code == 302, response.content.decode()[:1000]
    return registered_as or email


def verify(client, address):
    assert client.post(verify_path(verification_to(address))).status_code == 200
    return Registration.objects.filter(email=address).order_by("-pk").first()


def test_a_real_candidate_is_credited_at_once(client, api, company, django_capture_on_commit_callbacks):
    register_and_verify(client, api, django_capture_on_commit_callbacks, 1)
    registration = Registration.objects.get()
    assert (registration.credit_status, registration.reasons) == (CreditStatus.CREDITED, [])
    assert ledger_summary(company).credits == 1


def test_an_address_other_than_the_notified_one_is_held(client, api, company, django_capture_on_commit_callbacks):
    address = submit(client, api, django_capture_on_commit_callbacks, 1, registered_as="someone.else@gmail.com")
    registration = verify(client, address)
    assert (registration.credit_status, registration.reasons) == (CreditStatus.HELD, [fraud.ADDRESS_DIFFERS])
    summary = ledger_summary(company)
    assert (summary.credits, summary.credits_held) == (0, 1)
    # The operator finds it real: approved, it earns the credit then.
    review.approve(registration, reason="本人に電話で確認")
    assert ledger_summary(company).credits == 1


def test_a_disposable_address_is_held(client, api, django_capture_on_commit_callbacks):
    address = submit(client, api, django_capture_on_commit_callbacks, 1, email="throwaway@mailinator.com")
    registration = verify(client, address)
    assert (registration.credit_status, registration.reasons) == (CreditStatus.HELD, [fraud.DISPOSABLE_DOMAIN])


def test_an_address_on_the_companys_own_domain_is_held(client, api, company, django_capture_on_commit_callbacks):
    # The company's sender domain (recruit@acme.example) and its console users' domains are its own; a user on a
    # public mail service does not make that service the company's.
    create_user(email="hr@acme-group.co.jp", password="a-long-password", company=company)
    create_user(email="part-timer@gmail.com", password="a-long-password", company=company)
    first = verify(client, submit(client, api, django_capture_on_commit_callbacks, 1, email="fake1@acme.example"))
    second = verify(client, submit(client, api, django_capture_on_commit_callbacks, 2, email="fake2@acme-group.co.jp"))
    third = verify(client, submit(client, api, django_capture_on_commit_callbacks, 3, email="real3@gmail.com"))
    assert first.reasons == [fraud.COMPANY_DOMAIN] and second.reasons == [fraud.COMPANY_DOMAIN]
    assert third.credit_status == CreditStatus.CREDITED


def test_many_forms_from_one_network_for_one_company_are_held(client, api, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    # One office, three "candidates": the forms come from one /24 (different hosts in it).
    addresses = [submit(client, api, capture, index, ip=f"198.51.100.{index}") for index in (1, 2, 3)]
    held = [verify(client, address) for address in addresses]
    assert all(r.credit_status == CreditStatus.HELD and r.reasons == [fraud.NETWORK_BURST] for r in held)
    # Two people of one household stay below the threshold, and IPv6 counts by /64.
    pair = [submit(client, api, capture, index, ip=f"2001:db8:1:2::{index}") for index in (4, 5)]
    assert all(verify(client, address).credit_status == CreditStatus.CREDITED for address in pair)
    other = submit(client, api, capture, 6, ip="2001:db8:1:3::1")
    assert verify(client, other).credit_status == CreditStatus.CREDITED


def test_many_forms_from_one_browser_for_one_company_are_held(client, api, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    count = fraud.BROWSER_BURST_CANDIDATES
    addresses = [submit(client, api, capture, index, user_agent="FraudBot/1.0 (one laptop)")
                 for index in range(count)]
    assert all(verify(client, address).reasons == [fraud.BROWSER_BURST] for address in addresses)
    # Fewer than that with one common phone's User-Agent is ordinary.
    others = [submit(client, api, capture, 100 + index, user_agent=IPHONE) for index in range(count - 1)]
    assert all(verify(client, address).credit_status == CreditStatus.CREDITED for address in others)


def test_a_form_within_seconds_of_delivery_is_held(client, api, django_capture_on_commit_callbacks):
    address = submit(client, api, django_capture_on_commit_callbacks, 1, delivered_ago=0)
    assert verify(client, address).reasons == [fraud.QUICK_REGISTRATION]


def test_how_quick_is_too_quick_is_a_setting(client, api, django_capture_on_commit_callbacks, settings):
    settings.TSUNAGU_QUICK_REGISTRATION_SECONDS = 300
    held = submit(client, api, django_capture_on_commit_callbacks, 1, delivered_ago=120)
    assert verify(client, held).reasons == [fraud.QUICK_REGISTRATION]
    settings.TSUNAGU_QUICK_REGISTRATION_SECONDS = 0
    credited = submit(client, api, django_capture_on_commit_callbacks, 2, delivered_ago=0)
    assert verify(client, credited).credit_status == CreditStatus.CREDITED


def test_many_registrants_on_one_private_domain_are_held(client, api, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    count = fraud.SHARED_DOMAIN_CANDIDATES
    addresses = [submit(client, api, capture, index, email=f"p{index}@mint-slots.jp") for index in range(count)]
    assert all(verify(client, address).reasons == [fraud.SHARED_DOMAIN] for address in addresses)
    # Classmates at one university are ordinary in new-graduate hiring.
    students = [submit(client, api, capture, 50 + index, email=f"s{index}@g.ecc.u-tokyo.ac.jp")
                for index in range(count)]
    assert all(verify(client, address).credit_status == CreditStatus.CREDITED for address in students)


def test_a_notice_reported_bounced_before_verification_is_held(client, api, django_capture_on_commit_callbacks):
    address = submit(client, api, django_capture_on_commit_callbacks, 1)
    message = Message.objects.get(to_email=address, kind="rejection")
    MessageEvent.objects.create(company=message.company, message=message, kind=EventKind.BOUNCED,
                                occurred_at=timezone.now(), source="postmark")
    assert verify(client, address).reasons == [fraud.NOT_DELIVERED]


def test_a_company_minting_its_own_slots_earns_nothing(client, make_company, django_capture_on_commit_callbacks):
    """Issue 10's first path, with the mailbox the company does have: made-up candidates at its own domain, the
    notices delivered to it, all registered by one person in its office. Nothing is credited."""
    from tsunagu.testing import ApiClient

    capture = django_capture_on_commit_callbacks
    company, key = make_company(referral_ratio=10)
    api = ApiClient(key)
    office = "203.0.113."
    # All ten with one address: the first is held (not the notified address, the company's domain, ...), the
    # other nine are the same person again.
    for index in range(10):
        submit(client, api, capture, index, email=f"fake{index}@acme.example", registered_as="hr@acme.example",
               ip=f"{office}{index + 1}")
    for sent in [m for m in mail.outbox if m.to == ["hr@acme.example"] and "/r/verify/" in m.body]:
        assert client.post(verify_path(sent)).status_code == 200
    statuses = list(Registration.objects.filter(company=company).values_list("credit_status", flat=True))
    assert statuses.count(CreditStatus.HELD) == 1 and statuses.count(CreditStatus.DUPLICATE) == 9
    # Ten more, each with its own made-up address (from another network: one /24 may send ten forms in ten
    # minutes): every one held.
    for index in range(10, 20):
        submit(client, api, capture, index, email=f"fake{index}@acme.example", ip=f"203.0.114.{index}")
        verify(client, f"fake{index}@acme.example")
    summary = ledger_summary(company)
    assert (summary.credits, summary.slots_earned, summary.credits_held) == (0, 0, 11)


def test_the_network_and_browser_are_kept_only_as_keyed_hashes(client, api, django_capture_on_commit_callbacks):
    submit(client, api, django_capture_on_commit_callbacks, 1, ip="192.0.2.33", user_agent=IPHONE)
    request = RegistrationRequest.objects.get()
    assert request.network_hash == fraud.network_hash("192.0.2.200") != fraud.network_hash("192.0.3.33")
    assert request.browser_hash == fraud.browser_hash(IPHONE)
    stored = " ".join(str(value) for value in RegistrationRequest.objects.values().get().values())
    assert "192.0.2" not in stored and "iPhone" not in stored
    assert len(request.network_hash) == 32 and fraud.network_hash("not an address") == ""
    assert fraud.network_hash("::ffff:192.0.2.9") == request.network_hash  # IPv4 seen through IPv6


def test_person_key_folds_one_mailbox_into_one_key():
    same = ["Taro.Yamada@gmail.com", "taroyamada+jobs@googlemail.com", "ＴａｒｏＹａｍａｄａ@gmail.com"]
    assert len({fraud.person_key(address) for address in same}) == 1
    assert fraud.person_key("taro.yamada@example.jp") != fraud.person_key("taroyamada@example.jp")
    assert fraud.person_key("taro+x@example.jp") == "taro@example.jp"


def test_every_signal_has_a_japanese_label():
    assert set(fraud.SIGNALS) == {fraud.ADDRESS_DIFFERS, fraud.DISPOSABLE_DOMAIN, fraud.COMPANY_DOMAIN,
                                  fraud.NETWORK_BURST, fraud.BROWSER_BURST, fraud.QUICK_REGISTRATION,
                                  fraud.SHARED_DOMAIN, fraud.NOT_DELIVERED}
    assert all(not str(label).isascii() for label in fraud.SIGNALS.values())
    assert fraud.label("operator-note") == "operator-note"


def test_signals_look_at_requests_around_the_registration_only(client, api, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    first = submit(client, api, capture, 1, ip="198.51.100.1")
    second = submit(client, api, capture, 2, ip="198.51.100.2")
    # A third form from that network, but long after: the earlier two are not part of a burst with it.
    RegistrationRequest.objects.update(created_at=F("created_at") - timedelta(hours=3))
    Message.objects.filter(kind="rejection").update(sent_at=F("sent_at") - timedelta(hours=3))
    third = submit(client, api, capture, 3, ip="198.51.100.3")
    assert [verify(client, address).credit_status for address in (first, second, third)] == [
        CreditStatus.CREDITED] * 3
    assert new_network() != new_network()


def test_the_quick_registration_setting_reads_its_environment_variable(monkeypatch):
    from tsunagu import config

    monkeypatch.delenv("TSUNAGU_QUICK_REGISTRATION_SECONDS", raising=False)
    assert config.quick_registration_seconds() == 10
    monkeypatch.setenv("TSUNAGU_QUICK_REGISTRATION_SECONDS", "2")
    assert config.quick_registration_seconds() == 2
    for bad in ("ten", "-1", "86400"):
        monkeypatch.setenv("TSUNAGU_QUICK_REGISTRATION_SECONDS", bad)
        with pytest.raises(config.ConfigError):
            config.quick_registration_seconds()
