"""Django's admin shows every model of every app, and changes none: writes go through the actions."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model

from tsunagu.companies.actions import update_company_settings
from tsunagu.intake.actions.connections import add_connection
from tsunagu.testing import application_body, login_with_second_factor

pytestmark = pytest.mark.django_db

APPS = ("companies", "talent", "intake", "messaging", "relay", "privacy", "analytics")
DKIM_KEY_MARK = "PRIVATE KEY-----"


def tsunagu_models():
    return [model for label in APPS for model in apps.get_app_config(label).get_models()]


def test_every_model_is_registered():
    missing = [model.__name__ for model in tsunagu_models() if model not in admin.site._registry]
    assert not missing, f"not in the admin: {missing}"


@pytest.fixture
def superuser_client(client):
    get_user_model().objects.create_superuser("root@operator.example", "root@operator.example", "a-long-password")
    return login_with_second_factor(client, "root@operator.example", "a-long-password")


def test_each_model_can_be_viewed_and_not_added_changed_or_deleted(superuser_client, company, api):
    api.post("/api/v1/applications", application_body())  # rows in talent and messaging
    connection = add_connection(company, kind="greenhouse", secret="a-webhook-signing-secret")
    update_company_settings(company, dkim_selector="tsunagu", dkim_private_key="")
    for model in tsunagu_models():
        meta = model._meta
        base = f"/admin/{meta.app_label}/{meta.model_name}/"
        assert superuser_client.get(base).status_code == 200, base
        assert superuser_client.get(base + "add/").status_code == 403, base
        row = model.objects.first()
        if row is not None:
            assert superuser_client.get(f"{base}{row.pk}/change/").status_code == 200, base
            assert superuser_client.post(f"{base}{row.pk}/change/", {}).status_code == 403, base
            assert superuser_client.post(f"{base}{row.pk}/delete/", {"post": "yes"}).status_code == 403, base
            assert model.objects.filter(pk=row.pk).exists()
    page = superuser_client.get(f"/admin/intake/atsconnection/{connection.pk}/change/").content.decode()
    assert "a-webhook-signing-secret" not in page


def test_secrets_are_not_shown(superuser_client, company):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    update_company_settings(company, dkim_selector="tsunagu", dkim_private_key=key)
    page = superuser_client.get(f"/admin/companies/company/{company.pk}/change/").content.decode()
    assert company.name in page and DKIM_KEY_MARK not in page
    api_key = company.api_keys.first()
    page = superuser_client.get(f"/admin/companies/apikey/{api_key.pk}/change/").content.decode()
    assert api_key.prefix in page and api_key.secret_hash not in page
