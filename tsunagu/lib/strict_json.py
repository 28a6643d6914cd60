"""JSON from outside (webhook bodies), read with limits: whatever a sender posts, the answer is a value we
can keep or a `MalformedJSON` (a 400 for the caller), never a server error.

The standard parser accepts what our storage and code cannot take: nesting deep enough to exhaust the
stack (RecursionError, here or later in `json.dumps`), NaN and Infinity, numbers beyond any id or
timestamp, "\\u0000" (PostgreSQL refuses it in text and jsonb) and lone surrogates (not encodable as
UTF-8). Each is refused with a reason the sender can act on.
"""

from __future__ import annotations

import json
import math
from typing import Any

# Vendors' payloads nest a handful of levels; anything near the interpreter's stack depth is an attack.
MAX_DEPTH = 64
# Integers beyond a signed 64-bit value are no id, count or timestamp we know of (and overflow floats).
MAX_INT = 2**63


class MalformedJSON(ValueError):
    """A body that is not JSON we accept; the message says why."""


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH, max_bytes: int | None = None) -> Any:
    """Parse `data` (UTF-8, UTF-16 or UTF-32 bytes, or text) and check the value (see `check`)."""
    if max_bytes is not None and len(data) > max_bytes:
        raise MalformedJSON(f"body larger than {max_bytes} bytes")
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode(json.detect_encoding(data))
        except (UnicodeDecodeError, LookupError):
            raise MalformedJSON("body is not UTF-8 (or UTF-16/32) text") from None
    try:
        value = json.loads(data, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise MalformedJSON(f"nested deeper than {max_depth} levels") from None
    except MalformedJSON:
        raise
    except ValueError as exc:  # json.JSONDecodeError, and int() past Python's digit limit
        raise MalformedJSON(f"not valid JSON: {exc}") from None
    check(value, max_depth=max_depth)
    return value


def check(value: Any, *, max_depth: int = MAX_DEPTH) -> None:
    """Raise MalformedJSON unless `value` (a parsed JSON value) is within the limits above. Iterative, so
    any depth is measured without recursing."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > max_depth:
                raise MalformedJSON(f"nested deeper than {max_depth} levels")
            for key, child in item.items():
                _check_text(key)
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            if depth > max_depth:
                raise MalformedJSON(f"nested deeper than {max_depth} levels")
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            _check_text(item)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not -MAX_INT <= item < MAX_INT:
                raise MalformedJSON("number out of range (a 64-bit integer at most)")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise MalformedJSON("number out of range")
        else:
            raise MalformedJSON(f"unexpected value of type {type(item).__name__}")


def clean_text(text: str) -> bool:
    """Whether `text` can be stored as it is: no NUL character, no lone surrogate."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_text(text: str) -> None:
    if not clean_text(text):
        raise MalformedJSON("text with a NUL character or an unpaired surrogate (\\u0000, \\ud800...)")


def _refuse_constant(name: str):
    raise MalformedJSON(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise MalformedJSON("number out of range")
    return number
