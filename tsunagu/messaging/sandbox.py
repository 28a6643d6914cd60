"""The sandbox user-written templates run in, and the budget every render runs within.

Templates are Jinja2, rendered in an immutable sandbox (no attribute that starts with "_", no method that
changes a list or dict). On top of Jinja's sandbox, which has no notion of time, every render runs within a
budget, so no template can hang a worker or fill its memory, whatever the data:

- at most MAX_STEPS loop iterations and calls together (every `{% for %}` item, macro and method call);
- at most MAX_CHARS characters built (each `{{ }}` output, each `~` join, the literal text of every loop
  or macro body each time it runs, `*` and `+` on strings and lists, the join and replace filters);
- at most MAX_SECONDS of wall time, checked at every step;
- `range()` at most MAX_STEPS long, `**` and `*` on numbers at most MAX_INT_BITS bits, no `%` formatting
  of strings, no str.format, no recursion deeper than Python's limit;
- only the filters in SAFE_FILTERS and the str/dict/list methods in SAFE_METHODS (none of them can make
  a large value from a small one), and no include/import/extends.

A template that breaks a limit with the sample data is refused at save with its line; one that breaks it
with real data at send time fails that one message (rendering.RenderError), never the worker. What a
template may say (the variables of each kind) and how it becomes a mail is in rendering.py.
"""

from __future__ import annotations

import time
import types
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache

from django.utils.translation import gettext as _
from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes, pass_context
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

MAX_TEMPLATE_CHARS = 20_000  # a subject's or body's source, checked at save
MAX_STEPS = 10_000
MAX_CHARS = 200_000
MAX_SECONDS = 2.0
MAX_INT_BITS = 4096

SAFE_FILTERS = (
    "abs", "capitalize", "count", "d", "default", "dictsort", "filesizeformat", "first", "float", "int", "items",
    "last", "length", "list", "lower", "map", "max", "min", "reject", "rejectattr", "reverse", "round", "select",
    "selectattr", "sort", "string", "sum", "title", "trim", "truncate", "unique", "upper", "urlencode", "wordcount",
)
_STR_METHODS = frozenset({
    "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha", "isdecimal", "isdigit",
    "islower", "isnumeric", "isspace", "istitle", "isupper", "lower", "lstrip", "partition", "removeprefix",
    "removesuffix", "replace", "rfind", "rindex", "rpartition", "rsplit", "rstrip", "split", "splitlines",
    "startswith", "strip", "swapcase", "title", "upper",
})
SAFE_METHODS: tuple[tuple[type, frozenset[str]], ...] = (
    (str, _STR_METHODS),
    (dict, frozenset({"get", "items", "keys", "values"})),
    (list, frozenset({"count", "index"})),
    (tuple, frozenset({"count", "index"})),
)


class LimitExceeded(SecurityError):
    """A template went over its render budget (the message says which limit, in Japanese)."""


@dataclass
class _Budget:
    steps: int
    chars: int
    deadline: float


_budget: ContextVar[_Budget | None] = ContextVar("tsunagu_template_budget", default=None)


def _charge(*, steps: int = 0, chars: int = 0) -> None:
    budget = _budget.get()
    if budget is None:  # only run() renders, and it always sets a budget
        return
    budget.steps -= steps
    budget.chars -= chars
    if budget.steps < 0:
        raise LimitExceeded(_("繰り返しや呼び出しが多すぎます(1通あたり%(limit)s回まで)。") % {"limit": f"{MAX_STEPS:,}"})
    if budget.chars < 0:
        raise LimitExceeded(_("作られる文字が多すぎます(1通あたり%(limit)s文字まで)。") % {"limit": f"{MAX_CHARS:,}"})
    if time.monotonic() > budget.deadline:
        raise LimitExceeded(_("表示に時間がかかりすぎます(%(seconds)s秒まで)。") % {"seconds": f"{MAX_SECONDS:g}"})


def _too_big() -> LimitExceeded:
    return LimitExceeded(_("大きすぎる値は作れません。"))


def _size(value) -> int:
    return len(value) if isinstance(value, str | list | tuple | dict) else 0


def _range(*args):
    try:
        numbers = range(*args)
        length = len(numbers)
    except OverflowError:
        length = MAX_STEPS + 1
    if length > MAX_STEPS:
        raise LimitExceeded(_("繰り返しが多すぎます(range は%(limit)s回まで)。") % {"limit": f"{MAX_STEPS:,}"})
    return numbers


# Filters the instrumented template calls (their names cannot clash with anything a template means). They
# and the guarded join and replace take the context so that Jinja never runs them at compile time (constant
# folding), where no budget applies.
@pass_context
def _loop_filter(context, iterable):
    for item in iterable:
        _charge(steps=1)
        yield item


@pass_context
def _charge_filter(context, chars, steps):
    _charge(steps=steps, chars=chars)
    return ""


@pass_context
def _sized_filter(context, value):
    _charge(chars=_size(value))
    return value


@pass_context
def _join_filter(context, value, d="", attribute=None):
    from jinja2.filters import sync_do_join

    items = list(value)
    _charge(chars=sum(len(str(item)) for item in items) + len(str(d)) * max(len(items) - 1, 0))
    return sync_do_join(context.eval_ctx, items, d, attribute)


@pass_context
def _replace_filter(context, value, old, new, count=None):
    text, old, new = str(value), str(old), str(new)
    occurrences = (len(text) + 1) if old == "" else text.count(old)
    _charge(chars=len(text) + occurrences * len(new))
    return text.replace(old, new) if count is None else text.replace(old, new, count)


class _Instrument(NodeTransformer):
    """Rewrites a parsed template so that it pays for its loops, calls and text as it runs."""

    def visit_For(self, node):
        node = self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, "tsunagu_loop", [], [], None, None, lineno=node.lineno)
        node.body.insert(0, _charge_node(node.body, steps=1 if node.recursive else 0, lineno=node.lineno))
        return node

    def visit_Macro(self, node):
        node = self.generic_visit(node)
        node.body.insert(0, _charge_node(node.body, steps=0, lineno=node.lineno))
        return node

    visit_CallBlock = visit_Macro

    def visit_Concat(self, node):
        node = self.generic_visit(node)
        return nodes.Filter(node, "tsunagu_sized", [], [], None, None, lineno=node.lineno)


def _charge_node(body, *, steps: int, lineno: int):
    # The literal text of a body is paid each time the body runs (nested bodies' text included).
    chars = sum(len(data.data) for part in body for data in part.find_all(nodes.TemplateData))
    return nodes.ExprStmt(
        nodes.Filter(nodes.Const(chars), "tsunagu_charge", [nodes.Const(steps)], [], None, None), lineno=lineno)


class TemplateEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def __init__(self, **options):
        super().__init__(**options)
        default_filters = self.filters
        self.filters = {name: default_filters[name] for name in SAFE_FILTERS}
        self.filters.update(join=_join_filter, replace=_replace_filter, tsunagu_loop=_loop_filter,
                            tsunagu_charge=_charge_filter, tsunagu_sized=_sized_filter)
        self.globals = {"range": _range}
        self.finalize = self._finalize

    @staticmethod
    def _finalize(value):
        _charge(chars=len(value) if isinstance(value, str) else len(str(value)))
        return value

    def _parse(self, source, name, filename):
        tree = _Instrument().visit(super()._parse(source, name, filename))
        tree.set_environment(self)
        return tree

    def wrap_str_format(self, value):
        return None  # str.format is not among SAFE_METHODS: a width of 10**9 would be a gigabyte

    def call_binop(self, context, operator, left, right):
        if operator == "%" and isinstance(left, str):
            raise SecurityError(_("文字列の「%」による書式指定は使えません。"))
        if operator in ("*", "**") and _is_int(left) and _is_int(right):
            bits = left.bit_length() * right if operator == "**" and right > 0 and abs(left) > 1 else (
                left.bit_length() + right.bit_length() if operator == "*" else 0)
            if bits > MAX_INT_BITS:
                raise _too_big()
        elif operator == "*" and isinstance(left, str | list | tuple) and _is_int(right):
            _charge(chars=len(left) * max(right, 0))
        elif operator == "*" and isinstance(right, str | list | tuple) and _is_int(left):
            _charge(chars=len(right) * max(left, 0))
        elif operator == "+" and isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
            _charge(chars=len(left) + len(right))
        return super().call_binop(context, operator, left, right)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - Jinja's signature
        _charge(steps=1)
        if isinstance(__obj, types.BuiltinMethodType):
            owner = getattr(__obj, "__self__", None)
            name = __obj.__name__
            allowed = next((methods for kind, methods in SAFE_METHODS if isinstance(owner, kind)), frozenset())
            if name not in allowed:
                raise SecurityError(_("「%(name)s」は使えません。") % {"name": name})
            if name == "replace" and isinstance(owner, str) and len(args) >= 2:
                _replace_filter(__context, owner, args[0], args[1], *args[2:3])  # pays before it is made
        return super().call(__context, __obj, *args, **kwargs)


def _is_int(value) -> bool:
    return isinstance(value, int)


environment = TemplateEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


def run(template, context: dict) -> str:
    """Render within a fresh budget."""
    token = _budget.set(_Budget(steps=MAX_STEPS, chars=MAX_CHARS, deadline=time.monotonic() + MAX_SECONDS))
    try:
        return template.render(context)
    except RecursionError as exc:
        raise LimitExceeded(_("呼び出しの入れ子が深すぎます。")) from exc
    finally:
        _budget.reset(token)


# What a render can raise because of the template or its data (never because of a bug here).
RENDER_ERRORS = (UndefinedError, SecurityError, TemplateSyntaxError, TypeError, ValueError, ArithmeticError,
                  LookupError)


def error_line(exc: BaseException) -> int | None:
    """The template line an error happened on (Jinja rewrites tracebacks to point into the template)."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def error_reason(exc: BaseException) -> str:
    """What went wrong, in the words the console shows."""
    if isinstance(exc, LimitExceeded) or (isinstance(exc, SecurityError) and not str(exc).isascii()):
        return str(exc)
    if isinstance(exc, SecurityError):
        return _("安全のため使えない操作です(%(detail)s)。") % {"detail": exc}
    if isinstance(exc, UndefinedError):
        return _("値がありません(%(detail)s)。") % {"detail": exc}
    return f"{type(exc).__name__}: {exc}"


def static_problems(parsed) -> list[tuple[int, str]]:
    """What is refused by reading the template alone: internals and tags that reach outside it."""
    problems = []
    for node in parsed.find_all((nodes.Getattr, nodes.Getitem)):
        name = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if isinstance(name, str) and name.startswith("_"):
            problems.append((node.lineno, _("「%(name)s」のような内部の属性は使えません。") % {"name": name}))
    for node in parsed.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends, nodes.Block)):
        problems.append((node.lineno, _("include・import・extends・block は使えません。")))
    return sorted(problems)


@lru_cache(maxsize=512)
def compile_template(source: str):
    """A template compiled in the sandbox (cached: bulk delivery renders the same few templates)."""
    return environment.from_string(source)
