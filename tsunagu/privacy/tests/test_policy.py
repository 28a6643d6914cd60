"""The public privacy-policy pages (/privacy/policy/<slug>/): a company's own words shown safely (escaped text,
or a link to a single http(s) URL, never a redirect), the facts Tsunagu states below them, the operator's
page, and the links to them where the law expects: the relay's landing page, every mail's footer, the
consent-request and verification mails, and the mail-preference page."""

import re

import pytest
from django.conf import settings
from django.test import Client

from tsunagu.companies.actions import operator_party
from tsunagu.messaging import unsubscribe
from tsunagu.messaging.compose import build_email
from tsunagu.messaging.models import Message, MessageKind
from tsunagu.relay.tests.candidate_path import link_path, register, reject, verification_to

pytestmark = pytest.mark.django_db


def page_of(slug: str):
    return Client().get(f"/privacy/policy/{slug}/")


def test_a_companys_page_shows_its_policy_and_the_facts(company):
    company.privacy_policy = "当社は個人情報を大切にします。\n第2条 目的"
    company.reply_to = "hr@acme.example"
    company.retention_days = 730
    company.save()
    response = page_of("acme")
    assert response.status_code == 200
    page = response.content.decode()
    assert "当社は個人情報を大切にします。<br>第2条 目的" in page
    facts = page.split('id="facts"')[1]
    for fact in ("株式会社アクメ", "730日", "hr@acme.example", "第三者に提供しません", "設定ページ", "削除"):
        assert fact in facts
    assert operator_party().name in facts  # the only one who may receive the data, when the person registers
    assert f'href="/privacy/policy/{operator_party().slug}/"' in page
    # Public: nothing but the company's own facts.
    assert "/console/" not in page and f"{company.pk}" not in re.sub(r"\d+日|\d+年|\d+条", "", facts)
    assert response["Content-Security-Policy"] and response["X-Content-Type-Options"] == "nosniff"


def test_the_page_names_nobody_and_counts_nothing(api, company, django_capture_on_commit_callbacks):
    reject(api, django_capture_on_commit_callbacks)
    page = page_of("acme").content.decode()
    assert "髙橋" not in page and "yoshiko@example.jp" not in page and "1人" not in page and "1件" not in page


def test_the_operators_page(company):
    operator = operator_party()
    operator.licence_number, operator.reply_to, operator.retention_days = "13-ユ-300000", "desk@relay.example", 1095
    operator.privacy_policy = "https://relay.example/privacy"
    operator.save()
    page = page_of(operator.slug).content.decode()
    assert operator.service_name in page and "13-ユ-300000" in page and "1095日" in page
    assert "企業ごと・求人ごと" in page and "desk@relay.example" in page
    assert 'href="https://relay.example/privacy"' in page


@pytest.mark.parametrize("slug", ["no-such-company", "ACME", "acme-"])
def test_an_unknown_slug_is_404(company, slug):
    assert page_of(slug).status_code == 404


def test_only_get_and_head(company):
    assert Client().head("/privacy/policy/acme/").status_code == 200
    assert Client().post("/privacy/policy/acme/").status_code == 405


def test_html_in_the_policy_is_escaped(company):
    company.privacy_policy = '<script>alert(1)</script>\n<a href="https://evil.example">x</a>'
    company.save()
    page = page_of("acme").content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="https://evil.example"' not in page


@pytest.mark.parametrize("policy", ["javascript:alert(1)", "JavaScript:alert(document.cookie)",
                                    "data:text/html,<b>x</b>", "https://a.example/ and more text",
                                    "//evil.example/policy"])
def test_only_a_single_http_url_is_linked(company, policy):
    company.privacy_policy = policy
    company.save()
    response = page_of("acme")
    page = response.content.decode()
    assert response.status_code == 200 and 'id="policy-url"' not in page and 'id="policy-text"' in page
    card = page.split('id="policy"')[1].split('id="facts"')[0]
    assert "href=" not in card and "<b>" not in card


def test_a_single_url_is_a_link_not_a_redirect(company):
    company.privacy_policy = "  https://acme.example/privacy?x=1&y=2  "
    company.save()
    response = page_of("acme")
    assert response.status_code == 200
    assert 'href="https://acme.example/privacy?x=1&amp;y=2"' in response.content.decode()


# --- linked where the law expects it -----------------------------------------------------------------------

def test_every_notice_links_the_companys_policy_in_its_footer(api, company, django_capture_on_commit_callbacks):
    notice = reject(api, django_capture_on_commit_callbacks)
    url = f"{settings.BASE_URL}/privacy/policy/acme/"
    footer = notice.body_text.split("―" * 24, 1)[1]
    assert f"個人情報の取り扱い: {url}" in footer
    assert f'href="{url}"' in build_email(Message.objects.get(pk=notice.pk)).html
    # Not rewritten into a tracked redirect: reading the policy is recorded nowhere.
    assert f'href="{url}"' in build_email(Message.objects.get(pk=notice.pk), track=True).html


def test_the_operators_mail_links_its_policy(client, api, company, django_capture_on_commit_callbacks):
    notice = reject(api, django_capture_on_commit_callbacks)
    register(client, link_path(notice), django_capture_on_commit_callbacks)
    verification = verification_to("yoshiko@example.jp")
    assert f"個人情報の取り扱い: {settings.BASE_URL}/privacy/policy/{operator_party().slug}/" in verification.body
    assert Message.objects.get(kind=MessageKind.VERIFICATION).company.is_operator


def test_the_landing_page_links_both_policies(client, api, company, django_capture_on_commit_callbacks):
    page = client.get(link_path(reject(api, django_capture_on_commit_callbacks))).content.decode()
    links = page.split('id="policy-links"')[1].split("</p>")[0]
    assert 'href="/privacy/policy/acme/"' in links and f'href="/privacy/policy/{operator_party().slug}/"' in links
    assert page_of("acme").status_code == 200 and page_of(operator_party().slug).status_code == 200


def test_the_preferences_page_links_the_companys_policy(api, company, django_capture_on_commit_callbacks):
    notice = reject(api, django_capture_on_commit_callbacks)
    path = "/u/" + unsubscribe.unsubscribe_url(notice.pk).rsplit("/u/", 1)[1] + "/preferences"
    page = Client().get(path).content.decode()
    assert 'id="privacy-policy-link"' in page and 'href="/privacy/policy/acme/"' in page
