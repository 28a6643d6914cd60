"""RFC 8058 through the real server: the URL a real SMTP server received, POSTed over plain HTTP as a mail
provider does it (no cookies, both encodings), and what the server sends, and does not send, afterwards."""

import json
import re
import time

import pytest
import requests

from tsunagu.testing import run_cli, running_tsunagu, text_part

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def rejection(external_id: str, job_title: str) -> dict:
    return {"external_id": external_id, "status": "rejected",
            "candidate": {"name": "髙橋 𠮷子", "email": "yoshiko@example.jp"},
            "job": {"external_id": f"J-{external_id}", "title": job_title}}


def list_unsubscribe_url(received: dict) -> str:
    mail = received["message"]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.findall(r"<([^>]+)>", str(mail["List-Unsubscribe"]))[0]
    assert url in text_part(mail)  # the visible footer carries the same link
    return url


def test_one_click_unsubscribe_through_tsunagu_serve(smtp_server):
    with running_tsunagu(smtp_port=smtp_server.port) as (server, company):
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {company['api_key']}"
        assert api.post(server.url + "/api/v1/applications", json=rejection("A-1", "営業"), timeout=10).ok
        [notice] = smtp_server.wait_for(1, timeout=20)
        url = list_unsubscribe_url(notice)
        assert url.startswith(server.url + "/u/")

        # A scanner's GET changes nothing; the provider's POST (urlencoded, no cookies) stops the mail.
        assert "配信を停止する" in requests.get(url, timeout=10).text
        response = requests.post(url, data={"List-Unsubscribe": "One-Click"}, allow_redirects=False, timeout=10)
        assert response.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert response.status_code == 200 and not response.is_redirect
        assert "配信を停止しました" in response.text

        assert api.post(server.url + "/api/v1/applications", json=rejection("A-2", "経理"), timeout=10).ok
        [held] = api.get(server.url + "/api/v1/messages", params={"application": "A-2"}, timeout=10).json()
        assert held["status"] == "suppressed" and "配信停止の申し出" in held["status_reason"]

        # Another company's notice to the same address goes out, and its one-click works in multipart.
        other = run_cli(["company", "create", "--name", "株式会社べつ", "--slug", "other", "--delay-minutes", "0",
                         "--send-window", "always"], server.env)
        other_key = json.loads(other.stdout.strip().splitlines()[-1])["api_key"]
        other_api = requests.Session()
        other_api.headers["Authorization"] = f"Bearer {other_key}"
        assert other_api.post(server.url + "/api/v1/applications", json=rejection("B-1", "営業"), timeout=10).ok
        received = smtp_server.wait_for(2, timeout=20)
        assert received[1]["message"]["Subject"] == "選考結果のご連絡(株式会社べつ)"
        other_url = list_unsubscribe_url(received[1])
        response = requests.post(other_url, files={"List-Unsubscribe": (None, "One-Click")}, allow_redirects=False,
                                 timeout=10)
        assert response.request.headers["Content-Type"].startswith("multipart/form-data")
        assert response.status_code == 200

        assert other_api.post(server.url + "/api/v1/applications", json=rejection("B-2", "経理"), timeout=10).ok
        [other_held] = other_api.get(server.url + "/api/v1/messages", params={"application": "B-2"},
                                     timeout=10).json()
        assert other_held["status"] == "suppressed"
        time.sleep(1.5)  # a worker would have sent by now (the first notices took well under a second)
        assert len(smtp_server.received) == 2
