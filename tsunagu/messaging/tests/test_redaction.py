"""No company-facing page or API response holds a personal /r/ link or a verification link: the outbox, the
message page (text, HTML, headers, captured mail, timeline), the template preview, GET /api/v1/messages and
GET /api/v1/applications/{id}, for a scheduled, a sent and a cancelled notice. The stored text of a sent mail
keeps the link (it is what was sent): it is redacted when shown."""

import re

import pytest

from tsunagu.companies.models import Role
from tsunagu.lib.tokens import referral_token, verify_token
from tsunagu.messaging.actions import notices
from tsunagu.messaging.actions.templates import save_template
from tsunagu.messaging.models import Message, MessageKind, MessageStatus
from tsunagu.messaging.redaction import contains_personal_link, placeholder_url, readable_mime, redact
from tsunagu.testing import ApiClient, application_body

pytestmark = pytest.mark.django_db

PERSONAL = re.compile(r"/r/(?:verify/)?[0-9A-Za-z]+[.:][0-9A-Za-z_\-]")
SUBJECT = "選考結果のご連絡 {{ referral_url }}"
BODY = "{{ candidate_name }}様\n\nご登録はこちら:{{ referral_url }}\n\n{{ signature }}\n"


def notice(make_company, settings, state):
    """The company's rejection notice in `state`, with a template that puts the link in the subject too."""
    settings.EMAIL_BACKEND = "tsunagu.messaging.backends.CaptureEmailBackend"  # keeps the MIME (CapturedMail)
    company, key = make_company(delay_minutes=0 if state == "sent" else 600)
    save_template(company, MessageKind.REJECTION, subject=SUBJECT, body_text=BODY)
    ApiClient(key).post("/api/v1/applications", application_body(external_id="A-1"))
    message = Message.objects.get(company=company, kind=MessageKind.REJECTION)
    if state == "sent":
        from tsunagu.messaging.actions.delivery import deliver_due_messages

        deliver_due_messages()
    elif state == "cancelled":
        notices.cancel_message(company, message.pk, reason="test")
    message.refresh_from_db()
    assert message.status == state
    return company, key, message


def assert_clean(text: str, message: Message, where: str):
    assert referral_token(message.pk) not in text, where
    assert not PERSONAL.search(text), f"{where}: {PERSONAL.search(text).group(0)}"


@pytest.mark.parametrize("state", [MessageStatus.SCHEDULED, MessageStatus.SENT, MessageStatus.CANCELLED])
def test_no_company_facing_place_holds_the_personal_link(make_company, login, settings, client, state):
    company, key, message = notice(make_company, settings, state)
    if state == MessageStatus.SENT:
        assert referral_token(message.pk) in message.body_text  # what was sent keeps it, unchanged
        client.get(f"/r/{referral_token(message.pk)}")  # a click: the timeline names the landing page
    console = login(company, Role.ADMIN)
    outbox = console.get("/console/outbox/").content.decode()
    assert_clean(outbox, message, "outbox")
    page = console.get(f"/console/outbox/{message.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert_clean(text, message, "message page")
    assert placeholder_url() in text  # the text, as the candidate reads it, with the placeholder
    assert 'id="message-headers"' in text and 'id="message-html"' in text
    if state == MessageStatus.SENT:
        assert 'id="message-captured"' in text and "relay" in text  # the timeline's click, redacted
    preview = console.post("/console/templates/rejection/preview/", {"subject": SUBJECT, "body_text": BODY})
    assert preview.status_code == 200 and "髙橋" in preview.content.decode()  # a real candidate's data
    assert_clean(preview.content.decode(), message, "preview")
    assert placeholder_url() in preview.content.decode()
    editor = console.get("/console/templates/rejection/").content.decode()
    assert_clean(editor, message, "template editor")
    api = ApiClient(key)
    for path in ("/api/v1/messages", "/api/v1/messages?application=A-1", "/api/v1/applications/A-1"):
        response = api.get(path)
        assert response.status_code == 200
        assert_clean(response.content.decode(), message, path)


def test_the_operators_mail_is_in_no_company_outbox_or_api(make_company, login):
    """A verification mail that a company's outbox held before the operator sent its own (or any operator kind)
    is neither listed nor shown to the company."""
    company, key = make_company()
    legacy = Message.objects.create(company=company, kind=MessageKind.VERIFICATION, key="verification:1",
                                    to_email="a@example.jp", to_name="a", send_at="2026-01-01T00:00:00Z",
                                    status=MessageStatus.SENT, subject="確認",
                                    body_text=f"http://127.0.0.1:8000/r/verify/{verify_token(1)}\n")
    console = login(company, Role.ADMIN)
    assert f"/console/outbox/{legacy.pk}/" not in console.get("/console/outbox/").content.decode()
    assert console.get(f"/console/outbox/{legacy.pk}/").status_code == 404
    filtered = console.get("/console/outbox/?kind=verification").content.decode()
    assert f"/console/outbox/{legacy.pk}/" not in filtered and "メールはまだありません" in filtered
    api = ApiClient(key)
    assert api.get("/api/v1/messages").json() == []
    assert api.get("/api/v1/messages?kind=verification").json() == []


def test_the_templates_page_offers_no_verification_template(make_company, login):
    company, _key = make_company()
    console = login(company, Role.ADMIN)
    assert "/console/templates/verification/" not in console.get("/console/templates/").content.decode()
    assert console.get("/console/templates/verification/").status_code == 404


def test_a_template_cannot_hide_the_personal_link_from_the_redaction(make_company):
    from django.core.exceptions import ValidationError

    company, _key = make_company()
    for body in ("{{ referral_url|replace('.', '-') }}", "{{ referral_url|urlencode }}", "{{ referral_url ~ 'x' }}",
                 "{% set link = referral_url %}{{ link }}", "{% for c in referral_url %}{{ c }}{% endfor %}",
                 "{{ referral_url[1:] }}", "{{ referral_url.upper() }}"):
        with pytest.raises(ValidationError) as caught:
            save_template(company, MessageKind.REJECTION, subject="件名", body_text="{{ candidate_name }}様 " + body)
        assert "referral_url" in str(caught.value)
    # As it is, and tested in an if, it is fine.
    save_template(company, MessageKind.REJECTION, subject="件名",
                  body_text="{{ candidate_name }}様\n{% if referral_url %}{{ referral_url }}{% endif %}")


def test_redact_catches_every_shape_of_a_personal_link():
    token = referral_token(42)
    text = (f"http://127.0.0.1:8000/r/{token} https://old.example.jp/r/{referral_token(7)} "
            f"/r/verify/{verify_token(9)} ?u=http%3A%2F%2Fx%2Fr%2F{token}")
    redacted = redact(text, 42)
    assert token not in redacted and not PERSONAL.search(redacted)
    assert contains_personal_link(text, 42) and not contains_personal_link(redacted, 42)
    assert redact("https://acme.example/jobs", 42) == "https://acme.example/jobs"
    raw = (f"Subject: =?utf-8?b?6YG46ICD?=\nContent-Type: text/plain; charset=utf-8\n"
           f"Content-Transfer-Encoding: quoted-printable\n\nhttp://127.0.0.1:8000/r/{token[:20]}=\n{token[20:]}\n")
    assert token not in readable_mime(raw, 42).replace("\n", "")
