"""The whole loop through the real server, a real SMTP server and plain HTTP, as a new user would try it."""

import re
import time
from pathlib import Path

import pytest
import requests

from tsunagu.testing import (
    QUICK_REGISTRATION_ENV,
    QUICK_REGISTRATION_SECONDS,
    Server,
    running_tsunagu,
    text_part,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def csrf_token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_rejection_notice_registration_verification_and_ledger(smtp_server):
    with running_tsunagu(smtp_port=smtp_server.port, **QUICK_REGISTRATION_ENV) as (server, company):
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {company['api_key']}"
        body = {
            "external_id": "A-1001",
            "candidate": {"name": "髙橋 𠮷子", "name_kana": "タカハシ ヨシコ", "email": "yoshiko@example.jp",
                          "phone": "090-1234-5678"},
            "job": {"external_id": "J-1", "title": "バックエンドエンジニア", "category": "エンジニア"},
            "stage": "一次面接", "status": "rejected", "rejection_reason": "スキル不一致",
            "occurred_at": "2026-11-21T10:00:00+09:00",
        }
        response = api.post(server.url + "/api/v1/applications", json=body, timeout=10)
        assert response.status_code == 201, response.text

        [notice] = smtp_server.wait_for(1, timeout=20)
        mail = notice["message"]
        assert mail["Subject"] == "選考結果のご連絡(株式会社つなぐテスト)"
        text = text_part(mail)
        assert text.startswith("髙橋 𠮷子様")
        link = re.search(r"http://127\.0\.0\.1:\d+/r/\S+", text).group(0)

        # The worker marks the row sent once the SMTP server has accepted the mail: a moment after it arrived.
        deadline = time.monotonic() + 20
        while True:
            messages = api.get(server.url + "/api/v1/messages", params={"application": "A-1001"}, timeout=10).json()
            if [m["status"] for m in messages] != ["sending"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert [(m["kind"], m["status"]) for m in messages] == [("rejection", "sent")]

        # A person reads the mail before registering: a form within seconds of delivery is held for review.
        time.sleep(QUICK_REGISTRATION_SECONDS + 1)
        candidate = requests.Session()
        landing = candidate.get(link, timeout=10)
        assert landing.status_code == 200 and "キャリアリレー" in landing.text
        submitted = candidate.post(link, data={
            "csrfmiddlewaretoken": csrf_token(landing.text), "name": "髙橋 𠮷子", "email": "yoshiko@example.jp",
            "desired_job": "エンジニア", "desired_region": "東京都", "consent_purpose": "on",
            "consent_provision": "on",
            # The digest of the consent texts the page showed: what the person agreed to, word for word.
            "consent_digest": re.search(r'name="consent_digest" value="([^"]+)"', landing.text).group(1),
        }, headers={"Referer": link}, timeout=10)
        assert submitted.status_code == 200 and "確認メールをお送りしました" in submitted.text

        received = smtp_server.wait_for(2, timeout=20)
        verification = received[1]["message"]
        assert verification["To"].addresses[0].display_name == "髙橋 𠮷子"
        verify_link = re.search(r"http://127\.0\.0\.1:\d+/r/verify/\S+", text_part(verification)).group(0)
        page = candidate.get(verify_link, timeout=10)
        assert "登録を完了する" in page.text
        done = candidate.post(verify_link, data={"csrfmiddlewaretoken": csrf_token(page.text)},
                              headers={"Referer": verify_link}, timeout=10)
        assert "ご登録が完了しました" in done.text

        ledger = api.get(server.url + "/api/v1/relay/ledger", timeout=10).json()
        assert ledger["credits"] == 1 and ledger["slots_earned"] == 0 and ledger["credits_to_next_slot"] == 9


def test_notices_planned_while_no_worker_ran_go_out_once_even_if_the_queue_was_lost(smtp_server):
    """Intent lives in the outbox table: a lost queue and a restart lose nothing and send nothing twice."""
    with running_tsunagu(smtp_port=smtp_server.port, command="web") as (web, company):
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {company['api_key']}"
        for index in range(3):
            response = api.post(web.url + "/api/v1/applications", timeout=10, json={
                "external_id": f"R-{index}", "candidate": {"name": "山﨑 太郎", "email": f"t{index}@example.jp"},
                "job": {"title": "法人営業"}, "status": "rejected"})
            assert response.status_code == 201
        time.sleep(1)
        assert smtp_server.received == []  # only the web server runs: nothing is sent yet
        web.stop()
        queue_file = Path(web.env["TSUNAGU_DATA_DIR"]) / "queue.sqlite3"
        queue_file.unlink()  # the queue and every task in it is lost

        full = Server(web.env, web.port, "serve")
        try:
            full.wait_until_up()
            smtp_server.wait_for(3, timeout=20)
            time.sleep(2.5)  # at least one more scheduler sweep: nothing may go out twice
            assert sorted(m["rcpt"][0] for m in smtp_server.received) == [f"t{i}@example.jp" for i in range(3)]
            statuses = [m["status"] for m in api.get(full.url + "/api/v1/messages", timeout=10).json()]
            assert statuses == ["sent", "sent", "sent"]
        finally:
            full.stop()
