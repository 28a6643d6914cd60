"""The operator's desk: every page and action for operator staff only; the home and the contracts, the review
queue, the operator's identity. The registrants' pages are tested in test_desk_registrants.py."""

import pytest

from tsunagu.companies.actions import operator_party
from tsunagu.companies.models import ApiKey, Company, Role
from tsunagu.relay.models import (
    Contract,
    CreditStatus,
    LedgerEntry,
    LedgerKind,
    ReferralRequest,
    RegistrantNote,
    RegistrantStatus,
    Registration,
)
from tsunagu.relay.selectors import ledger_summary
from tsunagu.relay.tests.desk_factories import body, make_registration

pytestmark = pytest.mark.django_db




# --- who may use the desk -----------------------------------------------------------------------------

def desk_urls(acme):
    registration = make_registration(acme, status=CreditStatus.HELD, reasons=["address_differs"])
    registrant = registration.registrant
    gets = ["/console/operator/", f"/console/operator/companies/{acme.slug}/", "/console/operator/registrants/",
            "/console/operator/registrants.csv", f"/console/operator/registrants/{registrant.pk}/",
            "/console/operator/review/", "/console/operator/identity/"]
    posts = [
        (f"/console/operator/companies/{acme.slug}/contract/", {"ratio": "1", "fee_yen": "0"}),
        (f"/console/operator/companies/{acme.slug}/redeem/", {"note": "x"}),
        (f"/console/operator/registrants/{registrant.pk}/status/", {"status": "joined"}),
        (f"/console/operator/registrants/{registrant.pk}/notes/", {"text": "メモ"}),
        (f"/console/operator/registrants/{registrant.pk}/profile/", {"name": "別人", "phone": ""}),
        (f"/console/operator/registrations/{registration.pk}/approve/", {}),
        (f"/console/operator/registrations/{registration.pk}/void/", {"reason": "不正"}),
        (f"/console/operator/registrations/{registration.pk}/reverse/", {"reason": "不正"}),
        ("/console/operator/identity/", {"name": "乗っ取り"}),
        ("/console/operator/identity/api-keys/", {"label": "x"}),
    ]
    return registration, gets, posts


def unchanged(registration, acme):
    registration.refresh_from_db()
    registration.registrant.refresh_from_db()
    assert registration.credit_status == CreditStatus.HELD
    assert registration.registrant.status == RegistrantStatus.NEW
    assert RegistrantNote.objects.count() == 0
    assert ledger_summary(acme).ratio == 10
    assert not ApiKey.objects.filter(company__is_operator=True).exists()
    assert not Company.objects.filter(name="乗っ取り").exists()


@pytest.mark.parametrize("role", [Role.ADMIN, Role.VIEWER])
def test_a_company_user_is_refused_every_page_and_action(client, login, acme, role):
    registration, gets, posts = desk_urls(acme)
    login(acme, role)
    for url in gets:
        assert client.get(url).status_code == 403, url
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
        assert client.get(url).status_code == 403, url  # GET on an action is refused too, not just "405"
    unchanged(registration, acme)


def test_anonymous_users_are_sent_to_the_login_page(client, acme):
    registration, gets, posts = desk_urls(acme)
    for url in gets + [url for url, _data in posts]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/console/login/"), url
    for url, data in posts:
        response = client.post(url, data)
        assert response.status_code == 302 and response["Location"].startswith("/console/login/"), url
    unchanged(registration, acme)


def test_operator_staff_open_every_page(desk, acme):
    _registration, gets, _posts = desk_urls(acme)
    for url in gets:
        assert desk.get(url).status_code == 200, url


# --- the desk's home and the contracts ----------------------------------------------------------------

def test_home_lists_client_companies_with_their_contract_and_ledger_not_the_operator(desk, acme, make_company):
    other = make_company(slug="beta", name="ベータ株式会社")[0]
    for n in range(3):
        make_registration(acme, email=f"p{n}@example.jp")
    make_registration(acme, email="held@example.jp", status=CreditStatus.HELD)
    operator_party()
    page = body(desk.get("/console/operator/"))
    assert "株式会社アクメ" in page and "ベータ株式会社" in page
    assert operator_party().name not in page.split('id="contracts"')[1]
    assert '<div class="value">1</div>' in page.split('id="desk-held"')[1]  # one held registration to review
    assert '<div class="value">0</div>' in page.split('id="desk-requests"')[1]
    ReferralRequest.objects.create(company=other, title="経理")
    assert '<div class="value">1</div>' in body(desk.get("/console/operator/")).split('id="desk-requests"')[1]
    assert "ベータ" not in body(desk.get("/console/operator/", {"q": "アクメ"})).split('id="contracts"')[1]
    assert other.slug in body(desk.get("/console/operator/", {"q": "beta"}))


def test_the_contract_is_edited_on_the_company_page(desk, acme):
    page = body(desk.get("/console/operator/companies/acme/"))
    assert 'name="ratio"' in page and 'name="fee_yen"' in page and 'name="starts_on"' in page
    response = desk.post("/console/operator/companies/acme/contract/",
                         {"ratio": "3", "fee_yen": "800000", "starts_on": "2026-04-01"})
    assert response.status_code == 302
    contract = Contract.objects.get(company=acme)
    assert (contract.ratio, contract.fee_yen, str(contract.starts_on)) == (3, 800000, "2026-04-01")
    page = body(desk.get("/console/operator/"))
    assert "800,000円" in page and "2026-04-01" in page


@pytest.mark.parametrize("data", [{"ratio": "0", "fee_yen": "0"}, {"ratio": "abc", "fee_yen": "0"},
                                  {"ratio": "5", "fee_yen": "-1"}, {"ratio": "5", "fee_yen": "1",
                                                                    "starts_on": "2026-13-40"}])
def test_a_bad_contract_is_refused_and_changes_nothing(desk, acme, data):
    response = desk.post("/console/operator/companies/acme/contract/", data)
    assert response.status_code == 400
    assert 'class="errorlist"' in body(response)
    contract = Contract.objects.get(company=acme)
    assert (contract.ratio, contract.fee_yen, contract.starts_on) == (10, 0, None)


def test_the_operator_party_has_no_contract_page(desk):
    party = operator_party()
    assert desk.get(f"/console/operator/companies/{party.slug}/").status_code == 404
    assert desk.post(f"/console/operator/companies/{party.slug}/contract/", {"ratio": "1"}).status_code == 404
    assert not Contract.objects.filter(company=party).exists()


def test_a_slot_is_marked_used_only_when_one_is_available(desk, make_company):
    company = make_company(slug="tiny", referral_ratio=2)[0]
    response = desk.post("/console/operator/companies/tiny/redeem/", {"note": "電話で紹介"}, follow=True)
    assert "利用できる無料紹介枠がありません" in body(response)
    assert not LedgerEntry.objects.filter(kind=LedgerKind.SLOT_REDEEMED).exists()
    make_registration(company, email="a@example.jp")
    make_registration(company, email="b@example.jp")
    assert ledger_summary(company).slots_available == 1
    response = desk.post("/console/operator/companies/tiny/redeem/", {"note": "電話で紹介"}, follow=True)
    assert "無料紹介枠を1つ利用済みにしました" in body(response)
    entry = LedgerEntry.objects.get(kind=LedgerKind.SLOT_REDEEMED)
    assert entry.note == "電話で紹介" and entry.created_by.email == "advisor@relay.example"
    assert ledger_summary(company).slots_available == 0


# --- the review queue ------------------------------------------------------------------------------------

def test_the_queue_shows_held_registrations_with_their_reasons_in_words(desk, acme):
    make_registration(acme, email="h@example.jp", status=CreditStatus.HELD,
                      reasons=["some_new_signal", "本人確認が必要"])
    make_registration(acme, email="c@example.jp", name="山田 太郎")
    page = body(desk.get("/console/operator/review/"))
    queue = page.split('id="review-queue"')[1]
    assert "髙橋 𠮷子" in queue and "山田 太郎" not in queue
    assert "some_new_signal" in queue and "本人確認が必要" in queue  # no label known: the code itself
    assert "確認待ち (1)" in page and "クレジット付与 (1)" in page
    credited = body(desk.get("/console/operator/review/", {"status": "credited"})).split('id="review-queue"')[1]
    assert "山田 太郎" in credited and "クレジットを取り消す" in credited


def test_known_fraud_signals_are_shown_by_their_label(desk, acme):
    from tsunagu.relay import fraud

    make_registration(acme, email="h@example.jp", status=CreditStatus.HELD,
                      reasons=[fraud.ADDRESS_DIFFERS, fraud.DISPOSABLE_DOMAIN])
    queue = body(desk.get("/console/operator/review/")).split('id="review-queue"')[1]
    assert str(fraud.SIGNALS[fraud.ADDRESS_DIFFERS]) in queue
    assert str(fraud.SIGNALS[fraud.DISPOSABLE_DOMAIN]) in queue


def test_approve_credits_the_company(desk, acme):
    held = make_registration(acme, email="h@example.jp", status=CreditStatus.HELD, reasons=["x"])
    response = desk.post(f"/console/operator/registrations/{held.pk}/approve/", {"next": "/console/operator/review/"})
    assert response.status_code == 302 and response["Location"] == "/console/operator/review/"
    held.refresh_from_db()
    assert held.credit_status == CreditStatus.CREDITED and held.reviewed_by.email == "advisor@relay.example"
    assert ledger_summary(acme).credits == 1
    again = desk.post(f"/console/operator/registrations/{held.pk}/approve/", follow=True)
    assert "確認待ちの登録だけを承認できます" in body(again)
    assert LedgerEntry.objects.filter(kind=LedgerKind.CREDIT).count() == 1


def test_approving_a_person_credited_elsewhere_earns_nothing(desk, acme, make_company):
    beta = make_company(slug="beta", name="ベータ株式会社")[0]
    make_registration(beta, email="h@example.jp")
    held = make_registration(acme, email="h@example.jp", status=CreditStatus.HELD, reasons=["x"])
    response = desk.post(f"/console/operator/registrations/{held.pk}/approve/", follow=True)
    assert "重複として記録しました" in body(response)
    held.refresh_from_db()
    assert held.credit_status == CreditStatus.DUPLICATE and ledger_summary(acme).credits == 0


def test_void_needs_a_reason(desk, acme):
    held = make_registration(acme, email="h@example.jp", status=CreditStatus.HELD, reasons=["x"])
    response = desk.post(f"/console/operator/registrations/{held.pk}/void/", {"reason": "  "}, follow=True)
    assert "理由を入力してください" in body(response)
    held.refresh_from_db()
    assert held.credit_status == CreditStatus.HELD and held.reviewed_at is None
    desk.post(f"/console/operator/registrations/{held.pk}/void/", {"reason": "同じ端末から大量の登録"})
    held.refresh_from_db()
    assert (held.credit_status, held.review_note) == (CreditStatus.VOIDED, "同じ端末から大量の登録")
    assert not LedgerEntry.objects.exists()


def test_a_credit_is_reversed_with_a_reason_as_a_new_ledger_entry(desk, make_company):
    company = make_company(slug="tiny", referral_ratio=2)[0]
    first = make_registration(company, email="a@example.jp")
    make_registration(company, email="b@example.jp")
    assert ledger_summary(company).slots_earned == 1
    response = desk.post(f"/console/operator/registrations/{first.pk}/reverse/", {"reason": ""}, follow=True)
    assert "理由を入力してください" in body(response) and ledger_summary(company).credits == 2
    desk.post(f"/console/operator/registrations/{first.pk}/reverse/",
              {"reason": "会社の従業員による登録", "next": f"/console/operator/registrants/{first.registrant_id}/"})
    first.refresh_from_db()
    summary = ledger_summary(company)
    assert first.credit_status == CreditStatus.VOIDED
    assert (summary.credits, summary.slots_earned) == (1, 0)  # the slot it completed is revoked
    assert LedgerEntry.objects.filter(kind=LedgerKind.CREDIT).count() == 2  # nothing deleted
    reversal = LedgerEntry.objects.get(kind=LedgerKind.CREDIT_REVERSED)
    assert reversal.note == "会社の従業員による登録" and reversal.created_by.email == "advisor@relay.example"


def test_next_never_leaves_the_site(desk, acme):
    held = make_registration(acme, email="h@example.jp", status=CreditStatus.HELD)
    response = desk.post(f"/console/operator/registrations/{held.pk}/approve/", {"next": "https://evil.example/"})
    assert response["Location"] == "/console/operator/review/"


def test_unknown_registrations_are_404(desk):
    for action in ("approve", "void", "reverse"):
        assert desk.post(f"/console/operator/registrations/999999/{action}/", {"reason": "x"}).status_code == 404
    assert not Registration.objects.exists()


# --- the operator's identity ---------------------------------------------------------------------------------

IDENTITY = {"name": "株式会社キャリアリレー", "service_name": "キャリアリレー", "licence_number": "13-ユ-300000",
            "sender_name": "キャリアリレー事務局", "sender_email": "support@relay.example",
            "reply_to": "desk@relay.example", "postal_address": "東京都千代田区丸の内1-1-1",
            "signature": "キャリアリレー事務局", "privacy_policy": "https://relay.example/privacy",
            "retention_days": 730, "access_log_retention_days": 1825, "dkim_selector": "", "dkim_private_key": ""}


def test_the_identity_is_saved(desk):
    page = body(desk.get("/console/operator/identity/"))
    assert 'id="identity-warning"' in page  # no licence number yet
    response = desk.post("/console/operator/identity/", IDENTITY)
    assert response.status_code == 302
    party = operator_party()
    assert (party.name, party.licence_number, party.sender_email, party.postal_address) == (
        "株式会社キャリアリレー", "13-ユ-300000", "support@relay.example", "東京都千代田区丸の内1-1-1")
    assert party.retention_days == 730  # the registrants' retention (privacy.actions.retention)
    assert party.is_operator and Company.objects.filter(is_operator=True).count() == 1
    assert 'id="identity-warning"' not in body(desk.get("/console/operator/identity/"))


@pytest.mark.parametrize("field, value", [("sender_email", "not-an-address"), ("name", ""),
                                          ("licence_number", "x" * 51), ("dkim_selector", "sel")])
def test_a_bad_identity_shows_the_error_and_saves_nothing(desk, field, value):
    before = operator_party()
    response = desk.post("/console/operator/identity/", {**IDENTITY, field: value})
    assert response.status_code == 400 and 'class="errorlist"' in body(response)
    after = Company.objects.get(pk=before.pk)
    assert (after.name, after.licence_number, after.sender_email) == (before.name, "", before.sender_email)


def test_operator_api_keys_are_shown_once_and_can_be_revoked(desk):
    response = desk.post("/console/operator/identity/api-keys/", {"label": "CRM"}, follow=True)
    key = body(response).split('id="new-api-key">')[1].split("<")[0]
    assert key.startswith("tsu_")
    assert key not in body(desk.get("/console/operator/identity/"))
    from tsunagu.testing import ApiClient

    assert ApiClient(key).get("/api/v1/operator/registrants").status_code == 200
    stored = ApiKey.objects.get(label="CRM")
    assert stored.company.is_operator
    desk.post(f"/console/operator/identity/api-keys/{stored.pk}/revoke/")
    assert ApiClient(key).get("/api/v1/operator/registrants").status_code == 401
