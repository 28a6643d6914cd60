"""The public form is safe: length limits on every field, no links or addresses in a name, regions from the
list, per-network and per-link rate limits answering 429, and bad input storing nothing and mailing nobody."""

import pytest
from django.core import mail

from tsunagu.relay.actions import registration
from tsunagu.relay.models import Click, RegistrationRequest
from tsunagu.relay.tests.candidate_path import link_path, register, reject

pytestmark = pytest.mark.django_db


@pytest.fixture
def link(api, django_capture_on_commit_callbacks):
    message = reject(api, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    return link_path(message)


PHISHING_NAME = "ご当選のお知らせ https://evil.example/login " * 80  # about 3,000 characters with links


@pytest.mark.parametrize(("field", "value", "error"), [
    ("name", "あ" * 101, "氏名は100文字以内"),
    ("name", PHISHING_NAME, "氏名は100文字以内"),
    ("name", "当選 https://evil.example/", "氏名にURLやメールアドレスは入力できません"),
    ("name", "山田 evil.com", "氏名にURLやメールアドレスは入力できません"),
    ("name", "ｅｖｉｌ．ｃｏｍからのお知らせ", "氏名にURLやメールアドレスは入力できません"),
    ("name", "taro@example.jp", "氏名にURLやメールアドレスは入力できません"),
    ("name", "山田＠太郎", "氏名にURLやメールアドレスは入力できません"),
    ("name", "www.example", "氏名にURLやメールアドレスは入力できません"),
    ("name", "   ", "氏名を入力してください"),
    ("email", "x" * 250 + "@example.jp", "メールアドレスの形式が正しくありません"),
    ("desired_job", "エ" * 101, "希望職種は100文字以内"),
    ("desired_job", "詳しくは http://evil.example へ", "希望職種にURLやメールアドレスは入力できません"),
    ("desired_region", "火星", "希望勤務地は一覧から選んでください"),
])
def test_bad_input_is_refused_clearly_and_stores_nothing(client, link, django_capture_on_commit_callbacks, field,
                                                        value, error):
    response = register(client, link, django_capture_on_commit_callbacks, **{field: value})
    assert response.status_code == 400
    assert error in response.content.decode()
    assert RegistrationRequest.objects.count() == 0 and mail.outbox == []
    assert Click.objects.count() == 0  # a POST is not a click either


@pytest.mark.parametrize("region", ["東京都", "沖縄県", "リモート", ""])
def test_regions_from_the_list_are_accepted(client, link, django_capture_on_commit_callbacks, region):
    assert register(client, link, django_capture_on_commit_callbacks, desired_region=region).status_code == 302
    assert RegistrationRequest.objects.get().desired_region == region


def test_names_of_real_people_pass_and_control_characters_are_dropped(client, link, django_capture_on_commit_callbacks):
    response = register(client, link, django_capture_on_commit_callbacks, name="髙橋\x00 𠮷子\t", desired_job="Web デザイナー")
    assert response.status_code == 302
    request = RegistrationRequest.objects.get()
    assert (request.name, request.desired_job) == ("髙橋 𠮷子", "Web デザイナー")
    [verification] = mail.outbox
    assert verification.to == ["yoshiko@example.jp"]


def test_the_form_limits_its_fields_in_the_page_too(client, link):
    page = client.get(link).content.decode()
    assert 'maxlength="100"' in page and '<select id="desired_region"' in page
    assert 'value=""' in page  # nothing of the candidate is filled in


def test_one_link_sends_few_forms_then_answers_429(client, link, django_capture_on_commit_callbacks):
    for _ in range(registration.MAX_REQUESTS_PER_LINK_PER_DAY):
        assert register(client, link, django_capture_on_commit_callbacks).status_code == 302
    sent = len(mail.outbox)
    response = register(client, link, django_capture_on_commit_callbacks, email="victim@example.jp")
    assert response.status_code == 429
    assert "お申し込みが集中しています" in response.content.decode() and "24時間" in response.content.decode()
    assert int(response["Retry-After"]) == 24 * 3600
    assert RegistrationRequest.objects.count() == registration.MAX_REQUESTS_PER_LINK_PER_DAY
    assert len(mail.outbox) == sent and not [m for m in mail.outbox if "victim@example.jp" in m.to]


def test_one_network_sends_few_forms_across_links_then_answers_429(client, api, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    links = [link_path(reject(api, capture, external_id=f"A-{index}", email_address=f"c{index}@gmail.com"))
             for index in range(registration.MAX_REQUESTS_PER_NETWORK + 1)]
    for index, path in enumerate(links[:-1]):
        assert register(client, path, capture, ip=f"198.51.100.{index + 1}", email=f"c{index}@gmail.com").status_code == 302
    response = register(client, links[-1], capture, ip="198.51.100.250", email="last@gmail.com")
    assert response.status_code == 429
    assert "10分" in response.content.decode()
    assert RegistrationRequest.objects.count() == registration.MAX_REQUESTS_PER_NETWORK
    # Another network is not held up by it.
    assert register(client, links[-1], capture, ip="192.0.2.1", email="last@gmail.com").status_code == 302
