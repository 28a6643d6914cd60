"""Secrets at rest: ATS signing secrets, vendor API keys and DKIM keys are stored encrypted, read back as given,
rotate to a new key, and a wrong key is a clear error; the keys come from the environment or the data dir."""

from __future__ import annotations

import hashlib
import hmac
import json
import stat

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tsunagu import config
from tsunagu.companies.models import Company
from tsunagu.intake.actions import connections
from tsunagu.intake.models import AtsConnection
from tsunagu.lib import encryption

SECRET = "greenhouse-signing-secret-0001"
API_KEY = "lever-api-key-0002"
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"


def stored(table: str, column: str, pk: int) -> str:
    """The value as the database holds it, past the model."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def greenhouse_ping(client, conn, secret):
    body = json.dumps({"action": "ping", "payload": {"web_hook_id": 0}}).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(conn.webhook_path, data=body, content_type="application/json",
                       HTTP_SIGNATURE=f"sha256 {signature}", HTTP_GREENHOUSE_EVENT_ID="ping-1")


@pytest.fixture
def conn(company):
    return connections.add_connection(company, kind="greenhouse", secret=SECRET, api_key=API_KEY)


@pytest.mark.django_db
def test_the_database_holds_tokens_and_the_code_reads_the_secrets(client, company, conn):
    for column, plaintext in (("secret", SECRET), ("api_key", API_KEY)):
        raw = stored("intake_atsconnection", column, conn.pk)
        assert raw.startswith("enc:v1:") and plaintext not in raw
    fresh = AtsConnection.objects.get(pk=conn.pk)
    assert (fresh.secret, fresh.api_key) == (SECRET, API_KEY)
    # The vendor's signature still verifies against the stored secret, through the real endpoint.
    assert greenhouse_ping(client, conn, SECRET).status_code == 200
    assert greenhouse_ping(client, conn, "some-other-secret").status_code == 401

    company.dkim_private_key = PEM
    company.save()
    raw = stored("companies_company", "dkim_private_key", company.pk)
    assert raw.startswith("enc:v1:") and "PRIVATE KEY" not in raw
    assert Company.objects.get(pk=company.pk).dkim_private_key == PEM


@pytest.mark.django_db
def test_empty_stays_empty_and_the_database_is_never_asked_to_match_a_secret(company, conn):
    assert stored("companies_company", "dkim_private_key", company.pk) == ""
    AtsConnection.objects.filter(pk=conn.pk).update(api_key="")
    assert stored("intake_atsconnection", "api_key", conn.pk) == ""
    assert list(AtsConnection.objects.filter(api_key="")) == [conn]
    for lookup in ({"secret": SECRET}, {"secret__startswith": "g"}, {"api_key__in": [API_KEY]}):
        with pytest.raises(FieldError, match="encrypted"):
            AtsConnection.objects.filter(**lookup)


@pytest.mark.django_db
def test_a_wrong_key_is_a_clear_error_naming_the_fix(settings, conn):
    settings.TSUNAGU_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(encryption.DecryptionError) as raised:
        AtsConnection.objects.get(pk=conn.pk)
    message = str(raised.value)
    assert "intake.AtsConnection.secret" in message and "TSUNAGU_ENCRYPTION_KEY" in message
    assert "encryption_key file" in message


@pytest.mark.django_db
def test_rotation_reencrypts_with_the_newest_key_and_old_values_read_until_then(settings, company, conn, capsys):
    old = settings.TSUNAGU_ENCRYPTION_KEYS[0]
    company.dkim_private_key = PEM
    company.save()
    new = Fernet.generate_key().decode()
    settings.TSUNAGU_ENCRYPTION_KEYS = [new, old]
    # Before rotation: the old key's values still read; a value written now uses the new key.
    assert AtsConnection.objects.get(pk=conn.pk).secret == SECRET
    assert not encryption.is_current(stored("intake_atsconnection", "secret", conn.pk))

    call_command("secrets", "rotate")
    report = json.loads(capsys.readouterr().out)
    assert report["reencrypted"] == {"intake.AtsConnection.secret": 1, "intake.AtsConnection.api_key": 1,
                                     "companies.Company.dkim_private_key": 1, "companies.Company.chat_webhook_url": 0}
    assert report["keys"] == 2
    for table, column in (("intake_atsconnection", "secret"), ("intake_atsconnection", "api_key"),
                          ("companies_company", "dkim_private_key")):
        raw = stored(table, column, conn.pk if table.startswith("intake") else company.pk)
        assert Fernet(new).decrypt(raw.removeprefix("enc:v1:").encode())  # the new key alone opens it

    settings.TSUNAGU_ENCRYPTION_KEYS = [new]  # the old key removed
    fresh = AtsConnection.objects.get(pk=conn.pk)
    assert (fresh.secret, fresh.api_key) == (SECRET, API_KEY)
    assert Company.objects.get(pk=company.pk).dkim_private_key == PEM

    call_command("secrets", "rotate")  # nothing left to do
    assert set(json.loads(capsys.readouterr().out)["reencrypted"].values()) == {0}


@pytest.mark.django_db(transaction=True)
def test_the_migrations_encrypt_existing_rows_and_reverse_to_plaintext(make_company):
    company, _key = make_company()
    conn = connections.add_connection(company, kind="greenhouse", secret=SECRET, api_key=API_KEY)
    company.dkim_private_key = PEM
    company.save()
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate([("intake", "0004_kind_choices_from_adapters"), ("companies", "0007_audit_event")])
        # As the database was before encryption: plain text.
        assert stored("intake_atsconnection", "secret", conn.pk) == SECRET
        assert stored("intake_atsconnection", "api_key", conn.pk) == API_KEY
        assert stored("companies_company", "dkim_private_key", company.pk) == PEM
    finally:
        executor.loader.build_graph()
        executor.migrate(latest)
    assert stored("intake_atsconnection", "secret", conn.pk).startswith("enc:v1:")
    assert stored("companies_company", "dkim_private_key", company.pk).startswith("enc:v1:")
    fresh = AtsConnection.objects.get(pk=conn.pk)
    assert (fresh.secret, fresh.api_key) == (SECRET, API_KEY)
    assert Company.objects.get(pk=company.pk).dkim_private_key == PEM


def test_keys_from_the_environment_newest_first(tmp_path, monkeypatch):
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("TSUNAGU_ENCRYPTION_KEY", f" {first} , {second} ")
    assert config.encryption_keys(tmp_path) == [first, second]
    assert not (tmp_path / "encryption_key").exists()  # the environment's key is not copied to disk

    monkeypatch.setenv("TSUNAGU_ENCRYPTION_KEY", f"{first},not-a-key")
    with pytest.raises(config.ConfigError, match="TSUNAGU_ENCRYPTION_KEY: key 2 is not an encryption key") as bad:
        config.encryption_keys(tmp_path)
    assert first not in str(bad.value)


def test_keys_from_the_data_dir_made_once_private_and_new_keys_go_first(tmp_path, monkeypatch):
    monkeypatch.delenv("TSUNAGU_ENCRYPTION_KEY", raising=False)
    [made] = config.encryption_keys(tmp_path)
    key_file = tmp_path / "encryption_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert config.encryption_keys(tmp_path) == [made]  # made once, then read

    new = Fernet.generate_key().decode()
    config.add_encryption_key(tmp_path, new)
    assert config.encryption_keys(tmp_path) == [new, made]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    key_file.write_text(f"# rotated 2026-12-01\n{new}\n\n{made}\n")
    key_file.chmod(0o644)
    assert config.encryption_keys(tmp_path) == [new, made]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600  # tightened

    key_file.write_text("# nothing here\n")
    with pytest.raises(config.ConfigError, match="no encryption key"):
        config.encryption_keys(tmp_path)
