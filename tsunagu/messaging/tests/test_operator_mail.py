"""The relay operator's own mail: the registration verification comes from the operator's party (its name,
sender, reply-to, licence number), through a real SMTP server; every mail names the service as the operator's
party says; and user-entered text is never turned into a link in any mail."""

import re

import pytest

from tsunagu.companies.actions import operator_party, update_operator_identity
from tsunagu.messaging import rendering
from tsunagu.messaging.actions.notices import plan_verification_mail
from tsunagu.messaging.actions.templates import save_template
from tsunagu.messaging.models import Message, MessageKind, MessageTemplate
from tsunagu.relay.tests.candidate_path import link_path, register, reject
from tsunagu.testing import application_body, html_part, text_part

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    return update_operator_identity(
        name="株式会社キャリアリレー", service_name="つなぐキャリア", licence_number="13-ユ-300123",
        sender_name="つなぐキャリア 事務局", sender_email="relay@career.example", reply_to="support@career.example")


def test_the_verification_mail_comes_from_the_operator(client, api, company, operator, smtp_settings,
                                                       django_capture_on_commit_callbacks):
    message = reject(api, django_capture_on_commit_callbacks)
    register(client, link_path(message), django_capture_on_commit_callbacks, email="yoshiko@example.jp")
    received = smtp_settings.wait_for(2)
    verification = next(m["message"] for m in received if "ご確認" in m["message"]["Subject"])
    assert verification["Subject"] == "【つなぐキャリア】メールアドレスのご確認"
    assert verification["From"].addresses[0].display_name == "つなぐキャリア 事務局"
    assert verification["From"].addresses[0].addr_spec == "relay@career.example"
    assert verification["Reply-To"] == "support@career.example"
    assert "career.example" in verification["Message-ID"]
    assert verification["List-Unsubscribe"] is None  # transactional: the person just asked for it
    text = text_part(verification)
    assert "株式会社キャリアリレー(有料職業紹介事業 許可番号 13-ユ-300123)" in text
    assert "お問い合わせ:support@career.example" in text
    assert "株式会社アクメからのご案内メール" in text
    verify_url = re.search(r"http://\S+/r/verify/\S+", text).group(0)
    assert f'<a href="{verify_url}">' in html_part(verification)  # its own link, linked (and not tracked)
    planned = Message.objects.get(kind=MessageKind.VERIFICATION)
    assert planned.company == operator and planned.company != company


def test_every_mail_names_the_service_from_the_operators_party(api, company, operator, smtp_settings,
                                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/v1/applications", application_body())
    [received] = smtp_settings.wait_for(1)
    assert "無料のキャリア支援サービス「つなぐキャリア」" in text_part(received["message"])
    assert received["message"]["From"].addresses[0].addr_spec == "recruit@acme.example"  # the company's notice


def test_the_verification_mail_is_planned_only_for_the_operator(company):
    with pytest.raises(ValueError):
        plan_verification_mail(company, key="verification:1", to_email="a@example.jp", to_name="a",
                               verify_token="x")
    assert not Message.objects.exists()


def test_only_the_operator_gets_a_verification_template(company):
    assert not MessageTemplate.objects.filter(company=company, kind=MessageKind.VERIFICATION).exists()
    assert MessageTemplate.objects.filter(company=operator_party(), kind=MessageKind.VERIFICATION).exists()


def test_text_from_the_ats_or_a_form_never_becomes_a_link(api, company, smtp_settings,
                                                          django_capture_on_commit_callbacks):
    """A name (from an applicant, through the ATS) or any other variable that looks like a URL stays text; the
    personal link and URLs the template itself writes are links."""
    save_template(company, MessageKind.REJECTION, subject="選考結果のご連絡",
                  body_text="{{ candidate_name }}様\n\n{{ job_title }}\n求人: https://acme.example/jobs\n"
                            "登録: {{ referral_url }}\n\n{{ signature }}\n")
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/v1/applications", application_body(
            candidate={"name": "当選 https://evil.example/win", "email": "yoshiko@example.jp"},
            job={"external_id": "J-9", "title": "詳しくは http://evil.example/job"}))
    [received] = smtp_settings.wait_for(1)
    html = html_part(received["message"])
    assert "https://evil.example/win" in html and "http://evil.example/job" in html  # shown, as text
    assert not re.search(r"href=[\"'][^\"']*evil\.example", html)
    assert re.search(r'<a href="[^"]*/t/c/[^"]+">https://acme.example/jobs</a>', html)  # tracked, linked
    assert re.search(r'<a href="http://[^"]+/r/[^"]+">', html)


def test_linkify_links_only_known_urls():
    links = frozenset({"https://acme.example/jobs", "http://127.0.0.1:8000/r/abc.def"})
    html = rendering.text_to_html("https://acme.example/jobs。https://evil.example/ http://127.0.0.1:8000/r/abc.def",
                                  "t", links=links)
    assert '<a href="https://acme.example/jobs">https://acme.example/jobs</a>' in html
    assert '<a href="http://127.0.0.1:8000/r/abc.def">' in html
    assert 'href="https://evil.example' not in html
    context = {"referral_url": "http://x/r/1.a", "unsubscribe_url": "http://x/u/1", "candidate_name": "http://evil"}
    assert rendering.linkable_urls("see https://acme.example/ and {{ referral_url }}", context) == {
        "https://acme.example/", "http://x/r/1.a", "http://x/u/1"}


def test_the_operators_party_is_read_once_per_delivery_batch(make_company, operator):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tsunagu.messaging.actions.delivery import deliver_due_messages
    from tsunagu.testing import ApiClient

    _company, key = make_company(delay_minutes=600)
    api = ApiClient(key)
    for index in range(5):
        api.post("/api/v1/applications", application_body(external_id=f"A-{index}",
                                                          email_address=f"c{index}@example.jp"))
    Message.objects.update(send_at="2026-01-01T00:00:00Z")
    with CaptureQueriesContext(connection) as queries:
        report = deliver_due_messages()
    assert len(report.sent) == 5
    lookups = [q["sql"] for q in queries.captured_queries if 'WHERE "companies_company"."is_operator"' in q["sql"]]
    assert len(lookups) == 1, lookups
    assert all("つなぐキャリア" in m.body_text for m in Message.objects.filter(kind=MessageKind.REJECTION))
