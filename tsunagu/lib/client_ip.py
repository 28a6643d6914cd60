"""The address of the client behind a request, trusting X-Forwarded-For only as far as configured.

With `TSUNAGU_TRUSTED_PROXIES=N` (settings.TSUNAGU_TRUSTED_PROXIES), N reverse proxies stand in front of the
server and each appends the address of its own peer to X-Forwarded-For; the client is then the Nth entry from
the right. Entries further left were written by the client itself and are never believed. With 0 (the
default) the header is ignored and the direct peer (REMOTE_ADDR) is the client.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    peer = request.META.get("REMOTE_ADDR", "")
    hops = getattr(settings, "TSUNAGU_TRUSTED_PROXIES", 0)
    if not hops:
        return peer
    forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [entry for entry in forwarded if entry]
    if not forwarded:
        return peer
    # Fewer entries than proxies: some proxy on the way did not append, so every entry present is a proxy's.
    candidate = forwarded[-hops] if len(forwarded) >= hops else forwarded[0]
    return _address(candidate) or peer


def _address(entry: str) -> str:
    """The IP address of an X-Forwarded-For entry ("203.0.113.7", "203.0.113.7:4711", "[2001:db8::1]:4711"),
    normalised; "" for anything else (a name, "unknown", garbage)."""
    if entry.startswith("["):
        entry = entry[1:].partition("]")[0]
    elif entry.count(":") == 1:
        entry = entry.partition(":")[0]
    try:
        return str(ipaddress.ip_address(entry))
    except ValueError:
        return ""
