"""`tsunagu backup PATH`, run as an operator would: while another process writes, and restored into a new data
dir that then works (its stored secrets readable, new writes accepted)."""

import json
import shutil
import sqlite3
import subprocess
import sys
import time

import pytest

from tsunagu.testing import base_env, run_cli

pytestmark = pytest.mark.slow  # the real command line in subprocesses

# Writes rows in transactions of BATCH rows each, as fast as it can, until killed: a backup holding part of a
# transaction would show a batch of another size.
BATCH = 100
WRITER = f"""
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE IF NOT EXISTS probe (batch INTEGER, n INTEGER, filler TEXT)")
print("ready", flush=True)
batch = 0
while True:
    batch += 1
    db.execute("BEGIN IMMEDIATE")
    db.executemany("INSERT INTO probe VALUES (?, ?, ?)", [(batch, n, "x" * 200) for n in range({BATCH})])
    db.execute("COMMIT")
"""


def last_json(result) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.sqlite_data_dir
def test_a_backup_taken_during_writes_restores_to_a_working_data_dir(tmp_path):
    data = tmp_path / "data"
    env = base_env(str(data))
    last_json(run_cli(["company", "create", "--name", "株式会社バックアップ", "--slug", "backup"], env))
    run_cli(["ats", "add", "--company", "backup", "--kind", "greenhouse", "--secret", "whsec-backup-1"], env)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(data / "tsunagu.sqlite3")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(0.5)  # writing in full flow
        summary = last_json(run_cli(["backup", str(tmp_path / "backup")], env))
        time.sleep(0.2)
        assert writer.poll() is None  # the writer was never blocked out
    finally:
        writer.kill()
        writer.wait()

    assert summary["databases"]["tsunagu.sqlite3"]["integrity"] == "ok"
    assert {"secret_key", "encryption_key"} <= set(summary["files"])
    copy = sqlite3.connect(tmp_path / "backup" / "tsunagu.sqlite3")
    sizes = copy.execute("SELECT count(*), min(size), max(size) FROM "
                         "(SELECT batch, count(*) AS size FROM probe GROUP BY batch)").fetchone()
    copy.close()
    assert sizes[0] > 0 and sizes[1:] == (BATCH, BATCH), sizes  # whole transactions only
    assert oct((tmp_path / "backup").stat().st_mode & 0o777) == "0o700"

    # Restored: a new data dir made of the backup alone serves reads (secrets decrypted with the copied key)
    # and takes writes.
    restored = tmp_path / "restored"
    shutil.copytree(tmp_path / "backup", restored)
    restored_env = base_env(str(restored))
    check = run_cli(["manage", "shell", "-c",
                     "from tsunagu.intake.models import AtsConnection; "
                     "print(AtsConnection.objects.get(company__slug='backup').secret)"], restored_env)
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip().splitlines()[-1] == "whsec-backup-1"
    assert last_json(run_cli(["company", "create", "--name", "復元後の会社", "--slug", "after"], restored_env))[
        "slug"] == "after"


@pytest.mark.sqlite_data_dir
def test_a_backup_never_overwrites_and_never_lands_in_the_data_dir(tmp_path):
    data = tmp_path / "data"
    env = base_env(str(data))
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("earlier backup")
    refused = run_cli(["backup", str(taken)], env)
    assert refused.returncode != 0 and "already exists" in refused.stderr
    assert [path.name for path in taken.iterdir()] == ["keep.txt"]

    inside = run_cli(["backup", str(data / "backups")], env)
    assert inside.returncode != 0 and "inside the data dir" in inside.stderr
    assert not (data / "backups").exists()

    empty = tmp_path / "empty"
    empty.mkdir()
    assert last_json(run_cli(["backup", str(empty)], env))["path"] == str(empty)


def test_with_postgresql_only_the_files_are_copied_and_the_json_says_how_to_back_up_the_database(tmp_path):
    from tsunagu.core.backup import make_backup

    data = tmp_path / "data"
    data.mkdir()
    (data / "secret_key").write_text("s")
    (data / "static").mkdir()
    (data / "static" / "app.css").write_text("body{}")
    summary = make_backup(data, tmp_path / "b", database_vendor="postgresql", encryption_key_in_environment=True)
    assert summary["databases"] == {} and summary["files"] == ["secret_key"]
    assert "pg_dump" in summary["database"] and "TSUNAGU_ENCRYPTION_KEY" in summary["encryption_key"]
    assert sorted(path.name for path in (tmp_path / "b").iterdir()) == ["secret_key"]  # static files are rebuilt


def test_a_copy_that_fails_leaves_no_backup_behind(tmp_path, monkeypatch):
    from tsunagu.core import backup

    data = tmp_path / "data"
    data.mkdir()
    (data / "secret_key").write_text("s")
    sqlite3.connect(data / "tsunagu.sqlite3").execute("CREATE TABLE t (a)").connection.commit()
    def corrupt_copy(source, copy):
        copy.write_bytes(b"half")
        raise backup.BackupError("the copy of tsunagu.sqlite3 failed its integrity check")

    monkeypatch.setattr(backup, "_copy_database", corrupt_copy)
    with pytest.raises(backup.BackupError):
        backup.make_backup(data, tmp_path / "b", database_vendor="sqlite", encryption_key_in_environment=False)
    assert not (tmp_path / "b").exists()
