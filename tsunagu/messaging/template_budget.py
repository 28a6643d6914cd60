"""The budget every template render runs within, and what an operation costs before it runs.

A render may take at most MAX_STEPS loop iterations and calls together, build at most MAX_CHARS characters
(or list items), and run at most MAX_SECONDS. An operation that could make a lot from a little is charged
before it runs, by what it is about to make or touch:

- `weight(value)` is an upper estimate of the characters str(value) makes, counting a list shared N times N
  times (as str() does), and so also of the work of comparing or hashing it deeply. It is counted with each
  container visited once (shared parts are remembered), and it stops as soon as it passes its limit, so
  weighing is itself cheap.
- `charge(chars=...)` pays for what is built; `bounded(value)` refuses to compare or hash a value heavier
  than MAX_CHARS (a comparison is one C-level operation: it could otherwise run for minutes).

The deadline is checked at every step and while weighing; what one C-level operation could still do between
two checks is bounded by the render process's wall-clock kill (render_process.py).
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass

from django.utils.translation import gettext as _
from jinja2.exceptions import SecurityError

MAX_STEPS = 10_000
MAX_CHARS = 200_000
MAX_SECONDS = 2.0
MAX_INT_BITS = 4096
MAX_DEPTH = 100  # nesting of lists and dicts a template may print, compare or hash

_CHECK_EVERY = 4096  # items weighed between two looks at the clock
_SCALAR_WEIGHT = 32  # a float, None, or an object whose str() is a short description


class LimitExceeded(SecurityError):
    """A template went over its render budget (the message says which limit, in Japanese)."""


@dataclass
class Budget:
    steps: int
    chars: int
    deadline: float


_budget: ContextVar[Budget | None] = ContextVar("tsunagu_template_budget", default=None)


def start() -> object:
    """A fresh budget for one render; give the returned token to finish()."""
    return _budget.set(Budget(steps=MAX_STEPS, chars=MAX_CHARS, deadline=time.monotonic() + MAX_SECONDS))


def finish(token) -> None:
    _budget.reset(token)


def steps_exceeded() -> LimitExceeded:
    return LimitExceeded(_("繰り返しや呼び出しが多すぎます(1通あたり%(limit)s回まで)。") % {"limit": f"{MAX_STEPS:,}"})


def chars_exceeded() -> LimitExceeded:
    return LimitExceeded(_("作られる文字が多すぎます(1通あたり%(limit)s文字まで)。") % {"limit": f"{MAX_CHARS:,}"})


def time_exceeded() -> LimitExceeded:
    return LimitExceeded(_("表示に時間がかかりすぎます(%(seconds)s秒まで)。") % {"seconds": f"{MAX_SECONDS:g}"})


def too_big() -> LimitExceeded:
    return LimitExceeded(_("大きすぎる値は作れません。"))


def too_deep() -> LimitExceeded:
    return LimitExceeded(_("値の入れ子が深すぎます(%(limit)s段まで)。") % {"limit": MAX_DEPTH})


def charge(*, steps: int = 0, chars: int = 0) -> None:
    budget = _budget.get()
    if budget is None:  # only a render sets a budget; outside one (compiling) nothing is charged
        return
    budget.steps -= steps
    budget.chars -= chars
    if budget.steps < 0:
        raise steps_exceeded()
    if budget.chars < 0:
        raise chars_exceeded()
    if time.monotonic() > budget.deadline:
        raise time_exceeded()


def check_deadline() -> None:
    budget = _budget.get()
    if budget is not None and time.monotonic() > budget.deadline:
        raise time_exceeded()


def remaining_chars() -> int:
    budget = _budget.get()
    return MAX_CHARS if budget is None else max(budget.chars, 0)


def charge_weight(value, factor: int = 1) -> None:
    """Pay for turning `value` into text (factor: how many characters each of its characters may become)."""
    if isinstance(value, str):
        charge(chars=len(value) * factor)
        return
    limit = remaining_chars() // factor
    charge(chars=weight(value, limit=limit) * factor)


def bounded(value):
    """`value` itself, if it is light enough to compare or hash (one C-level operation each)."""
    if isinstance(value, _CONTAINERS):
        weight(value, limit=MAX_CHARS)
    return value


def size(value) -> int:
    return len(value) if isinstance(value, str | list | tuple | dict) else 0


_DICT_VIEWS = (type({}.keys()), type({}.values()), type({}.items()))
_CONTAINERS = (list, tuple, dict, set, frozenset, *_DICT_VIEWS)


class _Over(Exception):
    pass


def weight(value, *, limit: int = MAX_CHARS) -> int:
    """An upper estimate of len(str(value)); LimitExceeded (too many characters) once it passes `limit`."""
    if isinstance(value, str):
        if len(value) > limit:
            raise chars_exceeded()
        return len(value)
    if not isinstance(value, _CONTAINERS):
        return _scalar_weight(value)
    try:
        return _Weigher(limit).weigh(value, 0)
    except _Over:
        raise chars_exceeded() from None


def _scalar_weight(value) -> int:
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        return value.bit_length() * 30103 // 100000 + 2  # decimal digits, and a sign
    return _SCALAR_WEIGHT


class _Weigher:
    def __init__(self, limit: int):
        self.limit = limit
        self.known: dict[int, int] = {}  # id of a container weighed already -> its weight
        self.visited = 0

    def weigh(self, value, depth: int) -> int:
        if isinstance(value, str):  # inside a container: its repr, quotes and escapes
            if value.isprintable():
                return len(value) + 2 + value.count("\\") + value.count("'")
            return len(value) * 10 + 2  # \U0001xxxx at worst
        if not isinstance(value, _CONTAINERS):
            return _scalar_weight(value)
        known = self.known.get(id(value))
        if known is not None:
            return known
        if depth >= MAX_DEPTH:
            raise too_deep()
        total = 12 if isinstance(value, _DICT_VIEWS) else 2  # "dict_items(...)", brackets
        if isinstance(value, dict):
            items = (part for pair in value.items() for part in pair)
        elif isinstance(value, type({}.items())):
            items = (part for pair in value for part in pair)
        else:
            items = value
        for item in items:
            total += self.weigh(item, depth + 1) + 2  # ", " or ": "
            if total > self.limit:
                raise _Over
            self.visited += 1
            if self.visited % _CHECK_EVERY == 0:
                check_deadline()
        self.known[id(value)] = total
        return total
