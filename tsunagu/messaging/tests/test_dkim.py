"""DKIM: notices of a company with a key arrive signed (verified by dkimpy against the key's DNS record);
without a key they arrive unsigned; keys are checked before they are accepted."""

import base64

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.exceptions import ValidationError

from tsunagu.lib import dkim_signing
from tsunagu.messaging.models import Message, MessageStatus
from tsunagu.testing import application_body


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key, form=serialization.PrivateFormat.PKCS8, encryption=None) -> str:
    return key.private_bytes(serialization.Encoding.PEM, form,
                             encryption or serialization.NoEncryption()).decode("ascii")


def dns_for(records: dict[bytes, bytes]):
    """A resolver for dkim.verify that knows only these TXT records."""
    asked = []

    def resolve(name, timeout=5):
        asked.append(name)
        return records.get(name)

    resolve.asked = asked
    return resolve


def reject(api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/applications", application_body())
    assert response.status_code in (200, 201), response.content


@pytest.mark.django_db
def test_notice_of_a_company_with_a_key_arrives_signed(api, company, smtp_settings, rsa_key,
                                                       django_capture_on_commit_callbacks):
    company.dkim_selector = "tsunagu2026"
    company.dkim_private_key = pem(rsa_key).replace("\n", "\r\n")  # as a browser's textarea sends it
    company.reply_to = "hr@acme.example"
    company.save()
    reject(api, django_capture_on_commit_callbacks)
    [received] = smtp_settings.wait_for(1)
    raw = received["raw"]
    assert raw.startswith(b"DKIM-Signature: ")

    name, value = dkim_signing.dns_record(company)
    assert name == "tsunagu2026._domainkey.acme.example"
    resolver = dns_for({f"{name}.".encode(): value.encode()})
    assert dkim.verify(raw, dnsfunc=resolver)
    assert resolver.asked == [b"tsunagu2026._domainkey.acme.example."]

    signature = received["message"]["DKIM-Signature"]
    tags = dict(tag.strip().split("=", 1) for tag in str(signature).replace("\r\n", "").split(";") if "=" in tag)
    assert tags["d"] == "acme.example" and tags["s"] == "tsunagu2026"
    assert tags["c"] == "relaxed/relaxed" and tags["a"] == "rsa-sha256"
    signed = [header.strip() for header in tags["h"].split(":")]
    for header in ("from", "to", "subject", "date", "message-id", "reply-to", "mime-version", "content-type"):
        assert header in signed
    if "List-Unsubscribe" in received["message"]:
        assert {"list-unsubscribe", "list-unsubscribe-post"} <= set(signed)
    assert Message.objects.get().status == MessageStatus.SENT

    # A changed subject no longer verifies.
    assert not dkim.verify(raw.replace(b"Subject: ", b"Subject: Re: ", 1), dnsfunc=resolver)


@pytest.mark.django_db
def test_notice_of_a_company_without_a_key_is_not_signed(api, company, smtp_settings,
                                                         django_capture_on_commit_callbacks):
    reject(api, django_capture_on_commit_callbacks)
    [received] = smtp_settings.wait_for(1)
    assert b"DKIM-Signature" not in received["raw"]
    assert "DKIM-Signature" not in received["message"]


@pytest.mark.django_db
def test_an_unusable_stored_key_sends_unsigned_rather_than_not_at_all(api, company, smtp_settings,
                                                                      django_capture_on_commit_callbacks):
    company.dkim_selector = "broken"
    company.dkim_private_key = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----"
    company.save()
    reject(api, django_capture_on_commit_callbacks)
    [received] = smtp_settings.wait_for(1)
    assert b"DKIM-Signature" not in received["raw"]
    assert Message.objects.get().status == MessageStatus.SENT


def test_signer_is_made_once_per_company_key(rsa_key):
    class FakeCompany:
        pk, dkim_selector, from_email = 1, "s1", "recruit@acme.example"
        dkim_private_key = pem(rsa_key)

    first = dkim_signing.signer_for(FakeCompany)
    assert first is dkim_signing.signer_for(FakeCompany)
    FakeCompany.dkim_selector = "s2"
    assert dkim_signing.signer_for(FakeCompany) is not first
    FakeCompany.dkim_private_key = ""
    assert dkim_signing.signer_for(FakeCompany) is None


def test_validate_dkim_key_accepts_rsa_pem_in_pkcs8_and_pkcs1(rsa_key):
    dkim_signing.validate_dkim_key(pem(rsa_key))
    dkim_signing.validate_dkim_key(pem(rsa_key, serialization.PrivateFormat.TraditionalOpenSSL))
    dkim_signing.validate_dkim_key("  " + pem(rsa_key).replace("\n", "\r\n") + "\n\n")
    dkim_signing.validate_dkim_key("")  # no key: no signing


@pytest.mark.parametrize(("make", "code"), [
    (lambda key: "not a key at all", "dkim_unreadable"),
    (lambda key: pem(key)[:200], "dkim_unreadable"),
    (lambda key: pem(key, encryption=serialization.BestAvailableEncryption(b"pw")), "dkim_encrypted"),
    (lambda key: pem(ec.generate_private_key(ec.SECP256R1())), "dkim_not_rsa"),
    (lambda key: "鍵" + pem(key), "dkim_unreadable"),
])
def test_validate_dkim_key_refuses_what_cannot_sign(rsa_key, make, code):
    with pytest.raises(ValidationError) as caught:
        dkim_signing.validate_dkim_key(make(rsa_key))
    assert caught.value.code == code


def test_validate_dkim_selector():
    for good in ("tsunagu", "s1.mail", "k-2026", ""):
        dkim_signing.validate_dkim_selector(good)
    for bad in ("bad selector", "-lead", "a..b", "鍵", "x" * 64):
        with pytest.raises(ValidationError):
            dkim_signing.validate_dkim_selector(bad)


def test_dns_record_publishes_the_public_key(rsa_key):
    class FakeCompany:
        dkim_selector, from_email, dkim_private_key = "sel", "recruit@Acme.example", pem(rsa_key)

    name, value = dkim_signing.dns_record(FakeCompany)
    assert name == "sel._domainkey.acme.example"
    assert value.startswith("v=DKIM1; k=rsa; p=")
    der = base64.b64decode(value.split("p=", 1)[1])
    assert serialization.load_der_public_key(der).public_numbers() == rsa_key.public_key().public_numbers()


def test_the_key_is_set_in_the_console_and_never_shown_again(company, login, rsa_key):
    client = login(company)
    page = client.get("/console/settings/")
    form = {name: (value if value is not None else "") for name, value in page.context["form"].initial.items()
            if name in page.context["form"].fields}
    form.update(dkim_selector="tsunagu", dkim_private_key="-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----")
    refused = client.post("/console/settings/", form)
    assert refused.status_code == 200 and "DKIM" in refused.content.decode()
    company.refresh_from_db()
    assert company.dkim_private_key == ""

    form["dkim_private_key"] = pem(rsa_key)
    assert client.post("/console/settings/", form).status_code == 302
    company.refresh_from_db()
    assert company.dkim_selector == "tsunagu" and "PRIVATE KEY" in company.dkim_private_key
    page = client.get("/console/settings/").content.decode()
    assert "PRIVATE KEY" not in page  # a secret: never rendered back
    assert "tsunagu._domainkey.acme.example" in page and "v=DKIM1; k=rsa; p=" in page

    form["dkim_private_key"] = ""  # left empty: the stored key is kept
    form["name"] = "株式会社アクメ(改)"
    assert client.post("/console/settings/", form).status_code == 302
    company.refresh_from_db()
    assert "PRIVATE KEY" in company.dkim_private_key and company.name == "株式会社アクメ(改)"

    form["dkim_selector"] = ""  # no selector: signing off, key removed
    assert client.post("/console/settings/", form).status_code == 302
    company.refresh_from_db()
    assert company.dkim_private_key == "" and company.dkim_selector == ""
