"""User-written templates: sandboxed, validated at save, versioned, previewed with real data."""

import pytest
from django.core.exceptions import ValidationError

from tsunagu.companies.actions import operator_party
from tsunagu.messaging import compose, rendering, template_sets
from tsunagu.messaging.actions import templates
from tsunagu.messaging.models import MessageKind, MessageTemplate
from tsunagu.testing import application_body

pytestmark = pytest.mark.django_db


def save(company, body, subject="選考結果のご連絡"):
    return templates.save_template(company, MessageKind.REJECTION, subject=subject, body_text=body)


def test_new_company_starts_with_the_default_templates(company):
    template = template_sets.current_template(company, MessageKind.REJECTION)
    assert template.version == 1
    assert "{{ referral_url }}" in template.body_text
    # The verification mail is the relay operator's: its party has the template, a company none.
    assert template_sets.current_template(operator_party(), MessageKind.VERIFICATION).version == 1
    assert not MessageTemplate.objects.filter(company=company, kind=MessageKind.VERIFICATION).exists()


def test_saving_adds_a_version_and_keeps_the_old_one(company):
    saved = save(company, "{{ candidate_name }}様\n\nありがとうございました。\n{{ referral_url }}")
    assert saved.version == 2
    assert MessageTemplate.objects.filter(company=company, kind=MessageKind.REJECTION).count() == 2
    # Saving the same text again creates nothing.
    assert save(company, "{{ candidate_name }}様\n\nありがとうございました。\n{{ referral_url }}").version == 2


def test_unknown_variable_is_refused_with_its_line(company):
    with pytest.raises(ValidationError) as error:
        save(company, "{{ candidate_name }}様\n\n{{ candidate_nmae }}\n")
    message = error.value.message_dict["body_text"][0]
    assert "3行目" in message and "candidate_nmae" in message
    assert MessageTemplate.objects.filter(company=company, kind=MessageKind.REJECTION).count() == 1


def test_syntax_error_is_refused_with_its_line(company):
    with pytest.raises(ValidationError) as error:
        save(company, "{{ candidate_name }}様\n{% if %}\n")
    assert "2行目" in error.value.message_dict["body_text"][0]


@pytest.mark.parametrize("body", [
    "{{ candidate_name.__class__.__mro__ }}",
    "{{ candidate_name.__class__.__subclasses__() }}",
    "{{ ''.__class__.__base__.__subclasses__() }}",
    "{% for i in range(10**9) %}x{% endfor %}",
    "{{ candidate_name.__init__.__globals__ }}",
])
def test_sandbox_escapes_are_refused(company, body):
    with pytest.raises(ValidationError):
        save(company, body)


def test_a_blank_name_is_never_sent():
    with pytest.raises(rendering.RenderError):
        rendering.render("件名", "{{ candidate_name }}様", {"candidate_name": "  ", "company_name": "株式会社"})


def test_preview_uses_a_real_candidate_of_the_company(company, api):
    api.post("/api/v1/applications", application_body())
    preview = compose.preview(company, MessageKind.REJECTION, subject="{{ company_name }}",
                              body_text="{{ candidate_name }}様 {{ job_title }} {{ stage }}")
    assert preview.subject == "株式会社アクメ"
    assert preview.text.startswith("髙橋 𠮷子様 バックエンドエンジニア 一次面接\n")
    assert "<p>" in preview.html
    # HR sees the footer every advertising mail ends with, whatever the template says.
    assert "/u/" in preview.text and "送信者:株式会社アクメ" in preview.text


def test_edited_template_is_what_the_next_notice_says(company, api, django_capture_on_commit_callbacks):
    from django.core import mail

    save(company, "{{ candidate_name }}様\n\n新しい文面です。\n{{ referral_url }}\n\n{{ signature }}")
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/v1/applications", application_body())
    [sent] = mail.outbox
    assert "新しい文面です。" in sent.body
    from tsunagu.messaging.models import Message

    assert Message.objects.get().template.version == 2
