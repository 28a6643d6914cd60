"""The person's requests in a real Chromium: from a notice's preference page on a phone, see the data (through
the mailed link), download it, correct it, stop its use and ask for deletion, confirmed from the mailed link;
and HR filing a request a caller made by phone, seeing its due date and carrying it out."""

from __future__ import annotations

import json
import re

import pytest

from tsunagu.companies import actions
from tsunagu.companies.models import Role
from tsunagu.messaging import unsubscribe
from tsunagu.messaging.models import Message, MessageKind
from tsunagu.privacy.models import PrivacyRequest, RequestStatus
from tsunagu.privacy.tests.test_erasure import OPERATORS_RECORD, traces_of
from tsunagu.talent.models import Candidate
from tsunagu.testing import PHONE, ApiClient, application_body

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAME, EMAIL = "髙橋 𠮷子", "yoshiko@example.jp"


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_on_a_phone_the_person_sees_downloads_corrects_and_deletes(make_company, live_server, new_page):
    company, key = make_company()
    ApiClient(key).post("/api/v1/applications", application_body())
    notice = Message.objects.get(kind=MessageKind.REJECTION)
    preferences = live_server.url + "/u/" + unsubscribe.unsubscribe_url(notice.pk).rsplit("/u/", 1)[1] + "/preferences"

    page = new_page(PHONE)
    page.goto(preferences)
    page.click("#my-data")
    page.wait_for_selector("#ask-access")
    assert NAME not in page.content(), "the link in a mail shows no data by itself"
    page.click("#ask-access")
    page.wait_for_selector("#done")
    mailed = Message.objects.get(kind=MessageKind.PRIVACY, to_email=EMAIL)
    page.goto(live_server.url + re.search(r"/privacy/data/\S+/", mailed.body_text).group(0))
    page.wait_for_selector("#held")
    assert NAME in page.text_content("#held") and EMAIL in page.text_content("#held")
    assert fits_the_screen(page)

    with page.expect_download() as download:
        page.click("#download")
    data = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert data["person"]["email"] == EMAIL and data["applications"][0]["job_title"] == "バックエンドエンジニア"

    page.fill("#correct-name", "高橋 良子")
    page.click("#correct button[type=submit]")
    page.wait_for_selector("#done")
    assert Candidate.objects.get().name == "高橋 良子"

    page.goto(preferences)
    page.click("#my-data")
    page.click("#stop")
    page.wait_for_selector("#done")
    assert "利用を停止しました" in page.text_content("#done")
    assert Candidate.objects.get().contact_allowed is False
    page.click("#ask-delete")
    page.wait_for_selector("#done")
    assert "確認のメール" in page.text_content("#done")
    assert Candidate.objects.get().erased_at is None
    mail = Message.objects.get(kind=MessageKind.PRIVACY, body_text__contains="/privacy/confirm/")
    link = re.search(r"/privacy/confirm/\S+/", mail.body_text).group(0)

    page.goto(live_server.url + link)
    assert fits_the_screen(page)
    page.click("#confirm")
    page.wait_for_selector("#done")
    assert Candidate.objects.get().erased_at is not None
    assert traces_of(["高橋 良子", EMAIL, "090-1234-5678"], outside=OPERATORS_RECORD) == []
    page.goto(preferences.rsplit("/u/", 1)[0] + "/privacy/m/" + preferences.rsplit("/u/", 1)[1].split("/")[0] + "/")
    assert "削除されています" in page.text_content("#erased")


def test_hr_files_a_phone_request_sees_its_due_date_and_carries_it_out(make_company, live_server, new_page):
    company, key = make_company()
    ApiClient(key).post("/api/v1/applications", application_body())
    candidate = Candidate.objects.get()
    actions.create_user(email="hr@acme.example", password="a-long-password", company=company, role=Role.ADMIN)

    page = new_page()
    page.goto(live_server.url + "/console/")
    page.fill("#id_username", "hr@acme.example")
    page.fill("#id_password", "a-long-password")
    page.click("button[type=submit]")
    page.goto(live_server.url + f"/console/candidates/{candidate.pk}/")
    page.click("#file-privacy-request")
    assert page.input_value("#subject") == str(candidate.pk)
    page.select_option("#kind", "delete")
    page.select_option("#channel", "phone")
    page.fill("#note", "本人から電話。生年月日で本人確認済み。")
    page.click("form.panel button[type=submit]")
    page.wait_for_selector("#request")
    request = PrivacyRequest.objects.get()
    assert request.due_on.isoformat() in page.text_content("#due")

    page.click("#carry-out")  # without the confirmation tick: refused, nothing erased
    page.wait_for_selector("text=確認のチェックを入れてください")
    assert Candidate.objects.get().erased_at is None
    page.check("#confirm")
    page.click("#carry-out")
    page.wait_for_selector("text=対応済みにしました")
    assert PrivacyRequest.objects.get().status == RequestStatus.DONE
    assert Candidate.objects.get().erased_at is not None
    page.click("#nav-privacy")
    assert "(削除済み)" in page.text_content("#requests")
    assert "担当者による削除" in page.text_content("#erasures")
