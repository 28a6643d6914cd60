"""The command line of the public contract, run as a user would run it."""

import json

import pytest

from tsunagu.testing import base_env, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_data_dir]  # the real command line in subprocesses


@pytest.fixture
def env(tmp_path):
    return base_env(str(tmp_path))


@pytest.fixture
def fresh_env(tmp_path):
    """A data dir as on a new machine: no database yet."""
    return base_env(str(tmp_path), fresh=True)


def test_company_create_prints_json_with_slug_and_key_on_a_fresh_data_dir(fresh_env):
    env = fresh_env
    result = run_cli(["company", "create", "--name", "株式会社つなぐ", "--slug", "tsunagu", "--delay-minutes", "30",
                      "--send-window", "always"], env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["slug"] == "tsunagu"
    assert data["api_key"].startswith("tsu_")

    again = run_cli(["company", "create", "--name", "株式会社つなぐ", "--slug", "tsunagu"], env)
    assert again.returncode != 0
    assert "既に使われています" in again.stderr


@pytest.mark.parametrize("args, expected", [
    (["company", "create", "--name", "株式会社X", "--slug", "x", "--send-window", "night"], "invalid choice"),
    (["company", "create", "--name", "株式会社X", "--slug", "Not A Slug"], "スラッグ"),
    (["company", "create", "--name", "株式会社X", "--slug", "x", "--delay-minutes", "-5"], "--delay-minutes"),
    (["company", "create", "--slug", "x"], "--name"),
    (["nonsense"], "unknown command"),
])
def test_bad_arguments_get_a_clear_error(env, args, expected):
    result = run_cli(args, env)
    assert result.returncode != 0
    assert expected in result.stderr


def test_user_create_gives_a_console_login(env):
    run_cli(["company", "create", "--name", "株式会社つなぐ", "--slug", "tsunagu"], env)
    result = run_cli(["user", "create", "--company", "tsunagu", "--email", "hr@tsunagu.example",
                      "--password", "correct-horse-battery", "--role", "admin"], env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["role"] == "admin"
    missing = run_cli(["user", "create", "--company", "nope", "--email", "a@b.example", "--password", "x" * 10], env)
    assert missing.returncode != 0 and "no company" in missing.stderr
    short = run_cli(["user", "create", "--company", "tsunagu", "--email", "b@b.example", "--password", "short"], env)
    assert short.returncode != 0


def test_demo_prints_a_login_and_is_loaded_once(fresh_env):
    env = fresh_env
    first = run_cli(["demo", "--if-new"], env)
    assert first.returncode == 0, first.stderr
    assert "login:" in first.stdout and "admin@demo.example" in first.stdout
    assert "operator@demo.example" in first.stdout  # the operator's desk has its own login (second factor)
    second = run_cli(["demo", "--if-new"], env)
    assert second.stdout.split("password:")[1].strip() == first.stdout.split("password:")[1].strip()


def test_bad_environment_is_reported_clearly(env):
    result = run_cli(["company", "create", "--name", "X", "--slug", "x"], {**env, "TSUNAGU_EMAIL_URL": "pigeon://coop"})
    assert result.returncode == 2
    assert "TSUNAGU_EMAIL_URL" in result.stderr and "Traceback" not in result.stderr


def test_scale_out_processes_refuse_an_unmigrated_database(fresh_env):
    result = run_cli(["worker"], fresh_env, timeout=30)
    assert result.returncode == 2
    assert "tsunagu manage migrate" in result.stderr


def test_help_lists_the_commands(env):
    result = run_cli(["--help"], env)
    assert result.returncode == 0
    for command in ["serve", "web", "worker", "scheduler", "demo", "company create", "user create", "manage"]:
        assert command in result.stdout
