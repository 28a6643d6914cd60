"""The sandbox user-written templates run in, and the budget every render runs within.

Templates are Jinja2, rendered in an immutable sandbox (no attribute that starts with "_", no method that
changes a list or dict). On top of Jinja's sandbox, which has no notion of time, every render runs within a
budget (template_budget.py), so no template can hang a worker or fill its memory, whatever the data:

- at most MAX_STEPS loop iterations and calls together (every `{% for %}` item, macro and method call);
- at most MAX_CHARS characters built, each charged BEFORE it is built: each `{{ }}` output and `~` join by the
  size of the text it is about to make (a nested list by all it holds), the literal text of every loop or
  macro body each time it runs, `*` and `+` on strings and lists, and every filter that copies or makes
  text (template_filters.py: sum, string, list, join, replace, sort, ...);
- no comparison, `in`, test or hashing of a value heavier than MAX_CHARS (one C-level operation each);
- at most MAX_SECONDS of wall time, checked at every step;
- `range()` at most MAX_STEPS long, `**` and `*` on numbers at most MAX_INT_BITS bits, no `%` formatting
  of strings, no str.format, no recursion deeper than Python's limit, no nesting deeper than MAX_DEPTH;
- only the filters in SAFE_FILTERS and the str/dict/list methods in SAFE_METHODS, and no
  include/import/extends.

Each render also runs in a render process (render_process.py) killed at a hard wall-clock limit, with a
memory limit: whatever a single operation could still do between two checks stops there, and never stalls
the web server or a worker. A template that breaks a limit with the sample data is refused at save with its
line; one that breaks it with real data at send time fails that one message (rendering.RenderError), never
the worker. What a template may say (the variables of each kind) and how it becomes a mail is in rendering.py.
"""

from __future__ import annotations

import types
from functools import lru_cache

from django.utils.translation import gettext as _
from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes, pass_context
from jinja2.exceptions import SecurityError
from jinja2.runtime import Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from tsunagu.messaging import template_budget as budget
from tsunagu.messaging import template_filters
from tsunagu.messaging.template_budget import (  # noqa: F401 - part of this module's interface
    MAX_CHARS,
    MAX_INT_BITS,
    MAX_SECONDS,
    MAX_STEPS,
    LimitExceeded,
)
from tsunagu.messaging.template_filters import SAFE_FILTERS  # noqa: F401 - part of this module's interface

MAX_TEMPLATE_CHARS = 20_000  # a subject's or body's source, checked at save

_STR_METHODS = frozenset({
    "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha", "isdecimal", "isdigit",
    "islower", "isnumeric", "isspace", "istitle", "isupper", "lower", "lstrip", "partition", "removeprefix",
    "removesuffix", "replace", "rfind", "rindex", "rpartition", "rsplit", "rstrip", "split", "splitlines",
    "startswith", "strip", "swapcase", "title", "upper",
})
# str methods that make new strings (or lists of them) as long as the string: paid by its length.
_STR_MAKERS = frozenset({
    "capitalize", "casefold", "lower", "lstrip", "partition", "removeprefix", "removesuffix", "rpartition",
    "rsplit", "rstrip", "split", "splitlines", "strip", "swapcase", "title", "upper",
})
SAFE_METHODS: tuple[tuple[type, frozenset[str]], ...] = (
    (str, _STR_METHODS),
    (dict, frozenset({"get", "items", "keys", "values"})),
    (list, frozenset({"count", "index"})),
    (tuple, frozenset({"count", "index"})),
)


class OpenPositions(list):
    """The titles of the company's open jobs: a list to loop over, printed as one "・title" per line.

    (Here, not in rendering.py, so that a render process can receive it without Django's models.)"""

    def __str__(self) -> str:
        return "\n".join(f"・{title}" for title in self)


def _range(*args):
    try:
        numbers = range(*args)
        length = len(numbers)
    except OverflowError:
        length = MAX_STEPS + 1
    if length > MAX_STEPS:
        raise LimitExceeded(_("繰り返しが多すぎます(range は%(limit)s回まで)。") % {"limit": f"{MAX_STEPS:,}"})
    return numbers


# Filters the instrumented template calls (their names cannot clash with anything a template means). They take
# the context so that Jinja never runs them at compile time (constant folding), where no budget applies.
@pass_context
def _loop_filter(context, iterable):
    for item in iterable:
        budget.charge(steps=1)
        yield item


@pass_context
def _charge_filter(context, chars, steps):
    budget.charge(steps=steps, chars=chars)
    return ""


@pass_context
def _concat_filter(context, values):
    # `a ~ b`: the text is paid before it is made (str() of a nested list can be millions of characters).
    for value in values:
        budget.charge_weight(value)
    return "".join(str(value) for value in values)


@pass_context
def _bounded_filter(context, value):
    return budget.bounded(value)


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
        return _filter(nodes.List(node.nodes, lineno=node.lineno), "tsunagu_concat")

    def visit_Compare(self, node):
        # ==, <, in ... compare deeply in one C-level operation: only values light enough to do it quickly.
        node = self.generic_visit(node)
        node.expr = _filter(node.expr, "tsunagu_bounded")
        for operand in node.ops:
            operand.expr = _filter(operand.expr, "tsunagu_bounded")
        return node

    def visit_Pair(self, node):
        node = self.generic_visit(node)  # a dict literal's key is hashed, deeply for a tuple
        node.key = _filter(node.key, "tsunagu_bounded")
        return node


def _filter(node, name: str):
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


def _charge_node(body, *, steps: int, lineno: int):
    # The literal text of a body is paid each time the body runs (nested bodies' text included).
    chars = sum(len(data.data) for part in body for data in part.find_all(nodes.TemplateData))
    return nodes.ExprStmt(
        nodes.Filter(nodes.Const(chars), "tsunagu_charge", [nodes.Const(steps)], [], None, None), lineno=lineno)


class TemplateEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def __init__(self, **options):
        super().__init__(**options)
        self.filters = template_filters.filters()
        self.filters.update(tsunagu_loop=_loop_filter, tsunagu_charge=_charge_filter, tsunagu_concat=_concat_filter,
                            tsunagu_bounded=_bounded_filter)
        self.tests = template_filters.tests()
        self.globals = {"range": _range}
        self.finalize = self._finalize

    @staticmethod
    def _finalize(value):
        budget.charge_weight(value)  # before Jinja makes the text
        return value

    def _parse(self, source, name, filename):
        tree = _Instrument().visit(super()._parse(source, name, filename))
        tree.set_environment(self)
        return tree

    def wrap_str_format(self, value):
        return None  # str.format is not among SAFE_METHODS: a width of 10**9 would be a gigabyte

    def getitem(self, obj, argument):
        if isinstance(argument, slice) and isinstance(obj, str | list | tuple):
            budget.charge(chars=len(range(*argument.indices(len(obj)))))  # a slice is a copy
        elif isinstance(argument, tuple):
            budget.bounded(argument)  # hashed as a key
        return super().getitem(obj, argument)

    def call_binop(self, context, operator, left, right):
        if operator == "%" and isinstance(left, str):
            raise SecurityError(_("文字列の「%」による書式指定は使えません。"))
        if operator in ("*", "**") and _is_int(left) and _is_int(right):
            bits = left.bit_length() * right if operator == "**" and right > 0 and abs(left) > 1 else (
                left.bit_length() + right.bit_length() if operator == "*" else 0)
            if bits > MAX_INT_BITS:
                raise budget.too_big()
        elif operator == "*" and isinstance(left, str | list | tuple) and _is_int(right):
            budget.charge(chars=len(left) * max(right, 0))
        elif operator == "*" and isinstance(right, str | list | tuple) and _is_int(left):
            budget.charge(chars=len(right) * max(left, 0))
        elif operator == "+" and isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
            budget.charge(chars=len(left) + len(right))
        return super().call_binop(context, operator, left, right)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - Jinja's signature
        budget.charge(steps=1)
        if not isinstance(__obj, Macro):  # a macro only passes its arguments on; anything else may compare them
            for arg in (*args, *kwargs.values()):
                budget.bounded(arg)
        if isinstance(__obj, types.BuiltinMethodType):
            owner = getattr(__obj, "__self__", None)
            name = __obj.__name__
            allowed = next((methods for kind, methods in SAFE_METHODS if isinstance(owner, kind)), frozenset())
            if name not in allowed:
                raise SecurityError(_("「%(name)s」は使えません。") % {"name": name})
            if isinstance(owner, list | tuple):
                budget.bounded(owner)  # count and index compare every item
            elif name == "replace" and isinstance(owner, str) and len(args) >= 2:
                budget.charge_weight(args[0])
                budget.charge_weight(args[1])
                template_filters.replace(owner, str(args[0]), str(args[1]), *args[2:3])  # pays before it is made
            elif name in _STR_MAKERS and isinstance(owner, str):
                budget.charge(chars=len(owner))
        return super().call(__context, __obj, *args, **kwargs)


def _is_int(value) -> bool:
    return isinstance(value, int)


environment = TemplateEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


def run(template, context: dict) -> str:
    """Render within a fresh budget."""
    token = budget.start()
    try:
        return template.render(context)
    except RecursionError as exc:
        raise LimitExceeded(_("呼び出しの入れ子が深すぎます。")) from exc
    finally:
        budget.finish(token)


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
