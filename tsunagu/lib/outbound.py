"""Server-side HTTP requests to URLs a tenant can influence (an ATS connection's API base URL, a chat
service's incoming-webhook URL).

Every such request goes through `get` (or `post`, for a chat webhook) here, so that no tenant can aim the server at its own network:

- `https` only (`TSUNAGU_OUTBOUND_ALLOW_HTTP` allows `http` for tests and private deployments);
- the base URL carries no user, query or fragment, and path segments from payloads are quoted whole
  (a `/`, `?` or `#` in an id stays inside its segment; `.` and `..` are refused);
- the host name is resolved and the request refused when any address is loopback, private, link-local,
  multicast, reserved or unspecified (IPv4, IPv6 and IPv4 embedded in IPv6), unless it lies in a network
  named in `TSUNAGU_OUTBOUND_ALLOW_PRIVATE`; the connection then goes to that checked address (the name is
  kept for TLS SNI, certificate and Host), so a second DNS answer cannot swap it;
- redirects are followed only on the same host, each one checked again; bodies are capped, time is bounded;
- whatever fails, the caller gets one `OutboundError` whose text says nothing about what happened on the
  network (refused, timed out, no such host, an HTTP error): the details go to the server's log only.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
import time
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import urllib3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
# The whole request, redirects and body included, however slowly the other end trickles its answer.
TOTAL_SECONDS = 20.0
MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 3
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
DEFAULT_PORTS = {"http": 80, "https": 443}

# What the tenant is told, whatever went wrong (no difference between refused, unreachable, 500, ...).
GENERIC_MESSAGE = gettext_lazy(
    "接続先の API から応答を得られませんでした。API のベース URL と API キーをご確認ください。")


class OutboundError(Exception):
    """A request that was refused or failed. str() is the generic message for the tenant; `detail` is for
    the server's log only."""

    def __init__(self, detail: str):
        super().__init__(str(GENERIC_MESSAGE))
        self.detail = detail


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


# --- settings ----------------------------------------------------------------------------------------

def allow_http() -> bool:
    return bool(getattr(settings, "TSUNAGU_OUTBOUND_ALLOW_HTTP", False))


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(str(net), strict=False)
            for net in getattr(settings, "TSUNAGU_OUTBOUND_ALLOW_PRIVATE", None) or []]


def allowed_schemes() -> tuple[str, ...]:
    return ("https", "http") if allow_http() else ("https",)


# --- addresses ---------------------------------------------------------------------------------------

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64): each is checked too."""
    found = []
    if address.ipv4_mapped:
        found.append(address.ipv4_mapped)
    if address.sixtofour:
        found.append(address.sixtofour)
    if address.teredo:
        found.extend(address.teredo)
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return address.is_global and not (
        address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
        or address.is_reserved or address.is_unspecified)


def address_allowed(text: str) -> bool:
    """Whether the server may connect to this IP address."""
    if "%" in text:  # an IPv6 zone (fe80::1%eth0): link-local
        return False
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    candidates = [address] + (_embedded_ipv4(address) if address.version == 6 else [])
    networks = allowed_networks()
    return all(_public(candidate) or any(candidate in net for net in networks if candidate.version == net.version)
               for candidate in candidates)


def resolve(host: str, port: int) -> list[str]:
    """Every address the name resolves to; OutboundError unless all of them may be reached."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise OutboundError(f"cannot resolve {host!r}: {exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    refused = [address for address in addresses if not address_allowed(address)]
    if not addresses or refused:
        raise OutboundError(f"{host!r} resolves to refused addresses {refused or addresses}")
    return addresses


# --- URLs --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # lower case, IDNA-encoded; an IPv6 literal without brackets
    port: int
    path: str  # without a trailing slash

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def parse_base(url: str) -> Target:
    """The base URL's parts, or ValueError with what is wrong (in English, for the log)."""
    url = (url or "").strip()
    if not url.isascii():
        raise ValueError("non-ASCII characters (give an international host name in its xn-- form)")
    if any(ch in url for ch in "?#\\") or any(ord(ch) < 33 or ord(ch) == 127 for ch in url):
        raise ValueError("a query, fragment, backslash, space or control character")
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in allowed_schemes():
        raise ValueError(f"scheme {scheme!r} is not allowed")
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise ValueError("user information in the URL")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise ValueError(f"bad port: {exc}") from None
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError("no host")
    try:
        host = ipaddress.ip_address(host).compressed
    except ValueError:
        host = host.lower()
    if not all(label and len(label) < 64 and label.replace("-", "").isalnum() for label in host.split(".")) \
            and ":" not in host:
        raise ValueError("bad host name")
    return Target(scheme, host, port, parts.path.rstrip("/"))


def quote_segments(segments: Iterable[str]) -> str:
    """`/a/b%2Fc`: each segment quoted whole; an empty, `.` or `..` segment is refused."""
    quoted = []
    for segment in segments:
        segment = str(segment)
        if segment in ("", ".", ".."):
            raise OutboundError(f"refused path segment {segment!r}")
        quoted.append(urllib.parse.quote(segment, safe=""))
    return "".join(f"/{segment}" for segment in quoted)


def check_base_url(url: str) -> str:
    """The base URL as stored (no trailing slash), or ValidationError with a message for the form. A host name
    that resolves to a refused address is refused; one that does not resolve (yet) is accepted."""
    try:
        target = parse_base(url)
    except ValueError as exc:
        logger.info("API base URL %r refused: %s", url, exc)
        if allow_http():
            message = _("API のベース URL は https:// または http:// で始まる URL にしてください"
                        "(ユーザー名・パスワード、「?」や「#」以降は含められません)。")
        else:
            message = _("API のベース URL は https:// で始まる URL にしてください"
                        "(ユーザー名・パスワード、「?」や「#」以降は含められません)。")
        raise ValidationError(message, code="invalid") from None
    try:
        resolve(target.host, target.port)
    except OutboundError as exc:
        if "cannot resolve" not in exc.detail:
            logger.info("API base URL %r refused: %s", url, exc.detail)
            raise ValidationError(_("この API のベース URL には接続できません。インターネット上に公開されている"
                                    "API の URL を指定してください。"), code="refused") from None
    return url.strip().rstrip("/")


# --- the request -------------------------------------------------------------------------------------

def get(base_url: str, segments: Sequence[str], *, query: Iterable[tuple[str, str]] | Mapping | None = None,
        headers: Mapping[str, str] | None = None, max_bytes: int = MAX_BODY_BYTES) -> Response:
    """GET base URL + quoted segments (+ query). Any status comes back as a Response (the caller decides what
    it means); every refusal or network failure raises OutboundError."""
    try:
        target = parse_base(base_url)
    except ValueError as exc:
        raise _logged(OutboundError(f"base URL {base_url!r} refused: {exc}")) from None
    path = target.path + quote_segments(segments)
    if query:
        path += "?" + urllib.parse.urlencode(list(query.items()) if isinstance(query, Mapping) else list(query))
    deadline = time.monotonic() + TOTAL_SECONDS
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            response = _fetch(target, path or "/", headers or {}, max_bytes, deadline)
            if response.status not in REDIRECT_STATUSES:
                return response
            target, path = _redirect(target, path, response.headers.get("Location", ""))
        raise OutboundError(f"more than {MAX_REDIRECTS} redirects")
    except OutboundError as exc:
        raise _logged(exc) from None


def post(url: str, body: bytes, *, headers: Mapping[str, str] | None = None, max_bytes: int = 64 * 1024) -> Response:
    """POST `body` to a whole URL a tenant gave (a chat service's incoming webhook, whose query string may be part
    of its secret), under the same checks as `get`. Redirects are not followed: a 3xx comes back as a Response.
    Any status comes back as a Response; every refusal or network failure raises OutboundError."""
    base, _mark, query = (url or "").strip().partition("?")
    if any(ch in query for ch in "#\\") or not query.isascii() or any(ord(ch) < 33 or ord(ch) == 127 for ch in query):
        raise _logged(OutboundError("query refused: a fragment, backslash, space or control character"))
    try:
        target = parse_base(base)
    except ValueError as exc:
        raise _logged(OutboundError(f"URL refused: {exc}")) from None
    path = (target.path or "/") + (f"?{query}" if query else "")
    try:
        return _fetch(target, path, headers or {}, max_bytes, time.monotonic() + TOTAL_SECONDS, "POST", body)
    except OutboundError as exc:
        raise _logged(exc) from None


def _logged(exc: OutboundError) -> OutboundError:
    logger.warning("outbound request refused or failed: %s", exc.detail)
    return exc


def _redirect(current: Target, path: str, location: str) -> tuple[Target, str]:
    """A redirect's target: the same host only (then checked like the first request)."""
    here = f"{current.scheme}://{current.host_header}{path}"
    absolute = urllib.parse.urljoin(here, location.strip())
    parts = urllib.parse.urlsplit(absolute)
    try:
        target = parse_base(urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")))
    except ValueError as exc:
        raise OutboundError(f"redirect to {absolute!r} refused: {exc}") from None
    if target.host != current.host:
        raise OutboundError(f"redirect from {current.host!r} to another host {target.host!r} refused")
    return target, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _ssl_context() -> ssl.SSLContext:
    # A CA file for tests (a local TLS server); the system's trust store otherwise.
    return ssl.create_default_context(cafile=getattr(settings, "TSUNAGU_OUTBOUND_CA_FILE", None) or None)


def _fetch(target: Target, path: str, headers: Mapping[str, str], max_bytes: int, deadline: float,
           method: str = "GET", body: bytes | None = None) -> Response:
    addresses = resolve(target.host, target.port)
    last_error: Exception | None = None
    for address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        timeout = urllib3.Timeout(connect=min(CONNECT_TIMEOUT, remaining), read=min(READ_TIMEOUT, remaining))
        # The connection goes to the address just checked; TLS and Host still name the host.
        if target.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                address, target.port, timeout=timeout, retries=False, maxsize=1, cert_reqs="CERT_REQUIRED",
                ssl_context=_ssl_context(), server_hostname=target.host, assert_hostname=target.host)
        else:
            pool = urllib3.HTTPConnectionPool(address, target.port, timeout=timeout, retries=False, maxsize=1)
        try:
            raw = pool.urlopen(method, path, body=body, headers={**headers, "Host": target.host_header},
                               redirect=False, retries=False, preload_content=False, assert_same_host=False)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            last_error = exc
            pool.close()
            continue
        try:
            return Response(raw.status, urllib3.HTTPHeaderDict(raw.headers), _read(raw, max_bytes, deadline))
        finally:
            raw.release_conn()
            pool.close()
    raise OutboundError(f"{method} {target.scheme}://{target.host_header}{path.split('?')[0]} failed: {last_error}")


def _read(raw, max_bytes: int, deadline: float) -> bytes:
    declared = raw.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise OutboundError(f"answer of {declared} bytes is over the {max_bytes}-byte cap")
    body = bytearray()
    try:
        while True:
            if time.monotonic() > deadline:
                raise OutboundError("answer took too long")
            chunk = raw.read(64 * 1024, decode_content=True)
            if not chunk:
                return bytes(body)
            body += chunk
            if len(body) > max_bytes:
                raise OutboundError(f"answer is over the {max_bytes}-byte cap")
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise OutboundError(f"reading the answer failed: {exc}") from None
