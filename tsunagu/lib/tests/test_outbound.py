"""The outbound guard against real local HTTP(S) servers: what it refuses, and that it refuses before any byte
reaches the address it refused.

127.0.0.2 plays a public server (allowed by TSUNAGU_OUTBOUND_ALLOW_PRIVATE, as a private deployment would
allow its ATS); 127.0.0.1 plays the server's own loopback, which stays refused. Made-up host names are
answered by a stand-in resolver, so a test can say what DNS answers (and change its answer, as a rebinding
attacker would).
"""

from __future__ import annotations

import gzip
import json
import socket
import ssl
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme
from django.core.exceptions import ValidationError

from tsunagu import config
from tsunagu.lib import outbound
from tsunagu.testing import http_serving

PUBLIC = "127.0.0.2"  # stands in for a public address in these tests
NAME = "api.tenant.test"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.server.seen.append({"path": self.path, "host": self.headers.get("Host"),
                                 "auth": self.headers.get("Authorization")})
        status, headers, body = self.server.answer(self)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def ok(handler):
    body = json.dumps({"path": handler.path}).encode()
    return 200, {"Content-Type": "application/json", "Content-Length": str(len(body))}, body


class Server6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


@contextmanager
def serving(address=PUBLIC, port=0, tls=None, answer=ok):
    server = (Server6 if ":" in address else ThreadingHTTPServer)((address, port), Handler)
    server.seen, server.answer = [], answer
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    with http_serving(server):
        yield server


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture(scope="module")
def tls(ca):
    """The server side of TLS: a certificate for the made-up names only (not for any IP address)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(NAME, "other.tenant.test", "localhost").configure_cert(context)
    return context


@pytest.fixture
def guarded(settings, ca, tmp_path):
    """Only 127.0.0.2 may be reached (as if public); the test CA is trusted; https only."""
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    settings.TSUNAGU_OUTBOUND_CA_FILE = str(ca_file)
    settings.TSUNAGU_OUTBOUND_ALLOW_HTTP = False
    settings.TSUNAGU_OUTBOUND_ALLOW_PRIVATE = [f"{PUBLIC}/32"]
    return settings


@pytest.fixture
def dns(monkeypatch):
    """A stand-in resolver for made-up names: `dns.answers[name] = [first answer, later answers...]` (each
    answer a list of addresses; the last one repeats). Other names resolve as usual."""
    real = socket.getaddrinfo

    class Resolver:
        answers: dict[str, list[list[str]]] = {}
        lookups: list[str] = []

        def __call__(self, host, port, *args, **kwargs):
            if host not in self.answers:
                return real(host, port, *args, **kwargs)
            self.lookups.append(host)
            queue = self.answers[host]
            addresses = queue.pop(0) if len(queue) > 1 else queue[0]
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                     (a, port) if ":" not in a else (a, port, 0, 0)) for a in addresses]

    resolver = Resolver()
    resolver.answers, resolver.lookups = {NAME: [[PUBLIC]], "other.tenant.test": [[PUBLIC]]}, []
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    return resolver


def refused(base, segments=("v1",), **kwargs) -> outbound.OutboundError:
    with pytest.raises(outbound.OutboundError) as caught:
        outbound.get(base, list(segments), **kwargs)
    return caught.value


# --- what works --------------------------------------------------------------------------------------

def test_https_to_an_allowed_address_works_and_names_the_host(guarded, dns, tls):
    with serving(tls=tls) as server:
        port = server.server_address[1]
        response = outbound.get(f"https://{NAME}:{port}/base/", ["v1", "items"], query={"page": 2},
                                headers={"Authorization": "Bearer k"})
    assert response.ok and json.loads(response.body) == {"path": "/base/v1/items?page=2"}
    # TLS was verified against the name (the certificate names no IP address); Host names it too.
    assert server.seen == [{"path": "/base/v1/items?page=2", "host": f"{NAME}:{port}", "auth": "Bearer k"}]


def test_the_connection_goes_to_the_address_that_was_checked(guarded, dns, tls):
    """DNS rebinding: the name answers an allowed address once, then loopback. The request still goes to the
    checked address, because the name is resolved once per request and the connection is made to that IP."""
    dns.answers[NAME] = [[PUBLIC], ["127.0.0.1"]]
    with serving(tls=tls) as server:
        response = outbound.get(f"https://{NAME}:{server.server_address[1]}", ["v1"])
    assert response.ok and len(server.seen) == 1
    assert dns.lookups == [NAME]


def test_a_certificate_for_another_name_is_refused(guarded, dns, tls):
    dns.answers["wrong.tenant.test"] = [[PUBLIC]]
    with serving(tls=tls) as server:
        error = refused(f"https://wrong.tenant.test:{server.server_address[1]}")
    assert server.seen == [] and "failed" in error.detail


def test_a_redirect_on_the_same_host_is_followed(guarded, dns, tls):
    def answer(handler):
        if handler.path == "/v1":
            return 302, {"Location": "/v2", "Content-Length": "0"}, b""
        return ok(handler)

    with serving(tls=tls, answer=answer) as server:
        response = outbound.get(f"https://{NAME}:{server.server_address[1]}", ["v1"],
                                headers={"Authorization": "Bearer k"})
    assert json.loads(response.body) == {"path": "/v2"}
    assert [seen["path"] for seen in server.seen] == ["/v1", "/v2"]


# --- what is refused, before any request -------------------------------------------------------------

def test_loopback_is_refused(guarded, dns, tls):
    with serving("127.0.0.1", tls=tls) as server:
        port = server.server_address[1]
        for base in (f"https://127.0.0.1:{port}", f"https://localhost:{port}", f"https://127.1:{port}",
                     f"https://2130706433:{port}"):
            refused(base)
        dns.answers[NAME] = [["127.0.0.1"]]
        assert "refused addresses" in refused(f"https://{NAME}:{port}").detail
    assert server.seen == []


def test_private_and_link_local_addresses_are_refused(guarded, dns):
    for address in ("10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0"):
        assert "refused addresses" in refused(f"https://{address}/latest/meta-data").detail, address
        dns.answers[NAME] = [[address]]
        assert "refused addresses" in refused(f"https://{NAME}/").detail, address


def test_a_name_with_one_refused_address_among_its_answers_is_refused(guarded, dns, tls):
    dns.answers[NAME] = [[PUBLIC, "127.0.0.1"]]
    with serving(tls=tls) as server:
        refused(f"https://{NAME}:{server.server_address[1]}")
    assert server.seen == []


def test_ipv6_loopback_and_ipv4_mapped_addresses_are_refused(guarded, dns, tls):
    try:
        context = serving("::1", tls=tls)
        server = context.__enter__()
    except OSError:  # no IPv6 here: the refusal is still checked, without a listener
        context, server = None, None
    port = server.server_address[1] if server else 443
    try:
        for base in (f"https://[::1]:{port}", f"https://[::ffff:127.0.0.1]:{port}",
                     "https://[::ffff:169.254.169.254]/", "https://[::ffff:a00:1]/", "https://[fe80::1]/",
                     "https://[fc00::1]/", "https://[64:ff9b::a9fe:a9fe]/", "https://[2002:7f00:1::]/"):
            assert "refused addresses" in refused(base).detail, base
        dns.answers["mapped.tenant.test"] = [["::ffff:127.0.0.1"]]
        assert "refused addresses" in refused("https://mapped.tenant.test/").detail
    finally:
        if context:
            assert server.seen == []
            context.__exit__(None, None, None)


@pytest.mark.parametrize("address, allowed", [
    ("93.184.216.34", True), ("2606:4700:4700::1111", True),
    ("127.0.0.1", False), ("10.1.2.3", False), ("169.254.169.254", False), ("224.0.0.1", False),
    ("240.0.0.1", False), ("255.255.255.255", False), ("0.0.0.0", False), ("::", False), ("::1", False),
    ("fe80::1%eth0", False), ("ff02::1", False), ("::ffff:10.0.0.1", False), ("::ffff:93.184.216.34", False),
    ("64:ff9b::7f00:1", False), ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False), ("not an address", False),
])
def test_address_classification(settings, address, allowed):
    settings.TSUNAGU_OUTBOUND_ALLOW_PRIVATE = []
    assert outbound.address_allowed(address) is allowed


def test_http_is_refused_unless_allowed(guarded, dns):
    with serving() as server:
        base = f"http://{NAME}:{server.server_address[1]}"
        assert "scheme 'http' is not allowed" in refused(base).detail
        assert server.seen == []
        guarded.TSUNAGU_OUTBOUND_ALLOW_HTTP = True
        assert outbound.get(base, ["v1"]).ok and len(server.seen) == 1


def test_other_schemes_and_bent_urls_are_refused(guarded, dns, tls):
    guarded.TSUNAGU_OUTBOUND_ALLOW_HTTP = True
    with serving(tls=tls) as server:
        port = server.server_address[1]
        for base in (f"ftp://{NAME}:{port}/", "file:///etc/passwd", f"gopher://{NAME}:{port}/",
                     f"https://{NAME}:{port}/internal/admin#",  # the fragment would drop the appended path
                     f"https://{NAME}:{port}/internal/admin?x=",
                     f"https://user:secret@{NAME}:{port}/", f"https://{NAME}@127.0.0.1:{port}/",
                     f"https://{NAME}:{port}\\@127.0.0.1/", f"https://{NAME}:{port}/a b", "https:///v1",
                     f"https://{NAME}:99999/"):
            error = refused(base)
            assert "base URL" in error.detail, base
            with pytest.raises(ValidationError):
                outbound.check_base_url(base)
    assert server.seen == []


def test_path_segments_are_quoted_whole(guarded, dns, tls):
    with serving(tls=tls) as server:
        base = f"https://{NAME}:{server.server_address[1]}"
        outbound.get(base, ["v1", "opportunities", "../../internal/admin"])
        outbound.get(base, ["v1", "opportunities", "a?b#c d/%2e"])
        for segment in ("..", ".", ""):
            assert "refused path segment" in refused(base, ["v1", segment]).detail
    assert [seen["path"] for seen in server.seen] == [
        "/v1/opportunities/..%2F..%2Finternal%2Fadmin", "/v1/opportunities/a%3Fb%23c%20d%2F%252e"]


def test_a_redirect_to_another_host_is_refused(guarded, dns, tls):
    with serving(tls=tls) as target, serving(tls=tls, answer=lambda handler: (
            302, {"Location": f"https://other.tenant.test:{target.server_address[1]}/", "Content-Length": "0"},
            b"")) as server:
        error = refused(f"https://{NAME}:{server.server_address[1]}", headers={"Authorization": "Bearer k"})
    assert "another host" in error.detail
    assert len(server.seen) == 1 and target.seen == []  # the key never left for the other host


def test_a_redirect_to_loopback_is_refused(guarded, dns, tls):
    with serving("127.0.0.1", tls=tls) as loopback:
        for location in (f"https://127.0.0.1:{loopback.server_address[1]}/", "http://169.254.169.254/latest/",
                         f"https://localhost:{loopback.server_address[1]}/"):
            with serving(tls=tls, answer=lambda handler, location=location: (
                    307, {"Location": location, "Content-Length": "0"}, b"")) as server:
                refused(f"https://{NAME}:{server.server_address[1]}")
            assert len(server.seen) == 1
    assert loopback.seen == []


def test_a_same_host_redirect_is_checked_again(guarded, dns, tls):
    """The name answers the allowed address first and loopback for the redirect's request: refused, and the
    loopback server (same port) sees nothing."""
    def answer(handler):
        return 302, {"Location": "/next", "Content-Length": "0"}, b""

    with serving(tls=tls, answer=answer) as server:
        port = server.server_address[1]
        try:
            loopback_context = serving("127.0.0.1", port=port, tls=tls)
            loopback = loopback_context.__enter__()
        except OSError:
            pytest.skip("the same port is taken on 127.0.0.1")
        try:
            dns.answers[NAME] = [[PUBLIC], ["127.0.0.1"]]
            assert "refused addresses" in refused(f"https://{NAME}:{port}").detail
            assert len(server.seen) == 1 and loopback.seen == []
        finally:
            loopback_context.__exit__(None, None, None)


def test_too_many_redirects(guarded, dns, tls):
    with serving(tls=tls, answer=lambda handler: (302, {"Location": handler.path + "x",
                                                        "Content-Length": "0"}, b"")) as server:
        assert "redirects" in refused(f"https://{NAME}:{server.server_address[1]}").detail
    assert len(server.seen) == outbound.MAX_REDIRECTS + 1


# --- answers: bounded, and one message for every failure ----------------------------------------------

def test_the_body_is_capped(guarded, dns, tls):
    big = b"x" * 5000
    answers = {
        "/declared": (200, {"Content-Length": str(len(big))}, big),
        "/undeclared": (200, {}, big),  # HTTP/1.0, no length: read until the server closes
        "/gzip": (200, {"Content-Encoding": "gzip"}, gzip.compress(b"\0" * 1_000_000)),  # 1 MB from ~1 kB
    }
    with serving(tls=tls, answer=lambda handler: answers[handler.path]) as server:
        base = f"https://{NAME}:{server.server_address[1]}"
        for path in answers:
            assert "cap" in refused(base, [path[1:]], max_bytes=4096).detail, path
        assert len(outbound.get(base, ["undeclared"], max_bytes=len(big)).body) == len(big)


def test_a_silent_server_times_out(guarded, dns, monkeypatch):
    guarded.TSUNAGU_OUTBOUND_ALLOW_HTTP = True
    monkeypatch.setattr(outbound, "READ_TIMEOUT", 0.3)
    with socket.socket() as listener:  # accepts connections (the kernel does) and never answers
        listener.bind((PUBLIC, 0))
        listener.listen()
        refused(f"http://{NAME}:{listener.getsockname()[1]}")


def test_every_failure_reads_the_same(guarded, dns, tls, caplog):
    """Refused connection, no such host, a refused address, an oversized body: one message for the tenant,
    the details in the log."""
    closed = socket.socket()
    closed.bind((PUBLIC, 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: connection refused
    errors = [refused(f"https://{NAME}:{port}"), refused("https://no-such-host.invalid/"),
              refused("https://127.0.0.1/")]
    with serving(tls=tls, answer=lambda handler: (200, {"Content-Length": "9999999"}, b"")) as server:
        errors.append(refused(f"https://{NAME}:{server.server_address[1]}"))
    assert len({str(error) for error in errors}) == 1
    assert str(errors[0]) == str(outbound.GENERIC_MESSAGE) and "API のベース URL" in str(errors[0])
    assert len({error.detail for error in errors}) == 4
    logged = caplog.text
    assert "cannot resolve" in logged and "refused addresses" in logged and "cap" in logged


# --- saving a base URL, and the settings -----------------------------------------------------------------

def test_check_base_url_at_save_time(guarded, dns):
    assert outbound.check_base_url(f"https://{NAME}/hire/ ") == f"https://{NAME}/hire"
    # A name that does not resolve (yet) is kept: the request is checked again when it is made.
    assert outbound.check_base_url("https://not-yet.invalid") == "https://not-yet.invalid"
    with pytest.raises(ValidationError) as caught:
        outbound.check_base_url("https://169.254.169.254/latest")
    assert "接続できません" in caught.value.messages[0]
    with pytest.raises(ValidationError) as caught:
        outbound.check_base_url("http://api.lever.co")
    assert "https://" in caught.value.messages[0] and "http://" not in caught.value.messages[0]


def test_environment_settings(monkeypatch):
    monkeypatch.delenv("TSUNAGU_OUTBOUND_ALLOW_HTTP", raising=False)
    monkeypatch.delenv("TSUNAGU_OUTBOUND_ALLOW_PRIVATE", raising=False)
    assert config.outbound_allow_http() is False and config.outbound_allow_private() == []
    monkeypatch.setenv("TSUNAGU_OUTBOUND_ALLOW_HTTP", "1")
    monkeypatch.setenv("TSUNAGU_OUTBOUND_ALLOW_PRIVATE", "10.20.0.0/16, 192.0.2.7,fd00::/8")
    assert config.outbound_allow_http() is True
    assert config.outbound_allow_private() == ["10.20.0.0/16", "192.0.2.7/32", "fd00::/8"]
    monkeypatch.setenv("TSUNAGU_OUTBOUND_ALLOW_PRIVATE", "intranet")
    with pytest.raises(config.ConfigError):
        config.outbound_allow_private()
