"""Secrets at rest through the real command line: a fresh data dir is private (0700, its files 0600), looser
modes are tightened, secrets are stored encrypted, `tsunagu secrets new-key` and `rotate` move them to a new
key, and a wrong key is a clear error."""

import json
import sqlite3
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tsunagu.testing import base_env, run_cli

pytestmark = pytest.mark.slow  # each test runs the real command line in a subprocess

SECRET = "a-shared-secret-1234"
PRIVATE_FILES = ["tsunagu.sqlite3", "queue.sqlite3", "secret_key", "encryption_key", "email_webhook_secret"]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def connect_greenhouse(env) -> None:
    created = run_cli(["company", "create", "--name", "株式会社つなぐ", "--slug", "tsunagu"], env)
    assert created.returncode == 0, created.stderr
    added = run_cli(["ats", "add", "--company", "tsunagu", "--kind", "greenhouse", "--secret", SECRET], env)
    assert added.returncode == 0, added.stderr


def stored_secret(data_dir: Path) -> str:
    with sqlite3.connect(data_dir / "tsunagu.sqlite3") as db:
        return db.execute("SELECT secret FROM intake_atsconnection").fetchone()[0]


def opens_with(key: str, token: str) -> str:
    return Fernet(key).decrypt(token.removeprefix("enc:v1:").encode()).decode()


@pytest.mark.sqlite_data_dir
def test_a_fresh_data_dir_is_private_to_its_owner(tmp_path):
    data_dir = tmp_path / "data"
    result = run_cli(["manage", "migrate", "-v", "0"], base_env(str(data_dir), fresh=True))
    assert result.returncode == 0, result.stderr
    assert mode(data_dir) == 0o700
    for name in PRIVATE_FILES:
        assert mode(data_dir / name) == 0o600, name
    for name in ("tsunagu.sqlite3-wal", "tsunagu.sqlite3-shm"):  # SQLite gives them the database's mode
        if (data_dir / name).exists():
            assert mode(data_dir / name) == 0o600, name


@pytest.mark.sqlite_data_dir
def test_looser_modes_of_an_existing_data_dir_are_tightened(tmp_path):
    data_dir = tmp_path / "data"
    assert run_cli(["manage", "migrate", "-v", "0"], base_env(str(data_dir), fresh=True)).returncode == 0
    data_dir.chmod(0o755)
    for name in PRIVATE_FILES:
        (data_dir / name).chmod(0o644)
    result = run_cli(["manage", "check"], base_env(str(data_dir)))
    assert result.returncode == 0, result.stderr
    assert mode(data_dir) == 0o700
    for name in PRIVATE_FILES:
        assert mode(data_dir / name) == 0o600, name


@pytest.mark.sqlite_data_dir
def test_secrets_are_stored_encrypted_and_rotate_to_a_new_key_in_the_data_dir(tmp_path):
    env = base_env(str(tmp_path))
    connect_greenhouse(env)
    [old] = (tmp_path / "encryption_key").read_text().split()
    assert SECRET not in stored_secret(tmp_path) and opens_with(old, stored_secret(tmp_path)) == SECRET

    added = run_cli(["secrets", "new-key"], env)
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["keys"] == 2
    new, kept = (tmp_path / "encryption_key").read_text().split()
    assert kept == old and mode(tmp_path / "encryption_key") == 0o600

    rotated = run_cli(["secrets", "rotate"], env)
    assert rotated.returncode == 0, rotated.stderr
    assert json.loads(rotated.stdout)["reencrypted"]["intake.AtsConnection.secret"] == 1
    assert opens_with(new, stored_secret(tmp_path)) == SECRET


@pytest.mark.sqlite_data_dir
def test_a_key_from_the_environment_is_used_and_a_wrong_one_is_a_clear_error(tmp_path):
    key = Fernet.generate_key().decode()
    env = base_env(str(tmp_path), TSUNAGU_ENCRYPTION_KEY=key)
    connect_greenhouse(env)
    assert not (tmp_path / "encryption_key").exists()
    assert opens_with(key, stored_secret(tmp_path)) == SECRET

    printed = run_cli(["secrets", "new-key"], env)
    assert printed.returncode == 0, printed.stderr
    new = json.loads(printed.stdout)["key"]
    rotated = run_cli(["secrets", "rotate"], {**env, "TSUNAGU_ENCRYPTION_KEY": f"{new},{key}"})
    assert rotated.returncode == 0, rotated.stderr
    assert opens_with(new, stored_secret(tmp_path)) == SECRET

    wrong = run_cli(["secrets", "rotate"], {**env, "TSUNAGU_ENCRYPTION_KEY": key})
    assert wrong.returncode != 0
    assert "Cannot decrypt intake.AtsConnection.secret" in wrong.stderr
    assert "TSUNAGU_ENCRYPTION_KEY" in wrong.stderr and "Traceback" not in wrong.stderr

    bad = run_cli(["secrets", "rotate"], {**env, "TSUNAGU_ENCRYPTION_KEY": "not-a-key"})
    assert bad.returncode == 2
    assert "TSUNAGU_ENCRYPTION_KEY: key 1 is not an encryption key" in bad.stderr
