"""Login throttling (django-axes) over real HTTP: after 10 failures an account, or an address, is refused, even with
the right password, on the console's login page and on /admin/, with a clear message; it opens again after the
cool-off or with `tsunagu security unlock`."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tsunagu.companies.actions import create_user
from tsunagu.testing import base_env, run_cli

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-password"
LOCKED = "ログインの失敗が続いたため"
LIMIT = 10


@pytest.fixture
def user(company):
    return create_user(email="hr@acme.example", password=PASSWORD, company=company, role="admin").user


def log_in(client, username, password, path="/console/login/", **extra):
    return client.post(path, {"username": username, "password": password}, **extra)


def signed_in(client) -> bool:
    return client.get("/console/").status_code == 200


def fail(client, username, times=LIMIT, **extra):
    """Wrong passwords; the one that reaches the limit already answers with the lockout."""
    for _ in range(times):
        response = log_in(client, username, "wrong-password", **extra)
        assert response.status_code in (200, 429)
    return response


def test_ten_wrong_passwords_lock_the_account_even_for_the_right_one(client, user):
    response = fail(client, "hr@acme.example", LIMIT - 1)
    assert response.status_code == 200 and LOCKED not in response.content.decode()
    response = log_in(client, "HR@acme.example ", "wrong-password")  # the same account, however it is typed
    assert response.status_code == 429
    response = log_in(client, "hr@acme.example", PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert LOCKED in page and "15分ほど待ってから" in page and 'id="id_username"' in page
    assert not signed_in(client)


def test_the_account_is_locked_from_every_address(user):
    for number in range(LIMIT):
        fail(Client(REMOTE_ADDR=f"198.51.100.{number + 1}"), "hr@acme.example", times=1)
    response = log_in(Client(REMOTE_ADDR="203.0.113.9"), "hr@acme.example", PASSWORD)
    assert response.status_code == 429 and LOCKED in response.content.decode()


def test_one_address_trying_many_accounts_is_locked_and_others_are_not(user):
    attacker = Client(REMOTE_ADDR="198.51.100.7")
    for number in range(LIMIT):
        fail(attacker, f"guess{number}@acme.example", times=1)
    # From that address even a real account with its right password is refused ...
    assert log_in(attacker, "hr@acme.example", PASSWORD).status_code == 429
    # ... while the account's owner, elsewhere, signs in.
    owner = Client(REMOTE_ADDR="203.0.113.9")
    assert log_in(owner, "hr@acme.example", PASSWORD).status_code == 302 and signed_in(owner)


def test_behind_trusted_proxies_the_forwarded_client_counts_and_spoofed_entries_do_not(settings, user):
    settings.TSUNAGU_TRUSTED_PROXIES = 1
    proxy = "10.0.0.2"
    attacker = Client(REMOTE_ADDR=proxy)
    for number in range(LIMIT):
        # The leftmost entry is the attacker's own invention; the proxy appended the real address.
        fail(attacker, f"guess{number}@acme.example", times=1,
             HTTP_X_FORWARDED_FOR=f"192.0.2.{number}, 198.51.100.7")
    assert log_in(attacker, "hr@acme.example", PASSWORD,
                  HTTP_X_FORWARDED_FOR="192.0.2.200, 198.51.100.7").status_code == 429
    colleague = Client(REMOTE_ADDR=proxy)  # another client behind the same proxy
    assert log_in(colleague, "hr@acme.example", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 302


def test_without_trusted_proxies_a_forwarded_header_does_not_escape_the_lockout(user):
    attacker = Client(REMOTE_ADDR="198.51.100.7")
    for number in range(LIMIT):
        fail(attacker, f"guess{number}@acme.example", times=1, HTTP_X_FORWARDED_FOR=f"192.0.2.{number}")
    assert log_in(attacker, "hr@acme.example", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 429


def test_the_lockout_ends_after_the_cool_off(client, user):
    fail(client, "hr@acme.example")
    assert log_in(client, "hr@acme.example", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert log_in(client, "hr@acme.example", PASSWORD).status_code == 302 and signed_in(client)


def security(*args) -> dict | list:
    """`tsunagu security ...` in this process (the command line itself is run in test_security_command_line)."""
    out = io.StringIO()
    call_command("security", *args, stdout=out)
    return json.loads(out.getvalue())


def test_security_unlock_lifts_it_and_lockouts_lists_it(client, user):
    fail(client, "hr@acme.example")
    listed = security("lockouts")
    assert {"by": "account", "who": "hr@acme.example", "failures": LIMIT, "locked": True}.items() <= listed[0].items()
    assert security("unlock", "HR@acme.example")["email"] == "hr@acme.example"
    assert log_in(client, "hr@acme.example", PASSWORD).status_code == 302 and signed_in(client)


def test_security_unlock_by_address(user):
    attacker = Client(REMOTE_ADDR="198.51.100.7")
    for number in range(LIMIT):
        fail(attacker, f"guess{number}@acme.example", times=1)
    assert log_in(attacker, "hr@acme.example", PASSWORD).status_code == 429
    assert security("unlock", "--ip", "198.51.100.7")["cleared_records"] == LIMIT
    assert log_in(attacker, "hr@acme.example", PASSWORD).status_code == 302


@pytest.mark.slow
@pytest.mark.sqlite_data_dir
def test_security_command_line(tmp_path):
    env = base_env(str(tmp_path))
    created = run_cli(["user", "create", "--operator", "--email", "staff@relay.example", "--password", PASSWORD], env)
    assert created.returncode == 0, created.stderr
    for args, expected in [(["security", "unlock", "staff@relay.example"], {"email": "staff@relay.example",
                                                                          "cleared_records": 0}),
                           (["security", "reset-2fa", "staff@relay.example"], {"email": "staff@relay.example",
                                                                             "removed_devices": 0}),
                           (["security", "lockouts"], [])]:
        result = run_cli(args, env)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == expected
    assert "security unlock" in run_cli(["--help"], env).stdout


def test_the_admin_login_is_throttled_too_and_shares_the_count(client):
    get_user_model().objects.create_superuser("root@operator.example", "root@operator.example", PASSWORD)
    fail(client, "root@operator.example", LIMIT // 2)  # on the console's page
    for _ in range(LIMIT - LIMIT // 2):  # then on the admin's
        response = log_in(client, "root@operator.example", "wrong-password", path="/admin/login/")
    assert response.status_code == 429
    response = log_in(client, "root@operator.example", PASSWORD, path="/admin/login/?next=/admin/")
    assert response.status_code == 429 and LOCKED in response.content.decode()
    assert client.get("/admin/").status_code == 302  # still the login page


class CountingHasher(MD5PasswordHasher):
    """The test settings' fast hasher, counting how often a password is hashed."""

    calls = 0

    def encode(self, password, salt, *args, **kwargs):
        CountingHasher.calls += 1
        return super().encode(password, salt, *args, **kwargs)


def test_a_locked_out_login_hashes_no_password(client, settings, company):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    create_user(email="hr@acme.example", password=PASSWORD, company=company, role="admin")
    fail(client, "hr@acme.example")
    CountingHasher.calls = 0
    for _ in range(5):
        assert log_in(client, "hr@acme.example", PASSWORD).status_code == 429
        assert log_in(client, "nobody@acme.example", "anything").status_code == 429
    assert CountingHasher.calls == 0
