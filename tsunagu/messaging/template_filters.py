"""The filters and tests a template may use, each paying for its work before doing it (template_budget.py).

Jinja's own filter runs after the charge, so each keeps its documented behaviour. Every filter here takes the
context, which also keeps Jinja from running it at compile time (constant folding), where no budget applies.

- Filters that turn their input into text (string, upper, title, truncate, urlencode, ...) pay its weight: the
  characters str() of it makes, however deeply it is nested.
- Filters that copy, sort or compare a sequence (list, sort, unique, dictsort, reverse, min, max) pay its
  length and refuse items too heavy to compare.
- sum pays what it copies: adding lists copies the running total at every item (2,000 lists of 2,000 items
  are 4 billion copies), join and replace what they make.
- Tests (==, in, sameas, ...) refuse to compare values heavier than MAX_CHARS.
"""

from __future__ import annotations

from jinja2 import filters as jinja_filters
from jinja2 import pass_context
from jinja2.defaults import DEFAULT_FILTERS, DEFAULT_TESTS
from jinja2.utils import _PassArg

from tsunagu.messaging import template_budget as budget

SAFE_FILTERS = (
    "abs", "capitalize", "count", "d", "default", "dictsort", "filesizeformat", "first", "float", "int", "items",
    "last", "length", "list", "lower", "map", "max", "min", "reject", "rejectattr", "reverse", "round", "select",
    "selectattr", "sort", "string", "sum", "title", "trim", "truncate", "unique", "upper", "urlencode", "wordcount",
)

_TEXT = frozenset({"capitalize", "lower", "string", "title", "trim", "truncate", "upper", "wordcount"})
_COPY = frozenset({"dictsort", "list", "reverse", "sort", "unique"})
_COMPARE = frozenset({"max", "min"})
# The rest make nothing bigger than their input: numbers, a length, an item, or a lazy sequence whose items
# pay as they are made (map and select call these filters and tests again).


def _call(original, context, value, args, kwargs):
    """Call one of Jinja's filters or tests with what it asks for (context, eval context or environment)."""
    pass_arg = _PassArg.from_obj(original)
    if pass_arg is _PassArg.context:
        return original(context, value, *args, **kwargs)
    if pass_arg is _PassArg.eval_context:
        return original(context.eval_ctx, value, *args, **kwargs)
    if pass_arg is _PassArg.environment:
        return original(context.environment, value, *args, **kwargs)
    return original(value, *args, **kwargs)


def materialize(value) -> list | tuple | dict | str:
    """A sized value as it is; anything else (a lazy sequence) as a list, one item paid at a time."""
    if isinstance(value, list | tuple | dict | str):
        return value
    items = []
    for item in value:
        budget.charge(chars=1)
        items.append(item)
    return items


def _guarded(name: str):
    original = DEFAULT_FILTERS[name]

    @pass_context
    def guarded(context, value, *args, **kwargs):
        if name in _TEXT:
            budget.charge_weight(value)
        elif name in _COPY or name in _COMPARE:
            value = budget.bounded(materialize(value))
            if name in _COPY:
                budget.charge(chars=len(value))
        elif name == "urlencode":
            # Percent-encoding makes three characters of each byte, and a character is up to four bytes.
            budget.charge_weight(value, factor=3 if isinstance(value, str) and value.isascii() else 12)
        return _call(original, context, value, args, kwargs)

    guarded.__name__ = f"guarded_{name}"
    return guarded


@pass_context
def _sum(context, iterable, attribute=None, start=0):
    if attribute is not None:
        iterable = map(jinja_filters.make_attrgetter(context.environment, attribute), iterable)
    items = materialize(iterable)
    if isinstance(start, str | list | tuple) or any(isinstance(item, str | list | tuple) for item in items):
        # Each + copies the running total: the cost grows with the square of the number of items.
        running, cost = budget.size(start), 0
        for item in items:
            running += budget.size(item)
            cost += running
            if cost > budget.MAX_CHARS:
                raise budget.chars_exceeded()
        budget.charge(chars=cost)
    return sum(items, start)


@pass_context
def _join(context, value, d="", attribute=None):
    items = materialize(value)
    if attribute is not None:
        items = list(map(jinja_filters.make_attrgetter(context.environment, attribute), items))
    budget.charge_weight(d)
    budget.charge(chars=budget.size(d) * max(len(items) - 1, 0))
    for item in items:
        budget.charge_weight(item)
    return jinja_filters.sync_do_join(context.eval_ctx, items, d)


@pass_context
def _replace(context, value, old, new, count=None):
    for part in (value, old, new):
        budget.charge_weight(part)
    text, old, new = str(value), str(old), str(new)
    replace(text, old, new, count)
    return text.replace(old, new) if count is None else text.replace(old, new, count)


def replace(text: str, old: str, new: str, count=None) -> None:
    """Pay for str.replace before it runs: every occurrence (each gap, for an empty `old`) gets `new`."""
    occurrences = (len(text) + 1) if old == "" else text.count(old)
    if count is not None and isinstance(count, int) and count >= 0:
        occurrences = min(occurrences, count)
    budget.charge(chars=len(text) + occurrences * len(new))


def filters() -> dict:
    """The filters of the template environment (without the instrumentation's own, see sandbox.py)."""
    found = {name: _guarded(name) for name in SAFE_FILTERS}
    found.update(sum=_sum, join=_join, replace=_replace)
    return found


def _guarded_test(name: str):
    original = DEFAULT_TESTS[name]

    @pass_context
    def guarded(context, value, *args, **kwargs):
        budget.bounded(value)
        for arg in args:
            budget.bounded(arg)
        return _call(original, context, value, args, kwargs)

    guarded.__name__ = f"guarded_{name}"
    return guarded


def tests() -> dict:
    return {name: _guarded_test(name) for name in DEFAULT_TESTS}
