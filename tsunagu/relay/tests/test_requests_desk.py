"""The operator's side of referral requests: staff only, on every page and method; a company's user, an
anonymous visitor and a company's API key get nothing and change nothing."""

import pytest

from tsunagu.companies.models import Role
from tsunagu.relay.actions import requests
from tsunagu.relay.models import Introduction, IntroductionStatus, RequestStatus
from tsunagu.relay.tests.referrals import REQUEST, company_client, earn_slots, operator_client, registrant
from tsunagu.testing import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def referral(make_company):
    company, key = make_company(referral_ratio=1)
    earn_slots(company, 1)
    return requests.file_request(company, requests.RequestForm(**REQUEST)), key


def desk_urls(referral_id, introduction_id):
    return {
        "get": ["/console/operator/requests/", f"/console/operator/requests/{referral_id}/",
                f"/console/operator/requests/{referral_id}/?q=hanako"],
        "post": [f"/console/operator/requests/{referral_id}/propose/",
                 f"/console/operator/requests/introductions/{introduction_id}/withdraw/"],
    }


def test_only_operator_staff_use_the_desk(referral, client):
    referral, key = referral
    person = registrant()
    waiting = Introduction.objects.create(request=referral, registrant=registrant("w@example.jp"),
                                          status=IntroductionStatus.CONSENT_REQUESTED)
    urls = desk_urls(referral.pk, waiting.pk)
    admin = company_client(referral.company, Role.ADMIN)
    key_holder = ApiClient(key).client
    for path in urls["get"]:
        assert admin.get(path).status_code == 403
        anonymous = client.get(path)
        assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
        assert key_holder.get(path, headers={"Authorization": f"Bearer {key}"}).status_code == 302
    for path in urls["post"]:
        data = {"registrant": person.pk, "recommendation": "x"}
        assert admin.post(path, data).status_code == 403
        assert client.post(path, data).status_code == 302
        assert key_holder.post(path, data, headers={"Authorization": f"Bearer {key}"}).status_code == 302
        assert admin.get(path).status_code in (403, 405)
    assert Introduction.objects.count() == 1
    waiting.refresh_from_db()
    assert waiting.status == IntroductionStatus.CONSENT_REQUESTED

    desk, _staff = operator_client()
    for path in urls["get"]:
        assert desk.get(path).status_code == 200
    assert desk.get("/console/operator/requests/999999/").status_code == 404


def test_the_desk_lists_requests_by_status(referral, make_company):
    referral, _key = referral
    other, _ = make_company(slug="other", name="株式会社ほか", referral_ratio=1)
    earn_slots(other, 1)
    closed = requests.file_request(other, requests.RequestForm(**{**REQUEST, "title": "経理担当"}))
    requests.close_request(closed)
    desk, _staff = operator_client()
    page = desk.get("/console/operator/requests/").content.decode()
    assert "法人営業" in page and "経理担当" not in page  # open ones by default
    page = desk.get("/console/operator/requests/", {"status": RequestStatus.CLOSED}).content.decode()
    assert "経理担当" in page and "法人営業" not in page
    page = desk.get("/console/operator/requests/", {"status": "all"}).content.decode()
    assert "経理担当" in page and "法人営業" in page


def test_proposing_needs_a_registrant(referral):
    referral, _key = referral
    desk, _staff = operator_client()
    for value in ("", "abc", "999999"):
        page = desk.post(f"/console/operator/requests/{referral.pk}/propose/", {"registrant": value},
                         follow=True).content.decode()
        assert "推薦する登録者を選んでください" in page
    assert not Introduction.objects.exists()
