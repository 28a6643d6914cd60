"""The operator's registrants: search (names with or without the space, kana, e-mail, phone), filters, paging,
the CSV export for Excel, and a registrant's record (companies, consents, status, notes, profile)."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from tsunagu.relay.models import CreditStatus, Registrant, RegistrantNote, RegistrantStatus
from tsunagu.relay.selectors import search_registrants
from tsunagu.relay.tests.desk_factories import body, make_registration

pytestmark = pytest.mark.django_db



# --- registrants: search and filters -----------------------------------------------------------------

@pytest.fixture
def people(acme, make_company):
    beta = make_company(slug="beta", name="ベータ株式会社")[0]
    yoshiko = make_registration(acme, email="yoshiko@example.jp", name="髙橋 𠮷子", kana="タカハシ ヨシコ")
    make_registration(beta, email="Yoshiko@Example.JP", name="髙橋 𠮷子", status=CreditStatus.DUPLICATE)
    taro = make_registration(beta, email="taro@mail.example", name="山田 太郎", kana="やまだ たろう")
    Registrant.objects.filter(pk=taro.registrant_id).update(
        created_at=timezone.now() - timedelta(days=40), status=RegistrantStatus.INTERVIEWED)
    return {"acme": acme, "beta": beta, "yoshiko": yoshiko.registrant, "taro": taro.registrant}


@pytest.mark.parametrize("query, expected", [
    ("髙橋𠮷子", {"yoshiko"}), ("髙橋 𠮷子", {"yoshiko"}), ("髙橋\u3000𠮷子", {"yoshiko"}),
    ("たかはし", {"yoshiko"}), ("ヤマダタロウ", {"taro"}), ("ﾔﾏﾀﾞ", {"taro"}),
    ("YOSHIKO@", {"yoshiko"}), ("mail.example", {"taro"}), ("山田", {"taro"}), ("佐藤", set()),
])
def test_search_finds_names_with_or_without_the_space_kana_and_email(people, query, expected):
    found = set(search_registrants(query).values_list("pk", flat=True))
    assert found == {people[key].pk for key in expected}


def test_search_finds_the_address_as_written_when_its_key_is_folded(acme):
    person = make_registration(acme, email="Yoshiko.T+relay@gmail.com").registrant
    Registrant.objects.filter(pk=person.pk).update(email_key="yoshikot@gmail.com")  # relay.fraud.person_key
    assert list(search_registrants("yoshiko.t+relay")) == [person]
    assert list(search_registrants("yoshikot@gmail")) == [person]


def test_one_person_through_two_companies_is_one_registrant(people):
    assert Registrant.objects.filter(email_key="yoshiko@example.jp").count() == 1
    assert people["yoshiko"].registrations.count() == 2


def test_the_list_filters_by_status_company_and_dates(desk, people):
    def names(**params):
        page = body(desk.get("/console/operator/registrants/", params))
        return {name for name in ("髙橋 𠮷子", "山田 太郎") if name in page.split('id="registrants"')[1]}

    assert names() == {"髙橋 𠮷子", "山田 太郎"}
    assert names(status="interviewed") == {"山田 太郎"}
    assert names(company="acme") == {"髙橋 𠮷子"}
    assert names(company="beta") == {"髙橋 𠮷子", "山田 太郎"}  # came through beta's link too
    today = timezone.localdate()
    assert names(registered_from=str(today - timedelta(days=1))) == {"髙橋 𠮷子"}
    assert names(registered_to=str(today - timedelta(days=30))) == {"山田 太郎"}
    assert names(q="たろう", company="beta") == {"山田 太郎"}


@pytest.mark.parametrize("params, message", [
    ({"registered_from": "2026-02-30"}, "日付"),
    ({"registered_from": "2026-03-02", "registered_to": "2026-03-01"}, "開始日を終了日以前に"),
    ({"status": "hired-yesterday"}, "hired-yesterday"),
    ({"company": "nope"}, "nope"),
])
def test_a_bad_filter_says_so(desk, people, params, message):
    response = desk.get("/console/operator/registrants/", params)
    assert response.status_code == 400
    assert message in body(response) and 'class="errorlist"' in body(response)
    csv_response = desk.get("/console/operator/registrants.csv", params)
    assert csv_response.status_code == 400 and message in body(csv_response)


def test_the_list_pages(desk, acme):
    for n in range(55):
        make_registration(acme, email=f"p{n:02d}@example.jp", name=f"候補者{n:02d}")
    first = body(desk.get("/console/operator/registrants/"))
    second = body(desk.get("/console/operator/registrants/", {"page": 2}))
    assert "55人" in first and "1 / 2" in first and "候補者54" in first and "候補者04" not in first
    assert "候補者04" in second and "候補者54" not in second


# --- the CSV export ------------------------------------------------------------------------------------

def read_csv(response):
    content = b"".join(response.streaming_content)
    assert content.startswith("\ufeff".encode())  # the BOM: Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    assert b"\r\n" in content
    return rows


def test_the_csv_export_is_excel_friendly_and_follows_the_filters(desk, people):
    response = desk.get("/console/operator/registrants.csv", {"company": "beta"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="registrants-')
    header, *rows = read_csv(response)
    assert header == ["ID", "氏名", "フリガナ", "メールアドレス", "電話番号", "希望職種", "希望勤務地", "状態",
                      "最初の紹介元", "紹介元企業", "登録日時", "更新日時"]
    by_name = {row[1]: row for row in rows}
    assert set(by_name) == {"髙橋 𠮷子", "山田 太郎"}
    assert by_name["髙橋 𠮷子"][8] == "株式会社アクメ"
    assert by_name["髙橋 𠮷子"][9] == "株式会社アクメ、ベータ株式会社"
    assert by_name["山田 太郎"][7] == "面談済"
    only_acme = read_csv(desk.get("/console/operator/registrants.csv", {"company": "acme"}))
    assert [row[1] for row in only_acme[1:]] == ["髙橋 𠮷子"]


@pytest.mark.parametrize("typed", ['=HYPERLINK("http://evil.example","x")', "+81 3 1234", "-1+2", "@SUM(A1)",
                                   "\tcmd"])
def test_a_cell_that_would_be_a_formula_is_neutralised(desk, acme, typed):
    make_registration(acme, email="f@example.jp", name="普通の名前", desired_job=typed)
    _header, row = read_csv(desk.get("/console/operator/registrants.csv"))
    assert row[5] == "'" + typed
    assert row[1] == "普通の名前"  # ordinary cells are left as they are


# --- a registrant's record -----------------------------------------------------------------------------

def test_the_record_shows_companies_consents_and_desired_work(desk, people):
    yoshiko = people["yoshiko"]
    page = body(desk.get(f"/console/operator/registrants/{yoshiko.pk}/"))
    registrations = page.split('id="registrations"')[1].split("</table>")[0]
    assert "株式会社アクメ" in registrations and "クレジット付与" in registrations
    assert "ベータ株式会社" in registrations and "登録済みの方" in registrations
    assert "ご登録いただいた情報は、キャリア支援のために利用します。\n(第2版)" in page  # word for word
    assert "エンジニア" in page and "東京都" in page
    assert desk.get("/console/operator/registrants/999999/").status_code == 404


def test_status_moves_along_the_pipeline_and_leaves_a_note(desk, people):
    yoshiko = people["yoshiko"]
    for status in ("scheduling", "interviewed", "introducing", "offered", "joined", "paused", "withdrawn"):
        assert desk.post(f"/console/operator/registrants/{yoshiko.pk}/status/", {"status": status}).status_code == 302
        yoshiko.refresh_from_db()
        assert yoshiko.status == status
    newest = RegistrantNote.objects.filter(registrant=yoshiko).first()
    assert newest.text == "状態を「休止」から「退会」に変更しました。"
    assert newest.author.email == "advisor@relay.example"
    page = body(desk.get(f"/console/operator/registrants/{yoshiko.pk}/"))
    assert "退会" in page.split('id="registrant-status"')[1][:40]


def test_an_unknown_status_is_refused_and_changes_nothing(desk, people):
    yoshiko = people["yoshiko"]
    response = desk.post(f"/console/operator/registrants/{yoshiko.pk}/status/", {"status": "hired"})
    assert response.status_code == 400 and "不明な状態です" in body(response)
    yoshiko.refresh_from_db()
    assert yoshiko.status == RegistrantStatus.NEW and not RegistrantNote.objects.exists()


def test_notes_are_added_and_shown_newest_first(desk, people):
    yoshiko = people["yoshiko"]
    desk.post(f"/console/operator/registrants/{yoshiko.pk}/notes/", {"text": "初回面談:\r\nバックエンド志望"})
    desk.post(f"/console/operator/registrants/{yoshiko.pk}/notes/", {"text": "二回目の面談を調整中"})
    notes = body(desk.get(f"/console/operator/registrants/{yoshiko.pk}/")).split('id="notes"')[1]
    assert notes.index("二回目の面談を調整中") < notes.index("初回面談:\nバックエンド志望")
    assert RegistrantNote.objects.filter(registrant=yoshiko).first().author.email == "advisor@relay.example"


@pytest.mark.parametrize("text", ["", "   \n ", "あ" * 5001])
def test_a_blank_or_overlong_note_is_refused(desk, people, text):
    response = desk.post(f"/console/operator/registrants/{people['yoshiko'].pk}/notes/", {"text": text})
    assert response.status_code == 400 and 'class="errorlist"' in body(response)
    assert not RegistrantNote.objects.exists()


def test_the_profile_is_completed_and_the_search_keys_follow(desk, people):
    yoshiko = people["yoshiko"]
    response = desk.post(f"/console/operator/registrants/{yoshiko.pk}/profile/", {
        "name": "髙橋 𠮷子", "name_kana": "たかはし よしこ", "phone": "090-1234-5678",
        "desired_job": "データエンジニア", "desired_region": "大阪府"})
    assert response.status_code == 302
    yoshiko.refresh_from_db()
    assert (yoshiko.kana_key, yoshiko.phone_e164, yoshiko.desired_region) == ("タカハシヨシコ", "+819012345678",
                                                                              "大阪府")
    assert set(search_registrants("09012345678")) == {yoshiko}
    assert "登録情報を更新しました: フリガナ、電話番号、希望職種、希望勤務地" in RegistrantNote.objects.get().text


@pytest.mark.parametrize("data, message", [({"name": "", "phone": ""}, "氏名"),
                                           ({"name": "髙橋 𠮷子", "phone": "abc"}, "電話番号の形式"),
                                           ({"name": "あ" * 101, "phone": ""}, "100")])
def test_a_bad_profile_is_refused_and_changes_nothing(desk, people, data, message):
    yoshiko = people["yoshiko"]
    response = desk.post(f"/console/operator/registrants/{yoshiko.pk}/profile/", data)
    assert response.status_code == 400 and message in body(response)
    yoshiko.refresh_from_db()
    assert (yoshiko.name, yoshiko.phone, yoshiko.desired_job) == ("髙橋 𠮷子", "", "エンジニア")
    assert not RegistrantNote.objects.exists()
