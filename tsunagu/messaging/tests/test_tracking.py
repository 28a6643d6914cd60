"""Tracked links and the open pixel: signed, never an open redirect, machine traffic flagged, nothing lost."""

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from tsunagu.messaging.actions import tracking_events
from tsunagu.messaging.models import EventKind, Message, MessageEvent, MessageKind, MessageStatus
from tsunagu.messaging.selectors import message_timeline
from tsunagu.messaging.tracking import links, rules, tokens
from tsunagu.messaging.views import tracking as tracking_views
from tsunagu.relay.models import Click
from tsunagu.testing import application_body

pytestmark = pytest.mark.django_db

BROWSER = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
           "Version/17.5 Mobile/15E148 Safari/604.1")
TARGET = "https://careers.acme.example/jobs?category=エンジニア&from=mail"


def sent_message(company, *, minutes_ago=60, key="rejection:1", to_email="yoshiko@example.jp") -> Message:
    sent_at = timezone.now() - timedelta(minutes=minutes_ago)
    return Message.objects.create(company=company, kind=MessageKind.REJECTION, key=key, to_email=to_email,
                                  to_name="髙橋 𠮷子", status=MessageStatus.SENT, send_at=sent_at, sent_at=sent_at)


def click_path(message, url=TARGET) -> str:
    return "/t/c/" + tokens.click_token(url, message_id=message.pk, company_id=message.company_id,
                                          sent_at=message.sent_at)


def open_path(message) -> str:
    return "/t/o/" + tokens.open_token(message_id=message.pk, company_id=message.company_id,
                                         sent_at=message.sent_at) + ".gif"


# --- the redirect ---------------------------------------------------------------------------------

def test_a_click_later_redirects_to_the_signed_url_and_counts_as_a_person(client, company, events):
    message = sent_message(company, minutes_ago=30)
    response = client.get(click_path(message), headers={"User-Agent": BROWSER})
    assert response.status_code == 302
    assert response["Location"] == "https://careers.acme.example/jobs?category=%E3%82%A8%E3%83%B3%E3%82%B8%E3%83%8B%E3%82%A2&from=mail"
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "no-referrer"

    assert MessageEvent.objects.count() == 0  # buffered: the candidate did not wait for the database
    assert tracking_events.flush() == 1
    event = MessageEvent.objects.get()
    assert (event.kind, event.message_id, event.company_id) == (EventKind.CLICKED, message.pk, company.pk)
    assert event.url == TARGET and event.user_agent == BROWSER
    assert (event.machine, event.machine_reason, event.source) == (False, "", "tracking")
    assert tracking_events.flush() == 0


def test_the_redirect_reads_nothing_from_the_database(client, company, events, django_assert_num_queries):
    message = sent_message(company)
    path = click_path(message)
    with django_assert_num_queries(0):
        response = client.get(path, headers={"User-Agent": BROWSER})
    assert response.status_code == 302


def tampered_tokens(message):
    token = tokens.click_token(TARGET, message_id=message.pk, company_id=message.company_id,
                                 sent_at=message.sent_at)
    head, url, signature = token.rsplit(".", 2)
    other_url = tokens.b64("https://evil.example/phish")
    other_key = tokens.signature(b"k" * 32, b"c", f"{head}.{other_url}")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    return {
        "another URL, same signature": f"{head}.{other_url}.{signature}",
        "signed with another key": f"{head}.{other_url}.{other_key}",
        "altered signature": f"{head}.{url}.{flipped}",
        "another message id": f"{tokens.b62_encode(message.pk + 1)}{head[head.index('.'):]}.{url}.{signature}",
        "the open pixel's token": tokens.open_token(message_id=message.pk, company_id=message.company_id),
        "truncated": token[:-5],
        "garbage": "not-a-token",
    }


@pytest.mark.parametrize("case", ["another URL, same signature", "signed with another key", "altered signature",
                                  "another message id", "the open pixel's token", "truncated", "garbage"])
def test_a_tampered_token_is_404_and_never_redirects(client, company, events, case):
    message = sent_message(company)
    response = client.get("/t/c/" + tampered_tokens(message)[case], headers={"User-Agent": BROWSER})
    assert response.status_code == 404
    assert "Location" not in response
    assert events.pending() == 0


def test_only_http_urls_can_be_signed():
    for url in ("javascript:alert(1)", "//evil.example/", "data:text/html,x", "ftp://example.jp/"):
        with pytest.raises(ValueError):
            tokens.click_token(url, message_id=1, company_id=1)


def test_old_links_still_work_after_the_secret_key_is_rotated(client, company, events, settings):
    message = sent_message(company)
    path = click_path(message)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    assert client.get(path, headers={"User-Agent": BROWSER}).status_code == 302
    settings.SECRET_KEY_FALLBACKS = []
    assert client.get(path, headers={"User-Agent": BROWSER}).status_code == 404


# --- machine traffic ------------------------------------------------------------------------------

def test_a_head_request_is_recorded_flagged_and_answered_without_a_body(client, company, events):
    message = sent_message(company)
    response = client.head(click_path(message), headers={"User-Agent": BROWSER})
    assert response.status_code == 302 and response.content == b""
    tracking_events.flush()
    event = MessageEvent.objects.get()
    assert (event.machine, event.machine_reason) == (True, "head")


@pytest.mark.parametrize(("agent", "reason"), [
    ("Mozilla/5.0 (compatible; Proofpoint URL Defense)", "agent:Proofpoint"),
    ("Barracuda Sentinel (EE)", "agent:Barracuda"),
    ("Mimecast URL Protect/1.0", "agent:Mimecast"),
    ("Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)", "agent:Microsoft Office link check"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36",
     "agent:headless browser"),
    ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "agent:Slack link preview"),
    ("python-requests/2.32.3", "agent:script"),
    ("Mozilla/5.0", "agent:generic client"),
    ("", "no_user_agent"),
])
def test_scanner_user_agents_are_recorded_but_flagged(client, company, events, agent, reason):
    message = sent_message(company)
    response = client.get(click_path(message), headers={"User-Agent": agent})
    assert response.status_code == 302  # a scanner is answered like anyone (blocking it would look suspicious)
    tracking_events.flush()
    event = MessageEvent.objects.get()
    assert (event.machine, event.machine_reason, event.user_agent) == (True, reason, agent)


def test_a_click_right_after_sending_is_flagged_and_a_later_one_is_not(client, company, events):
    just_sent = sent_message(company, minutes_ago=0, key="rejection:1")
    earlier = sent_message(company, minutes_ago=5, key="rejection:2", to_email="b@example.jp")
    client.get(click_path(just_sent), headers={"User-Agent": BROWSER})
    client.get(click_path(earlier), headers={"User-Agent": BROWSER})
    tracking_events.flush()
    flags = dict(MessageEvent.objects.values_list("message_id", "machine_reason"))
    assert flags == {just_sent.pk: "too_soon", earlier.pk: ""}


def test_the_rules(settings):
    reason = rules.machine_reason
    assert reason("clicked", method="GET", user_agent=BROWSER, seconds_since_sent=9.9) == "too_soon"
    assert reason("clicked", method="GET", user_agent=BROWSER, seconds_since_sent=10) == ""
    assert reason("opened", method="GET", user_agent="Mozilla/5.0", seconds_since_sent=3600) == \
        "agent:Apple Mail Privacy Protection"
    gmail = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
    assert reason("opened", method="GET", user_agent=gmail, seconds_since_sent=3600) == "agent:Google image proxy"
    # Outlook loading images is a person opening the mail; Office fetching a link is not a click.
    outlook = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)"
    assert reason("opened", method="GET", user_agent=outlook, seconds_since_sent=3600) == ""
    assert reason("clicked", method="GET", user_agent=outlook, seconds_since_sent=3600).startswith("agent:")
    assert rules.reason_label("too_soon") == "送信から10秒以内"


# --- the pixel ------------------------------------------------------------------------------------

def test_the_pixel_is_a_gif_that_is_never_cached_and_records_an_open(client, company, events):
    message = sent_message(company)
    response = client.get(open_path(message), headers={"User-Agent": BROWSER})
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert response.content.startswith(b"GIF89a") and response.content[6:10] == b"\x01\x00\x01\x00"
    assert "no-store" in response["Cache-Control"] and response["Pragma"] == "no-cache"
    tracking_events.flush()
    event = MessageEvent.objects.get()
    assert (event.kind, event.message_id, event.machine, event.url) == (EventKind.OPENED, message.pk, False, "")


def test_apple_privacy_prefetch_is_an_open_flagged_as_machine(client, company, events):
    message = sent_message(company)
    client.get(open_path(message), headers={"User-Agent": "Mozilla/5.0"})
    tracking_events.flush()
    assert MessageEvent.objects.get().machine_reason == "agent:Apple Mail Privacy Protection"


def test_a_forged_pixel_still_answers_the_image_but_records_nothing(client, company, events):
    response = client.get("/t/o/1.1.1.AAAAAAAAAAAAAAAAAAAAAA.gif")
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    assert events.pending() == 0


# --- the buffer -----------------------------------------------------------------------------------

def test_a_retried_batch_is_not_counted_twice_and_deleted_messages_are_skipped(company, events):
    kept = sent_message(company, key="rejection:1")
    gone = sent_message(company, key="rejection:2", to_email="b@example.jp")
    link = tokens.TrackedLink(kept.pk, company.pk, 0, TARGET)
    tracking_events.record("clicked", link, method="GET", user_agent=BROWSER)
    tracking_events.record("clicked", tokens.TrackedLink(gone.pk, company.pk, 0, TARGET), method="GET", user_agent=BROWSER)
    batch = list(events._pending)
    gone.delete()
    tracking_events.flush()
    events._write(batch)  # as if the flush had been retried after its commit was reported as failed
    assert list(MessageEvent.objects.values_list("message_id", flat=True)) == [kept.pk]


def test_a_large_batch_is_written_in_several_statements(company, events, monkeypatch):
    monkeypatch.setattr(tracking_events, "ROWS_PER_STATEMENT", 2)
    messages = [sent_message(company, key=f"rejection:{n}", to_email=f"{n}@example.jp") for n in range(3)]
    for n in range(7):
        link = tokens.TrackedLink(messages[n % 3].pk, company.pk, 0, f"{TARGET}&n={n}")
        tracking_events.record("clicked", link, method="GET", user_agent=BROWSER)
    assert tracking_events.flush() == 7
    assert sorted(MessageEvent.objects.values_list("url", flat=True)) == sorted(f"{TARGET}&n={n}" for n in range(7))


def test_a_failed_flush_keeps_the_events_for_the_next_one(company, events, monkeypatch):
    message = sent_message(company)
    tracking_events.record("clicked", tokens.TrackedLink(message.pk, company.pk, 0, TARGET), method="GET",
                    user_agent=BROWSER)

    def broken(batch):
        raise RuntimeError("database is restarting")

    monkeypatch.setattr(events, "_write", broken)
    with pytest.raises(RuntimeError):
        tracking_events.flush()
    assert events.pending() == 1
    monkeypatch.undo()
    assert tracking_events.flush() == 1
    assert MessageEvent.objects.count() == 1


def test_closing_the_buffer_at_shutdown_writes_everything_and_later_events_directly(company):
    buffer = tracking_events.EventBuffer(interval=3600)  # its thread would not write for an hour
    message = sent_message(company)
    link = tokens.TrackedLink(message.pk, company.pk, 0, TARGET)

    def row():
        return tracking_events.event_row("clicked", link, occurred_at=datetime.now(UTC), user_agent=BROWSER, reason="")

    for _ in range(3):
        buffer.add(row())
    assert buffer._thread is not None and buffer._thread.is_alive()
    assert MessageEvent.objects.count() == 0
    buffer.close()  # what atexit does on a normal shutdown
    assert not buffer._thread.is_alive()
    assert MessageEvent.objects.count() == 3
    buffer.add(row())
    assert MessageEvent.objects.count() == 4
    event = MessageEvent.objects.first()
    assert abs((event.occurred_at - timezone.now()).total_seconds()) < 60
    assert abs((event.recorded_at - timezone.now()).total_seconds()) < 60


# --- the HTML part --------------------------------------------------------------------------------

def test_tracked_html_rewrites_links_but_not_the_referral_or_unsubscribe_links(settings):
    settings.BASE_URL = "https://tsunagu.example"
    html = (
        '<!DOCTYPE html><html><head><title>t</title></head><body>'
        '<p><a href="https://careers.acme.example/jobs?a=1&amp;b=2">求人一覧</a></p>'
        "<p><a class='x' href='http://acme.example/'>会社</a></p>"
        '<p><a href="https://tsunagu.example/r/3D7.signature">キャリアリレー</a></p>'
        '<p><a href="https://tsunagu.example/u/token">配信停止</a></p>'
        '<p><a href="https://lists.acme.example/unsubscribe?id=1">unsubscribe</a></p>'
        '<p><a href="mailto:hr@acme.example">hr@acme.example</a></p>'
        "</body></html>"
    )
    sent_at = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
    out = links.tracked_html(html, message_id=42, company_id=7, sent_at=sent_at)
    hrefs = re.findall(r"""href=["']([^"']+)""", out)
    assert hrefs[0].startswith("https://tsunagu.example/t/c/") and hrefs[1].startswith("https://tsunagu.example/t/c/")
    assert hrefs[2:] == ["https://tsunagu.example/r/3D7.signature", "https://tsunagu.example/u/token",
                         "https://lists.acme.example/unsubscribe?id=1", "mailto:hr@acme.example"]
    assert "class='x' href='https://tsunagu.example/t/c/" in out  # the quote style is kept
    first = tokens.parse_click_token(hrefs[0].rsplit("/", 1)[1])
    assert first == tokens.TrackedLink(42, 7, int(sent_at.timestamp()), "https://careers.acme.example/jobs?a=1&b=2")
    assert tokens.parse_click_token(hrefs[1].rsplit("/", 1)[1]).url == "http://acme.example/"
    # One pixel, just before </body>, for this message.
    [pixel] = re.findall(r'<img src="https://tsunagu.example/t/o/([^"]+)\.gif"[^>]*>(?=</body>)', out)
    assert tokens.parse_open_token(pixel) == tokens.TrackedLink(42, 7, int(sent_at.timestamp()))
    # Rewriting twice does not wrap a tracked link again.
    again = links.tracked_html(out, message_id=42, company_id=7, sent_at=sent_at)
    assert re.findall(r"""href=["']([^"']+)""", again) == hrefs


def test_a_real_notice_tracked_end_to_end(client, api, events, django_capture_on_commit_callbacks):
    """The notice the pipeline sends, with tracked_html applied as build_email will: its link redirects."""
    from tsunagu.messaging.compose import build_email

    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/v1/applications", application_body())
    message = Message.objects.select_related("company", "application__job").get(kind=MessageKind.REJECTION)
    email = build_email(message)
    html = email.html.replace("</p>", ' <a href="https://careers.acme.example/">採用情報</a></p>', 1)
    tracked = links.tracked_html(html, message_id=message.pk, company_id=message.company_id,
                                    sent_at=timezone.now() - timedelta(minutes=1))
    assert "/r/" in tracked  # the referral link is still the referral link
    [link] = re.findall(r'href="http://[^/]+(/t/c/[^"]+)"', tracked)
    response = client.get(link, headers={"User-Agent": BROWSER})
    assert response.status_code == 302 and response["Location"] == "https://careers.acme.example/"
    tracking_events.flush()
    assert MessageEvent.objects.get(message=message).machine is False


# --- the console's timeline -----------------------------------------------------------------------

def test_the_message_timeline_merges_tracked_events_and_referral_clicks_in_order(client, company, events):
    message = sent_message(company, minutes_ago=60)
    client.get(open_path(message), headers={"User-Agent": "Mozilla/5.0"})
    client.head(click_path(message), headers={"User-Agent": BROWSER})
    tracking_events.flush()
    MessageEvent.objects.filter(machine_reason="head").update(occurred_at=timezone.now() - timedelta(minutes=59))
    Click.objects.create(company=company, message=message, user_agent=BROWSER)
    scanner = Click.objects.create(company=company, message=message, user_agent="Barracuda Sentinel")
    Click.objects.filter(pk=scanner.pk).update(created_at=message.sent_at + timedelta(seconds=2))
    other = sent_message(company, key="rejection:9", to_email="c@example.jp")
    Click.objects.create(company=company, message=other, user_agent=BROWSER)

    timeline = message_timeline(message)
    assert [(e.kind, e.source, e.machine, e.machine_reason) for e in timeline] == [
        ("clicked", "relay", True, "agent:Barracuda"),
        ("clicked", "tracking", True, "head"),
        ("opened", "tracking", True, "agent:Apple Mail Privacy Protection"),
        ("clicked", "relay", False, ""),
    ]
    assert timeline[0].url.startswith("http") and "/r/" in timeline[0].url
    assert timeline[1].reason_label == "HEADリクエスト(リンクの存在確認)"
    assert timeline[-1].kind_label == "クリック"


# --- the WSGI fast path ---------------------------------------------------------------------------

def wsgi_call(app, method, path, agent=BROWSER):
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = status, dict(headers)

    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
               "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
               "wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http", "HTTP_USER_AGENT": agent}
    answer["body"] = b"".join(app(environ, start_response))
    return answer


def django_stub(environ, start_response):
    start_response("599 Django", [])
    return [b"django"]


def test_the_fast_path_answers_valid_links_before_django_and_hands_everything_else_on(company, events):
    app = tracking_views.fast_path(django_stub)
    message = sent_message(company)
    answer = wsgi_call(app, "GET", click_path(message))
    assert answer["status"] == "302 Found" and answer["body"] == b""
    assert answer["headers"]["Location"] == tracking_views.iri_to_uri(TARGET)
    assert answer["headers"]["Content-Length"] == "0" and "no-store" in answer["headers"]["Cache-Control"]
    assert answer["headers"]["X-Content-Type-Options"] == "nosniff"
    assert wsgi_call(app, "HEAD", click_path(message))["status"] == "302 Found"

    pixel = wsgi_call(app, "GET", open_path(message), agent="Mozilla/5.0")
    assert pixel["status"] == "200 OK" and pixel["body"] == tracking_views.PIXEL_GIF
    assert pixel["headers"]["Content-Type"] == "image/gif" and pixel["headers"]["Pragma"] == "no-cache"

    # A bad token (its 404 page), other methods and other paths are Django's.
    for method, path in [("GET", "/t/c/garbage"), ("GET", tampered_path(message)), ("POST", click_path(message)),
                         ("GET", "/healthz"), ("GET", "/r/abc")]:
        assert wsgi_call(app, method, path)["body"] == b"django", path

    tracking_events.flush()
    assert sorted(MessageEvent.objects.values_list("kind", "machine_reason")) == [
        ("clicked", ""), ("clicked", "head"), ("opened", "agent:Apple Mail Privacy Protection")]


def tampered_path(message):
    return "/t/c/" + tampered_tokens(message)["another URL, same signature"]
