"""The TOTP second factor over real HTTP: a console user may enrol one (QR code, secret, confirm with a code) and
then gives a code after the password; operator staff must, before any operator or admin page. Wrong codes and
a code given twice are refused."""

from __future__ import annotations

import io
import json
from base64 import b32encode

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from tsunagu.companies.actions import create_user
from tsunagu.testing import enrolled_device, login_with_second_factor, totp_code

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-password"
PAGE = "/console/account/two-factor/"
CODE_PAGE = "/console/login/code/"
WRONG_OR_USED = "確認コードが正しくないか、すでに使われたコードです"


@pytest.fixture(autouse=True)
def no_code_delay(settings):
    """django-otp waits longer after each wrong code; the tests that show it turn it back on."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def password_login(client, email, next_url=""):
    data = {"username": email, "password": PASSWORD, "next": next_url}
    return client.post("/console/login/" + (f"?next={next_url}" if next_url else ""), data)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def operator(email="staff@relay.example"):
    return create_user(email=email, password=PASSWORD, operator=True).user


def test_a_console_user_enrols_then_gives_a_code_after_the_password(client, login, company):
    login(company)  # a company admin, who may choose the second factor
    assert "無効" in client.get(PAGE).content.decode()
    assert client.get(PAGE + "qr.svg").status_code == 404  # nothing is being enrolled

    assert client.post(PAGE + "start/").status_code == 302
    page = client.get(PAGE).content.decode()
    device = TOTPDevice.objects.get(confirmed=False)
    secret = b32encode(device.bin_key).decode()
    assert " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)) in page  # to type in by hand
    qr = client.get(PAGE + "qr.svg")
    assert qr["Content-Type"] == "image/svg+xml" and b"<svg" in qr.content and "no-store" in qr["Cache-Control"]

    code = totp_code(device)
    refused = client.post(PAGE + "confirm/", {"code": wrong(code)})
    assert refused.status_code == 200 and WRONG_OR_USED in refused.content.decode()
    assert client.post(PAGE + "confirm/", {"code": code}).status_code == 302
    assert "有効" in client.get(PAGE).content.decode() and TOTPDevice.objects.get().confirmed
    assert client.get(PAGE + "qr.svg").status_code == 404  # the secret is no longer shown

    # Next time: the password alone opens nothing; a wrong code is refused, the right one lets in.
    client.post("/console/logout/")
    response = password_login(client, "admin@acme.example", "/console/outbox/")
    assert response.status_code == 302
    assert client.get("/console/outbox/")["Location"] == f"{CODE_PAGE}?next=%2Fconsole%2Foutbox%2F"
    assert client.get(PAGE)["Location"].startswith(CODE_PAGE)  # nor can the device be changed without a code
    refused = client.post(CODE_PAGE, {"code": wrong(totp_code(device)), "next": "/console/outbox/"})
    assert refused.status_code == 200 and WRONG_OR_USED in refused.content.decode()
    verified = client.post(CODE_PAGE, {"code": totp_code(device), "next": "/console/outbox/"})
    assert verified["Location"] == "/console/outbox/"
    assert client.get("/console/outbox/").status_code == 200


def test_a_code_is_accepted_only_once(client, company):
    create_user(email="hr@acme.example", password=PASSWORD, company=company, role="admin")
    device = enrolled_device(get_user_model().objects.get(username="hr@acme.example"))
    password_login(client, "hr@acme.example")
    code = totp_code(device)
    assert client.post(CODE_PAGE, {"code": code}).status_code == 302
    client.post("/console/logout/")

    password_login(client, "hr@acme.example")
    replayed = client.post(CODE_PAGE, {"code": code})
    assert replayed.status_code == 200 and WRONG_OR_USED in replayed.content.decode()
    assert client.get("/console/")["Location"].startswith(CODE_PAGE)


def test_wrong_codes_make_the_next_try_wait(client, settings, company):
    settings.OTP_TOTP_THROTTLE_FACTOR = 1  # django-otp's default: 1 s, 2 s, 4 s, ... after each wrong code
    create_user(email="hr@acme.example", password=PASSWORD, company=company, role="admin")
    device = enrolled_device(get_user_model().objects.get(username="hr@acme.example"))
    password_login(client, "hr@acme.example")
    code = totp_code(device)
    client.post(CODE_PAGE, {"code": wrong(code)})
    held = client.post(CODE_PAGE, {"code": code})  # right, but straight after a wrong one
    assert held.status_code == 200 and "少しのあいだ受け付けません" in held.content.decode()
    assert client.get("/console/")["Location"].startswith(CODE_PAGE)


def test_operator_staff_must_enrol_before_any_operator_or_admin_page(client):
    operator()
    assert password_login(client, "staff@relay.example").status_code == 302
    for path in ["/console/operator/", "/console/operator/review/", "/console/operator/registrants/",
                 "/console/operator/identity/", "/console/", "/admin/", "/admin/auth/user/"]:
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith(PAGE + "?next="), path
    assert client.post("/console/operator/identity/api-keys/").status_code == 302

    page = client.get(PAGE + "?next=/console/operator/").content.decode()
    assert "必須" in page
    client.post(PAGE + "start/", {"next": "/console/operator/"})
    device = TOTPDevice.objects.get()
    done = client.post(PAGE + "confirm/", {"code": totp_code(device), "next": "/console/operator/"})
    assert done["Location"] == "/console/operator/"
    assert client.get("/console/operator/").status_code == 200
    assert client.get("/admin/")["Location"].startswith("/admin/login/")  # an operator profile is no admin


def test_operator_staff_with_a_device_give_a_code_after_the_password_and_cannot_turn_it_off(client):
    device = enrolled_device(operator())
    password_login(client, "staff@relay.example")
    assert client.get("/console/operator/")["Location"].startswith(CODE_PAGE)
    assert client.post(PAGE + "start/")["Location"].startswith(CODE_PAGE)
    assert TOTPDevice.objects.count() == 1  # no new secret without the code
    client.post(CODE_PAGE, {"code": totp_code(device)})
    assert client.get("/console/operator/").status_code == 200

    refused = client.post(PAGE + "disable/", {"code": totp_code(device)})
    assert "運営スタッフは二段階認証を無効にできません" in refused.content.decode()
    assert TOTPDevice.objects.filter(confirmed=True).count() == 1


def test_the_admin_asks_superusers_for_the_code_too(client):
    root = get_user_model().objects.create_superuser("root@operator.example", "root@operator.example", PASSWORD)
    device = enrolled_device(root)
    response = client.post("/admin/login/?next=/admin/", {"username": "root@operator.example", "password": PASSWORD,
                                                           "next": "/admin/"})
    assert response.status_code == 302
    assert client.get("/admin/")["Location"] == f"{CODE_PAGE}?next=%2Fadmin%2F"
    assert client.post(CODE_PAGE, {"code": totp_code(device), "next": "/admin/"})["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_user_turns_it_off_with_a_current_code(client, company):
    create_user(email="hr@acme.example", password=PASSWORD, company=company, role="viewer")
    login_with_second_factor(client, "hr@acme.example", PASSWORD)
    device = TOTPDevice.objects.get()
    refused = client.post(PAGE + "disable/", {"code": wrong(totp_code(device))})
    assert WRONG_OR_USED in refused.content.decode() and TOTPDevice.objects.exists()
    assert client.post(PAGE + "disable/", {"code": totp_code(device)}).status_code == 302
    assert not TOTPDevice.objects.exists()
    client.post("/console/logout/")
    password_login(client, "hr@acme.example")
    assert client.get("/console/").status_code == 200  # the password alone again


def test_the_code_page_sends_back_only_to_this_site(client, company):
    create_user(email="hr@acme.example", password=PASSWORD, company=company, role="admin")
    device = enrolled_device(get_user_model().objects.get(username="hr@acme.example"))
    password_login(client, "hr@acme.example")
    response = client.post(CODE_PAGE, {"code": totp_code(device), "next": "https://evil.example/"})
    assert response["Location"] == "/console/"


def test_reset_2fa_sends_staff_back_to_enrolment(client):
    device = enrolled_device(operator())
    out = io.StringIO()
    call_command("security", "reset-2fa", "Staff@relay.example", stdout=out)
    assert json.loads(out.getvalue()) == {"email": "staff@relay.example", "removed_devices": 1}
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()
    password_login(client, "staff@relay.example")
    assert client.get("/console/operator/")["Location"].startswith(PAGE)
