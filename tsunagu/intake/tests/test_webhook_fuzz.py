"""Property: whatever is posted to an ATS webhook URL (any headers, non-ASCII and huge ones included; any
bytes, encodings, nesting, numbers and JSON types), the answer is never a server error, and a refused
request stores nothing. Each adapter is fuzzed twice: with forged signatures (the checks themselves), and
with requests signed correctly with the connection's secret (the parsing behind the signature). Both the
Django view and the WSGI fast path (endpoints.fast_path) are asked.

Bounded and reproducible: a fixed number of examples, derandomized, no example database."""

from __future__ import annotations

import functools
import json
import time

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import RequestFactory
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from tsunagu.intake import endpoints
from tsunagu.intake.actions import connections
from tsunagu.intake.models import AtsConnection, WebhookDelivery
from tsunagu.intake.tests import webhook_samples as samples
from tsunagu.messaging.models import Message
from tsunagu.talent.models import Application, Candidate
from tsunagu.testing import json_values as json_values_of
from tsunagu.testing import shaped as shaped_like

pytestmark = pytest.mark.django_db

SECRET = "fuzz-shared-secret-1234"
FUZZ = settings(max_examples=35, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.large_base_example])

# --- what a sender can put in a request --------------------------------------------------------------

# Header values: any text, what a WSGI server hands over (latin-1 of any bytes), tricky digits and
# digests, and huge values.
header_values = st.one_of(
    st.text(max_size=80),
    st.binary(max_size=80).map(lambda raw: raw.decode("latin-1")),
    st.sampled_from(["²³", "١٧٠٠٠٠٠٠٠٠", "sha256=é", "sha256 ｆｆ", "sha256=" + "ａ" * 64, "9" * 5000, "\x00",
                     "sha256=\udcff", " ", "-1", "1e9", str(int(time.time()))]),
    st.builds(lambda char, count: char * count, st.characters(), st.integers(1, 100_000)),
)
header_names = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,24}", fullmatch=True).filter(
    lambda name: name.lower() not in {"content-length", "content-type", "transfer-encoding"})

KNOWN_HEADERS = {
    "generic": ["X-Tsunagu-Timestamp", "X-Tsunagu-Signature"],
    "greenhouse": ["Signature", "Greenhouse-Event-ID"],
    "workable": ["X-Workable-Signature"],
    "lever": [],
    "ashby": ["Ashby-Signature"],
    "herp": [],
}


def bodies(kind):
    if kind not in BODIES:
        BODIES[kind] = raw_bodies(TEMPLATES[kind])
    return BODIES[kind]


def headers_for(kind):
    names = st.sampled_from(KNOWN_HEADERS[kind]) | header_names if KNOWN_HEADERS[kind] else header_names
    return st.dictionaries(names, header_values, max_size=5)


json_values = json_values_of(["candidateArchiveChange", "reject_candidate", "candidate_moved", "applicationUpdate", "ping"])


def shaped(template):
    return shaped_like(template, json_values)


TEMPLATES = {
    "generic": samples.generic(),
    "greenhouse": samples.greenhouse(),
    "workable": samples.workable(),
    "lever": samples.lever(),
    "ashby": samples.ashby(),
    "herp": {},
}

ENCODINGS = ["utf-8", "utf-16", "utf-32", "latin-1", "cp932", "utf-8-sig"]


def encoded(value, encoding: str, ascii_only: bool) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only).encode(encoding, errors="surrogatepass"
                                                             if encoding.startswith("utf") else "replace")


BODIES = {}  # kind -> raw_bodies(its template), made once


def json_bodies(template):
    return st.builds(encoded, shaped(template) | json_values, st.sampled_from(ENCODINGS), st.booleans())


def raw_bodies(template):
    """Bodies as bytes: random bytes, deep nesting, huge numbers, and JSON in any encoding."""
    return st.one_of(
        st.binary(max_size=300),
        st.integers(1, 200_000).map(lambda depth: b"[" * depth + b"]" * depth),
        st.integers(1, 50_000).map(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth),
        st.integers(300, 5000).map(lambda digits: b'{"triggeredAt": 1' + b"0" * digits + b", "
                                   b'"event_id": 1e999, "action": NaN}'),
        json_bodies(template),
    )


# --- signing as each vendor signs -----------------------------------------------------------------

def sign(kind: str, body: bytes, headers: dict) -> tuple[bytes, dict]:
    """Headers (and for Lever, the body) that carry a valid signature over `body`."""
    headers = dict(headers)
    if kind == "generic":
        stamp = str(int(time.time()))
        headers["X-Tsunagu-Timestamp"] = stamp
        headers["X-Tsunagu-Signature"] = "sha256=" + samples.hex_hmac(SECRET, stamp.encode() + b"." + body)
    elif kind == "greenhouse":
        headers["Signature"] = "sha256 " + samples.hex_hmac(SECRET, body)
    elif kind == "workable":
        headers["X-Workable-Signature"] = samples.hex_hmac(SECRET, body)
    elif kind == "ashby":
        headers["Ashby-Signature"] = "sha256=" + samples.hex_hmac(SECRET, body)
    return body, headers


def lever_signed(payload, token: str) -> bytes:
    """Lever signs token + triggeredAt inside the body: the rest of the body is the fuzzed part."""
    payload = payload if isinstance(payload, dict) else {"data": payload}
    triggered_at = int(time.time() * 1000)
    payload.update(token=token, triggeredAt=triggered_at,
                   signature=samples.hex_hmac(SECRET, f"{token}{triggered_at}".encode()))
    return json.dumps(payload).encode()


# --- the two doors --------------------------------------------------------------------------------

CONTENT_TYPES = ["application/json", "application/json; charset=utf-16", "text/plain; charset=latin-1",
                 "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "ｊｓｏｎ"]


def via_django(client, path, body, headers, content_type):
    response = client.generic("POST", path, body, content_type=content_type, headers=headers)
    return response.status_code, response.content, response.get("Content-Type", "")


@functools.cache
def fast_application():
    return endpoints.fast_path(WSGIHandler())


def via_fast_path(client, path, body, headers, content_type):
    environ = RequestFactory().generic("POST", path, body, content_type=content_type, headers=headers).environ
    answer = {}

    def start_response(status, response_headers):
        answer["status"], answer["headers"] = int(status.split()[0]), dict(response_headers)

    # What the fast path hands on to Django runs through a real WSGIHandler: kept from closing the test's
    # database connection at its start and end, as the test client does for its own requests.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        content = b"".join(fast_application()(environ, start_response))
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    return answer["status"], content, answer["headers"].get("Content-Type", "")


DOORS = {"django": via_django, "fast_path": via_fast_path}


def stored() -> tuple:
    return (WebhookDelivery.objects.count(), Application.objects.count(), Candidate.objects.count(),
            Message.objects.count())


def refused(connection) -> int:
    return AtsConnection.objects.get(pk=connection.pk).refused_signatures


def post_and_check(client, connection, body, headers, content_type, door):
    before, refused_before = stored(), refused(connection)
    status, content, response_type = DOORS[door](client, connection.webhook_path, body, headers, content_type)
    assert status < 500, (status, content[:300])
    if currently_in_test_context():  # --hypothesis-show-statistics: how far the examples got
        event(f"answered {status}")
    after = stored()
    if status >= 400:
        assert after == before, "a refused request stored something"
        if status != 404:  # a polled ATS has no webhook: Django's own 404 page
            assert response_type == "application/json" and json.loads(content)["detail"], content[:300]
    else:
        # A verified, readable delivery is stored once (as queued or ignored); nothing is processed here.
        assert after[0] - before[0] <= 1 and after[1:] == before[1:]
    assert refused(connection) - refused_before == (1 if status == 401 else 0)
    return status


@pytest.fixture(autouse=True)
def keep_the_test_connection(monkeypatch):
    """The fast path closes stale connections at each request's start and end, as Django does: not the
    test's own connection (the test client does the same for Django's requests)."""
    monkeypatch.setattr(endpoints, "close_old_connections", lambda: None)


@pytest.fixture
def connection_of(make_company):
    made = {}

    def get(kind):
        if kind not in made:
            company, _key = make_company(slug=f"fuzz-{kind}")
            options = {"api_key": "lever-api-key", "api_base_url": "https://api.lever.invalid"} \
                if kind in ("lever", "herp") else {}
            made[kind] = connections.add_connection(company, kind=kind, secret=SECRET if kind != "herp" else "",
                                                    **options)
        return made[kind]

    return get


PUSHED = ["generic", "greenhouse", "workable", "lever", "ashby"]


@pytest.mark.parametrize("kind", PUSHED + ["herp"])
@FUZZ
@given(data=st.data(), door=st.sampled_from(sorted(DOORS)),
       content_type=st.sampled_from(CONTENT_TYPES))
def test_forged_requests_are_refused_without_a_server_error(client, connection_of, kind, data, door, content_type):
    connection = connection_of(kind)
    body = data.draw(bodies(kind), label="body")
    headers = data.draw(headers_for(kind), label="headers")
    status = post_and_check(client, connection, body, headers, content_type, door)
    assert status in ((404,) if kind == "herp" else (200, 400, 401))


@pytest.mark.parametrize("kind", PUSHED)
@FUZZ
@given(data=st.data(), door=st.sampled_from(sorted(DOORS)),
       content_type=st.sampled_from(CONTENT_TYPES))
def test_signed_malformed_bodies_are_refused_without_a_server_error(client, connection_of, kind, data, door,
                                                                     content_type):
    """The signature is right, so the body's parsing is what is fuzzed."""
    connection = connection_of(kind)
    if kind == "lever":
        payload = data.draw(shaped(TEMPLATES["lever"]) | json_values, label="payload")
        body, headers = lever_signed(payload, data.draw(st.text(min_size=1, max_size=40), label="token")), {}
        # Lever's signature is inside the body: a body too malformed to read cannot be verified (401).
        expected = (200, 400, 401)
    else:
        expected = (200, 400)
        body = data.draw(bodies(kind), label="body")
        body, headers = sign(kind, body, data.draw(headers_for(kind), label="headers"))
    status = post_and_check(client, connection, body, headers, content_type, door)
    assert status in expected


# --- the findings, one by one (each answered 500 before) ---------------------------------------------

NON_ASCII_SIGNATURES = {
    "generic": {"X-Tsunagu-Signature": "sha256=é"},
    "greenhouse": {"Signature": "sha256 é"},
    "workable": {"X-Workable-Signature": "é"},
    "ashby": {"Ashby-Signature": "sha256=é"},
}


@pytest.mark.parametrize("kind", sorted(NON_ASCII_SIGNATURES))
@pytest.mark.parametrize("door", sorted(DOORS))
def test_a_non_ascii_signature_header_is_401(client, connection_of, kind, door):
    connection = connection_of(kind)
    headers = {"X-Tsunagu-Timestamp": str(int(time.time())), **NON_ASCII_SIGNATURES[kind]}
    body = json.dumps(TEMPLATES[kind]).encode()
    assert post_and_check(client, connection, body, headers, "application/json", door) == 401


def test_a_non_ascii_lever_signature_is_401(client, connection_of):
    payload = {**samples.lever(secret=SECRET), "signature": "é" * 64}
    body = json.dumps(payload).encode()
    assert post_and_check(client, connection_of("lever"), body, {}, "application/json", "django") == 401


@pytest.mark.parametrize("stamp", ["²³", "١٧٠٠٠٠٠٠٠٠", "9" * 5000, f"{int(time.time())}\n"])
def test_a_generic_timestamp_that_is_not_ascii_digits_is_401(client, connection_of, stamp):
    connection = connection_of("generic")
    body = json.dumps(samples.generic()).encode()
    headers = {"X-Tsunagu-Timestamp": stamp,
               "X-Tsunagu-Signature": "sha256=" + samples.hex_hmac(SECRET, stamp.encode() + b"." + body)}
    assert post_and_check(client, connection, body, headers, "application/json", "django") == 401


@pytest.mark.parametrize("kind", PUSHED)
def test_deeply_nested_json_is_refused(client, connection_of, kind):
    """Unsigned it is refused at the signature (401); signed, at the parser (400), saying why. (Lever
    signs inside the body: one nested too deeply to read cannot be verified, 401.)"""
    connection = connection_of(kind)
    body = b"[" * 100_000 + b"]" * 100_000
    assert post_and_check(client, connection, body, {}, "application/json", "django") == 401
    if kind == "lever":
        body = lever_signed({"event": "candidateArchiveChange", "data": json.loads("[" * 200 + "]" * 200)}, "deep")
        assert post_and_check(client, connection, body, {}, "application/json", "django") == 401
        return
    body, headers = sign(kind, b'{"a":' * 5000 + b"1" + b"}" * 5000, {})
    response = client.post(connection.webhook_path, data=body, content_type="application/json", headers=headers)
    assert response.status_code == 400
    assert "nested deeper than" in response.json()["detail"]
    assert WebhookDelivery.objects.count() == 0


@example(triggered_at=10**400)
@example(triggered_at=-(10**30))
@settings(max_examples=10, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(triggered_at=st.integers())
def test_a_lever_triggered_at_of_any_size_is_refused(client, connection_of, triggered_at):
    payload = samples.lever(secret=SECRET)
    payload["triggeredAt"] = triggered_at
    status = post_and_check(client, connection_of("lever"), json.dumps(payload).encode(), {}, "application/json",
                            "django")
    assert status in (400, 401)


def test_a_signed_body_with_wrong_types_in_known_fields_is_400_and_says_which(client, connection_of):
    connection = connection_of("greenhouse")
    payload = samples.greenhouse()
    payload["payload"]["application"]["candidate"] = "佐藤 花子"
    body, headers = sign("greenhouse", json.dumps(payload).encode(), {"Greenhouse-Event-ID": "e-1"})
    response = client.post(connection.webhook_path, data=body, content_type="application/json", headers=headers)
    assert response.status_code == 400
    assert "payload.application.candidate" in response.json()["detail"]
    assert WebhookDelivery.objects.count() == 0


def test_a_signed_body_with_nul_or_a_lone_surrogate_is_400(client, connection_of):
    connection = connection_of("ashby")
    for text in ("\x00", "\ud800"):
        payload = samples.ashby()
        payload["data"]["application"]["candidate"]["name"] = f"山﨑{text}太郎"
        body, headers = sign("ashby", json.dumps(payload).encode(), {})
        response = client.post(connection.webhook_path, data=body, content_type="application/json",
                               headers=headers)
        assert response.status_code == 400, response.content
    assert WebhookDelivery.objects.count() == 0


def test_valid_deliveries_still_pass(client, connection_of):
    """The hardening refuses only what is malformed: the documented payloads are queued as before."""
    for kind in PUSHED:
        connection = connection_of(kind)
        if kind == "lever":
            body, headers = json.dumps(samples.lever(secret=SECRET)).encode(), {}
        else:
            body, headers = sign(kind, json.dumps(TEMPLATES[kind], ensure_ascii=False).encode(),
                                 {"Greenhouse-Event-ID": "gh-1"} if kind == "greenhouse" else {})
        response = client.post(connection.webhook_path, data=body, content_type="application/json", headers=headers)
        assert response.status_code == 200 and response.json()["detail"] == "queued", (kind, response.content)
