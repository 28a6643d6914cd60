"""Security headers on every kind of page, the Host check, HSTS and the proxy headers (issue 11, item 6).

The console, the candidate's token pages, the API and its docs, the admin and static files are fetched
through the whole middleware stack; the settings that depend on the environment (allowed hosts, HSTS, the
trusted proxy) are checked on a real `tsunagu web` started with that environment."""

from __future__ import annotations

import html as html_lib
import re

import pytest
import requests
from django.contrib.auth import get_user_model
from django.test import Client

from tsunagu import config
from tsunagu.companies.models import Role
from tsunagu.lib.security_headers import MAIL_STYLE_ATTRIBUTES, source_hash
from tsunagu.messaging.models import Message, MessageKind
from tsunagu.relay.tests.referrals import rejected
from tsunagu.testing import base_env, free_port, login_with_second_factor, run_cli

pytestmark = pytest.mark.django_db

REQUIRED_DIRECTIVES = {
    "default-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def directives(response) -> dict[str, list[str]]:
    policy = response.headers.get("Content-Security-Policy", "")
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


@pytest.fixture
def notice(company, django_capture_on_commit_callbacks):
    """A delivered rejection notice: its text holds the personal referral and unsubscribe links."""
    with django_capture_on_commit_callbacks(execute=True):
        rejected(company, email="yoshiko@example.jp", name="髙橋 𠮷子")
    return Message.objects.get(kind=MessageKind.REJECTION)


@pytest.fixture
def console(company, login):
    return login(company, Role.ADMIN)


def token_paths(notice) -> dict[str, str]:
    return {
        "referral landing": re.search(r"/r/\S+", notice.body_text).group(0),
        "unsubscribe": re.search(r"/u/\S+", notice.body_text).group(0),
        "verification (bad token)": "/r/verify/not-a-token",
        "consent (bad token)": "/r/consent/not-a-token",
    }


def html_pages(console, notice, company) -> dict[str, tuple[Client, str]]:
    anonymous = Client()
    pages = {
        "console dashboard": (console, "/console/"),
        "template editor": (console, "/console/templates/rejection/"),
        "outbox message": (console, f"/console/outbox/{notice.pk}/"),
        "settings": (console, "/console/settings/"),
        "login": (anonymous, "/console/login/"),
        "api docs": (anonymous, "/api/v1/docs"),
        "admin login": (anonymous, "/admin/login/"),
    }
    pages.update({name: (anonymous, path) for name, path in token_paths(notice).items()})
    return pages


def test_every_html_page_has_a_strict_policy_and_no_inline_script_or_style(console, notice, company):
    for name, (client, path) in html_pages(console, notice, company).items():
        response = client.get(path)
        assert response.status_code in (200, 404, 410), (name, response.status_code)
        assert response.headers["X-Content-Type-Options"] == "nosniff", name
        policy = directives(response)
        for directive, value in REQUIRED_DIRECTIVES.items():
            assert policy.get(directive) == [value], (name, directive, policy)
        for directive in ("script-src", "style-src"):
            assert "'unsafe-inline'" not in policy[directive] and "'unsafe-eval'" not in policy[directive]
        assert not any(value.startswith(("http:", "https:", "*")) for values in policy.values() for value in values)
        html = response.content.decode()
        nonce = next((value[7:-1] for value in policy["script-src"] if value.startswith("'nonce-")), None)
        for attributes, body in re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S):
            if "src=" in attributes or 'type="application/json"' in attributes:
                continue  # a file of ours, or data (Swagger UI's settings) that is never run
            assert nonce and f'nonce="{nonce}"' in attributes, (name, body[:80])
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", html), f"{name}: an inline event handler"
        if name not in ("admin login",):  # Django's own admin templates are not ours to rewrite
            outside_frames = re.sub(r'srcdoc="[^"]*"', "", html)  # the mail shown in the sandboxed frame
            assert "<style" not in outside_frames and " style=" not in outside_frames, name


def test_the_docs_serve_swagger_ui_from_our_static_files():
    response = Client().get("/api/v1/docs")
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(source.startswith("/static/ninja/swagger-ui-bundle") for source in sources), sources
    assert not [source for source in sources if "//" in source], sources
    bundle = Client().get(next(source for source in sources if "swagger-ui-bundle" in source))
    assert bundle.status_code == 200
    assert bundle.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_with_a_token_in_the_url_never_send_it_as_referrer(console, notice, company):
    for name, path in token_paths(notice).items():
        response = Client().get(path)
        assert response.headers["Referrer-Policy"] == "strict-origin", name
    for path in ("/console/", "/console/login/", "/api/v1/docs"):
        response = (console if path == "/console/" else Client()).get(path)
        assert response.headers["Referrer-Policy"] == "same-origin", path


def test_the_api_static_files_and_the_admin_have_the_headers(api, company):
    api_response = api.get("/api/v1/relay/ledger")
    static = Client().get("/static/tsunagu/tsunagu.css")
    get_user_model().objects.create_superuser("root@operator.example", "root@operator.example", "a-long-password")
    admin = login_with_second_factor(Client(), "root@operator.example", "a-long-password")
    admin_page = admin.get("/admin/companies/company/")
    for name, response in (("api", api_response), ("static", static), ("admin", admin_page)):
        assert response.status_code == 200, name
        assert response.headers["X-Content-Type-Options"] == "nosniff", name
        assert response.headers["Referrer-Policy"] == "same-origin", name
    assert directives(admin_page)["default-src"] == ["'self'"]
    assert directives(api_response)["default-src"] == ["'self'"]


def test_the_mail_preview_iframe_is_sandboxed_and_its_styles_allowed_by_hash_only(console, notice):
    response = console.get(f"/console/outbox/{notice.pk}/")
    html = response.content.decode()
    frames = re.findall(r"<iframe\b[^>]*>", html)
    assert frames and all(re.search(r"\ssandbox(\s|>)", frame) for frame in frames), frames
    style_sources = directives(response)["style-src"]
    # Every style attribute of the mail as sent (footer, open pixel) is allowed by its hash; nothing else is.
    mail_html = html_lib.unescape(re.search(r'srcdoc="([^"]*)"', html).group(1))
    attributes = re.findall(r'\sstyle="([^"]*)"', mail_html)
    assert attributes, "the mail's HTML has its inline layout"
    for value in attributes:
        assert source_hash(value) in style_sources, value
    assert set(attributes) <= set(MAIL_STYLE_ATTRIBUTES)
    assert "'unsafe-hashes'" in style_sources and "'unsafe-inline'" not in style_sources


def test_an_unknown_host_is_refused(client):
    assert client.get("/console/login/", HTTP_HOST="evil.example").status_code == 400
    assert client.get("/console/login/", HTTP_HOST="localhost").status_code == 200
    # The health check answers load balancers that probe by address, whatever the Host.
    health = client.get("/healthz", HTTP_HOST="10.0.0.5:8000")
    assert health.status_code == 200 and health.json() == {"ok": True}


def test_allowed_hosts_come_from_the_base_url(monkeypatch):
    monkeypatch.delenv("TSUNAGU_ALLOWED_HOSTS", raising=False)
    assert config.allowed_hosts("https://tsunagu.example.jp") == ["tsunagu.example.jp"]
    assert set(config.allowed_hosts("http://127.0.0.1:8000")) == {"127.0.0.1", "localhost", "[::1]"}
    monkeypatch.setenv("TSUNAGU_ALLOWED_HOSTS", " internal.example.jp, .tsunagu.example.jp ")
    assert config.allowed_hosts("https://tsunagu.example.jp") == [
        "tsunagu.example.jp", "internal.example.jp", ".tsunagu.example.jp"]
    monkeypatch.setenv("TSUNAGU_ALLOWED_HOSTS", "https://x.example")
    with pytest.raises(config.ConfigError):
        config.allowed_hosts("https://tsunagu.example.jp")


def test_hsts_seconds_default_to_a_year_with_https_only(monkeypatch):
    monkeypatch.delenv("TSUNAGU_HSTS_SECONDS", raising=False)
    assert config.hsts_seconds("https://tsunagu.example.jp") == 31536000
    assert config.hsts_seconds("http://127.0.0.1:8000") == 0
    monkeypatch.setenv("TSUNAGU_HSTS_SECONDS", "600")
    assert config.hsts_seconds("https://tsunagu.example.jp") == 600
    monkeypatch.setenv("TSUNAGU_HSTS_SECONDS", "a year")
    with pytest.raises(config.ConfigError):
        config.hsts_seconds("https://tsunagu.example.jp")


# --- the real server, configured through its environment -------------------------------------------

class Web:
    """`tsunagu web` on a free port with the given environment (the schema migrated first)."""

    def __init__(self, tmp_path, **env):
        from tsunagu.testing import Server

        self.env = base_env(str(tmp_path), **env)
        assert run_cli(["manage", "migrate", "-v", "0"], self.env).returncode == 0
        self.server = Server(self.env, free_port(), "web")

    def __enter__(self):
        self.server.wait_until_up()
        return self

    def __exit__(self, *exc):
        self.server.stop()

    def get(self, path, host, **headers):
        return requests.get(self.server.url + path, headers={"Host": host, **headers}, allow_redirects=False,
                            timeout=10)


@pytest.mark.slow
@pytest.mark.sqlite_data_dir
def test_https_behind_a_trusted_proxy_redirects_sends_hsts_and_refuses_other_hosts(tmp_path):
    with Web(tmp_path, TSUNAGU_BASE_URL="https://tsunagu.example.jp", TSUNAGU_TRUSTED_PROXIES="1") as web:
        secure = web.get("/console/login/", "tsunagu.example.jp", **{"X-Forwarded-Proto": "https"})
        assert secure.status_code == 200
        assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
        plain = web.get("/console/login/", "tsunagu.example.jp")
        assert plain.status_code == 301 and plain.headers["Location"] == "https://tsunagu.example.jp/console/login/"
        assert web.get("/console/login/", "evil.example", **{"X-Forwarded-Proto": "https"}).status_code == 400
        assert web.get("/healthz", "10.0.0.5").status_code == 200  # probes over http, by address


@pytest.mark.slow
@pytest.mark.sqlite_data_dir
def test_without_a_trusted_proxy_x_forwarded_proto_is_ignored(tmp_path):
    with Web(tmp_path, TSUNAGU_BASE_URL="https://tsunagu.example.jp",
             TSUNAGU_ALLOWED_HOSTS="127.0.0.1") as web:
        forged = web.get("/console/login/", "tsunagu.example.jp", **{"X-Forwarded-Proto": "https"})
        # Not redirected (nothing could tell http from https) and no HSTS on a request not known to be https.
        assert forged.status_code == 200 and "Strict-Transport-Security" not in forged.headers
        assert "default-src 'self'" in forged.headers["Content-Security-Policy"]


# --- the client's address behind proxies -----------------------------------------------------------

def forwarded_request(forwarded_for: str | None, peer="10.9.9.9"):
    from django.test import RequestFactory

    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for is not None else {}
    return RequestFactory().get("/r/x", REMOTE_ADDR=peer, **headers)


def test_x_forwarded_for_is_believed_only_as_far_as_the_trusted_proxies(settings):
    from tsunagu.lib.client_ip import client_ip

    settings.TSUNAGU_TRUSTED_PROXIES = 0
    assert client_ip(forwarded_request("203.0.113.7")) == "10.9.9.9"  # no proxy: the header is the client's
    settings.TSUNAGU_TRUSTED_PROXIES = 1
    assert client_ip(forwarded_request("203.0.113.7")) == "203.0.113.7"
    # A client that writes its own header is only put further left; the proxy's entry is the rightmost.
    assert client_ip(forwarded_request("1.1.1.1, 203.0.113.7")) == "203.0.113.7"
    assert client_ip(forwarded_request("[2001:db8::1]:4711")) == "2001:db8::1"
    assert client_ip(forwarded_request("203.0.113.7:4711")) == "203.0.113.7"
    assert client_ip(forwarded_request("not-an-address")) == "10.9.9.9"
    assert client_ip(forwarded_request(None)) == "10.9.9.9"
    settings.TSUNAGU_TRUSTED_PROXIES = 2
    assert client_ip(forwarded_request("1.1.1.1, 203.0.113.7, 10.0.0.2")) == "203.0.113.7"
    assert client_ip(forwarded_request("203.0.113.7")) == "203.0.113.7"


def test_the_referral_form_counts_networks_by_the_forwarded_address(settings, api, company):
    """Behind one trusted proxy, two candidates from two networks are two networks to the relay, not the
    proxy's one; without the setting, the forged header changes nothing."""
    from tsunagu.relay.views.public import client_ip

    settings.TSUNAGU_TRUSTED_PROXIES = 1
    assert client_ip(forwarded_request("198.51.100.4", peer="10.0.0.2")) == "198.51.100.4"
    settings.TSUNAGU_TRUSTED_PROXIES = 0
    assert client_ip(forwarded_request("198.51.100.4", peer="10.0.0.2")) == "10.0.0.2"
