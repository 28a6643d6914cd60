"""TSUNAGU_EMAIL_URL: each scheme reaches a real SMTP server (STARTTLS and implicit TLS included)."""

import ssl

import pytest
import trustme

from tsunagu import config
from tsunagu.testing import application_body, smtp_running

pytestmark = pytest.mark.django_db


def test_email_urls_are_parsed_per_the_contract():
    assert config.email("capture://").backend.endswith("CaptureEmailBackend")
    plain = config.email("smtp://mail.example.jp")
    assert (plain.host, plain.port, plain.use_tls, plain.use_ssl) == ("mail.example.jp", 25, False, False)
    starttls = config.email("smtp+starttls://user%40corp:p%3Ass@mail.example.jp?timeout=5")
    assert (starttls.port, starttls.use_tls, starttls.username, starttls.password, starttls.timeout) == (
        587, True, "user@corp", "p:ss", 5)
    assert config.email("smtps://mail.example.jp:2465").port == 2465
    assert config.email("smtps://mail.example.jp").use_ssl
    with pytest.raises(config.ConfigError, match="unsupported scheme"):
        config.email("pigeon://coop")
    with pytest.raises(config.ConfigError, match="no host"):
        config.email("smtp://")


@pytest.fixture
def certificate_authority(tmp_path, monkeypatch):
    authority = trustme.CA()
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    # The client trusts our test authority the way it trusts a real one: through the default verify paths.
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    return server_context


@pytest.mark.parametrize("scheme", ["smtp+starttls", "smtps"])
def test_tls_schemes_deliver_over_an_encrypted_connection(scheme, certificate_authority, settings, api,
                                                          django_capture_on_commit_callbacks):
    tls = ({"ssl_context": certificate_authority} if scheme == "smtps"
           else {"tls_context": certificate_authority, "require_starttls": True})
    with smtp_running(**tls) as sink:
        parsed = config.email(f"{scheme}://127.0.0.1:{sink.port}")
        settings.EMAIL_BACKEND = parsed.backend
        settings.EMAIL_HOST, settings.EMAIL_PORT = parsed.host, parsed.port
        settings.EMAIL_USE_TLS, settings.EMAIL_USE_SSL, settings.EMAIL_TIMEOUT = parsed.use_tls, parsed.use_ssl, 5
        with django_capture_on_commit_callbacks(execute=True):
            api.post("/api/v1/applications", application_body())
        [received] = sink.wait_for(1)
        assert received["rcpt"] == ["yoshiko@example.jp"]
