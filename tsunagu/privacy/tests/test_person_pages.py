"""The person's own pages, reached from the link in every mail: stop all use at once; see, download and correct
what is held, and ask for deletion, through links mailed to the address on record (an old or forwarded mail
opens nobody's data)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from tsunagu.companies.actions import operator_party
from tsunagu.companies.models import AccessLog
from tsunagu.lib.tokens import registrant_privacy_token
from tsunagu.messaging.actions.delivery import deliver_due_messages
from tsunagu.messaging.models import CapturedMail, Message, MessageKind, MessageStatus
from tsunagu.messaging.selectors import suppression_for
from tsunagu.messaging.unsubscribe import unsubscribe_token
from tsunagu.privacy.models import Erasure, PrivacyRequest, RequestKind, RequestStatus
from tsunagu.privacy.tests.people import EMAIL, NAME, PHONE, known_in_every_way
from tsunagu.privacy.tests.test_erasure import OPERATORS_RECORD, traces_of
from tsunagu.relay.models import Registrant
from tsunagu.talent.models import Candidate

pytestmark = pytest.mark.django_db


def page_of(person) -> str:
    return f"/privacy/m/{unsubscribe_token(person.notice.pk)}/"


def mailed_link(kind: str) -> str:
    """The path of the latest privacy mail's link of this kind ("confirm" or "data")."""
    mail = Message.objects.filter(kind=MessageKind.PRIVACY, body_text__contains=f"/privacy/{kind}/").latest("pk")
    return re.search(rf"/privacy/{kind}/\S+/", mail.body_text).group(0)


def confirmation_link() -> str:
    return mailed_link("confirm")


def data_link(visitor: Client, person) -> str:
    """Ask for the data on the entry page; the link mailed to the address on record."""
    assert "確認用のリンク" in visitor.post(page_of(person), {"action": "access"}).content.decode()
    return mailed_link("data")


def test_the_page_shows_what_is_held_and_the_download_holds_all_of_it(company, client):
    person = known_in_every_way(company, client)
    visitor = Client()

    entry = visitor.get(page_of(person))
    assert entry.status_code == 200 and entry["Referrer-Policy"] == "strict-origin"
    assert NAME not in entry.content.decode() and EMAIL not in entry.content.decode(), "a forwarded mail shows nothing"
    assert "y" + "•" * 15 + "i@example.jp" in entry.content.decode()  # yoshiko.takahashi, masked

    link = data_link(visitor, person)
    assert Message.objects.filter(kind=MessageKind.PRIVACY, to_email=EMAIL).count() == 1
    data_link(visitor, person)  # pressed again: still one mail
    assert Message.objects.filter(kind=MessageKind.PRIVACY).count() == 1
    page = Client().get(link)
    text = page.content.decode()
    assert page.status_code == 200
    assert NAME in text and EMAIL in text and "バックエンドエンジニア" in text and "保存期限" in text
    assert PrivacyRequest.objects.get(kind=RequestKind.EXPORT).status == RequestStatus.DONE

    download = visitor.get(link + "my-data.json")
    data = json.loads(download.content)
    assert download["Content-Disposition"].startswith("attachment")
    assert data["person"]["phone"] == PHONE
    assert [a["external_id"] for a in data["applications"]] == ["7001", "7003"]
    assert data["messages"][0]["to"] == EMAIL
    assert data["registration"]["what_the_company_knows"]
    assert [r["name"] for r in data["recipients"]][0] == company.name
    assert list(AccessLog.objects.filter(channel="person").order_by("pk").values_list("action", "subject_id")) == [
        ("view", person.candidate.pk), ("export", person.candidate.pk)]


def test_forged_tokens_answer_404_and_show_nothing(company, client):
    person = known_in_every_way(company, client)
    token = unsubscribe_token(person.notice.pk)
    for bad in (token[:-2] + "xx", "abc", "0." + token.split(".")[1], "x" * 5000):
        response = Client().get(f"/privacy/m/{bad}/")
        assert response.status_code == 404 and NAME not in response.content.decode()
        assert Client().get(f"/privacy/data/{bad}/").status_code == 404
        assert Client().get(f"/privacy/data/{bad}/my-data.json").status_code == 404
    assert Client().get("/privacy/p/forged/").status_code == 404
    assert Client().get("/privacy/confirm/forged/").status_code == 404
    assert Client().get("/privacy/stay/forged/").status_code == 404


def test_the_data_link_expires_after_a_day(company, client):
    person = known_in_every_way(company, client)
    link = data_link(Client(), person)
    later = timezone.now() + timedelta(days=1, minutes=1)
    with mock.patch("time.time", return_value=later.timestamp()):
        expired = Client().get(link)
        download = Client().get(link + "my-data.json")
    assert expired.status_code == 410 and NAME not in expired.content.decode()
    assert download.status_code == 410


def test_the_person_corrects_their_name_and_phone(company, client):
    person = known_in_every_way(company, client)
    visitor = Client()
    link = data_link(visitor, person)

    response = visitor.post(link, {"name": "高橋 良子", "name_kana": "タカハシ ヨシコ", "phone": "03-1234-5678"})
    assert response.status_code == 200 and "訂正しました" in response.content.decode()
    candidate = Candidate.objects.get(pk=person.candidate.pk)
    assert (candidate.name, candidate.phone_e164) == ("高橋 良子", "+81312345678")
    assert PrivacyRequest.objects.get(kind=RequestKind.CORRECT).status == RequestStatus.DONE

    bad = visitor.post(link, {"name": "", "phone": "not a phone"})
    assert bad.status_code == 400
    assert Candidate.objects.get(pk=person.candidate.pk).name == "高橋 良子"


def test_stopping_use_stops_all_mail_and_contact(company, client):
    person = known_in_every_way(company, client)
    response = Client().post(page_of(person), {"action": "stop"})
    assert response.status_code == 200 and "利用を停止しました" in response.content.decode()
    candidate = Candidate.objects.get(pk=person.candidate.pk)
    assert candidate.contact_allowed is False
    assert suppression_for(company, EMAIL) is not None
    assert PrivacyRequest.objects.get(kind=RequestKind.STOP).status == RequestStatus.DONE


def test_deletion_is_carried_out_only_by_the_mailed_link(company, client):
    person = known_in_every_way(company, client)
    visitor = Client()

    asked = visitor.post(page_of(person), {"action": "delete", "suppress_mail": "on", "include_relay": "on"})
    assert "確認のメール" in asked.content.decode()
    assert Candidate.objects.get(pk=person.candidate.pk).erased_at is None, "nothing goes before the confirmation"
    visitor.post(page_of(person), {"action": "delete", "suppress_mail": "on"})  # pressed twice: one mail
    assert Message.objects.filter(kind=MessageKind.PRIVACY).count() == 1
    deliver_due_messages()
    confirmation = Message.objects.get(kind=MessageKind.PRIVACY)
    assert confirmation.status == MessageStatus.SENT and confirmation.to_email == EMAIL

    link = confirmation_link()
    shown = Client().get(link)  # a mail scanner opening the link deletes nothing
    assert shown.status_code == 200 and Candidate.objects.get(pk=person.candidate.pk).erased_at is None
    done = Client().post(link)
    assert "削除しました" in done.content.decode()

    assert traces_of([NAME, EMAIL, PHONE]) == []  # the relay's record too: the person asked for both
    assert Registrant.objects.get().email_key.startswith("erased:")
    assert set(Erasure.objects.values_list("subject_kind", flat=True)) == {"candidate", "registrant"}
    assert PrivacyRequest.objects.get(kind=RequestKind.DELETE).status == RequestStatus.DONE
    assert not CapturedMail.objects.filter(raw__contains=EMAIL).exists()
    assert "削除されています" in Client().get(page_of(person)).content.decode()
    assert Client().post(link).status_code == 200  # again: nothing more happens


def test_deletion_without_the_relay_leaves_the_operators_record(company, client):
    person = known_in_every_way(company, client)
    Client().post(page_of(person), {"action": "delete"})
    Client().post(confirmation_link())
    assert traces_of([NAME, EMAIL], outside=OPERATORS_RECORD) == []
    assert Registrant.objects.get().name == NAME
    assert suppression_for(company, EMAIL) is None, "they did not ask to be left alone"


def test_a_registrant_stops_use_and_asks_the_operator_for_deletion(company, client):
    person = known_in_every_way(company, client)
    registrant = Registrant.objects.get()
    page = f"/privacy/p/{registrant_privacy_token(registrant.pk)}/"
    visitor = Client()
    assert visitor.get(page).status_code == 200
    visitor.post(page, {"action": "access"})
    link = mailed_link("data")
    assert Message.objects.get(body_text__contains=link).company == operator_party()
    assert NAME in visitor.get(link).content.decode()
    assert json.loads(visitor.get(link + "my-data.json").content)["registrations"][0]["through"] == company.name

    visitor.post(page, {"action": "stop"})
    assert Registrant.objects.get().status == "withdrawn"
    assert suppression_for(operator_party(), EMAIL) is not None

    visitor.post(page, {"action": "delete", "suppress_mail": "on"})
    Client().post(confirmation_link())
    assert Registrant.objects.get().email_key.startswith("erased:")
    assert Candidate.objects.get(pk=person.candidate.pk).name == NAME, "the company's record is the company's"
    assert traces_of([NAME, EMAIL, PHONE], outside=("talent.Candidate", "messaging.Message", "messaging.CapturedMail",
                                                    "intake.WebhookDelivery", "relay.RegistrationRequest",
                                                    "relay.Registration")) == []


def test_the_page_shows_dates_in_the_companys_time_zone(company):
    from tsunagu.privacy.templatetags.privacy_dates import local_date

    assert local_date("2026-12-01T16:00:00+00:00", company) == "2026-12-02"  # 01:00 in Tokyo
    assert local_date("2026-12-01T14:59:00+00:00", company) == "2026-12-01"
    assert local_date(None, company) == local_date("not a time", company) == ""
