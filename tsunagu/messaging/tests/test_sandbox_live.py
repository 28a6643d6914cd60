"""Issue 11 against a real `tsunagu serve`: while hostile previews render, /healthz answers, each preview answers
with its reason in Japanese, and the server's render processes go away with it."""

import threading
import time
from pathlib import Path

import pytest
import requests

from tsunagu.testing import run_cli, running_tsunagu

pytestmark = pytest.mark.slow

HOSTILE = [
    "{{ ([range(2000)|list]*2000)|sum(start=[])|length }}",
    "{{ ([range(4000)|list]*4000)|sum(start=[])|length }}",
    "{{ ([[[0]*300]*300]*300)|string }}",
]


def logged_in(server, email: str, password: str) -> requests.Session:
    http = requests.Session()
    login = f"{server.url}/console/login/"
    http.get(login, timeout=30)
    answer = http.post(login, data={"username": email, "password": password,
                                    "csrfmiddlewaretoken": http.cookies["csrftoken"]},
                       headers={"Referer": login}, timeout=30, allow_redirects=False)
    assert answer.status_code == 302, answer.text[:500]
    return http


def render_processes_of(pid: int) -> set[int]:
    """The render processes a process started (its children running tsunagu.lib.process_pool)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if parent == pid and b"tsunagu.lib.process_pool" in command:
            found.add(int(entry.name))
    return found


def test_healthz_answers_while_hostile_previews_render_and_each_gets_its_reason():
    with running_tsunagu() as (server, company):
        created = run_cli(["user", "create", "--company", company["slug"], "--email", "hr@e2e.example",
                           "--password", "a-long-password-1", "--role", "admin"], server.env)
        assert created.returncode == 0, created.stderr
        http = logged_in(server, "hr@e2e.example", "a-long-password-1")
        url = f"{server.url}/console/templates/rejection/preview/"
        answers = []

        def post(body):
            answers.append(http.post(url, data={"subject": "件名", "body_text": body,
                                                "csrfmiddlewaretoken": http.cookies["csrftoken"]},
                                     headers={"Referer": url}, timeout=120))

        posters = [threading.Thread(target=post, args=(body,)) for body in HOSTILE * 2]
        for poster in posters:
            poster.start()
        health = [requests.get(f"{server.url}/healthz", timeout=30).status_code for _ in range(20)]
        for poster in posters:
            poster.join()
        assert health == [200] * 20
        assert [answer.status_code for answer in answers] == [200] * len(posters)
        assert all("作られる文字が多すぎます(1通あたり200,000文字まで)" in answer.text for answer in answers)
        ordinary = http.post(url, data={"subject": "件名", "body_text": "{{ company_name }}より",
                                        "csrfmiddlewaretoken": http.cookies["csrftoken"]},
                             headers={"Referer": url}, timeout=60)
        assert "株式会社つなぐテストより" in ordinary.text
        render_processes = render_processes_of(server.process.pid)
        assert render_processes
    # The server stopped: its render processes stopped with it.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(running(pid) for pid in render_processes):
        time.sleep(0.1)
    assert not any(running(pid) for pid in render_processes)


def running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
