"""Sandboxed rendering of user-written templates, and their validation at save time.

Templates are Jinja2, rendered in an immutable sandbox (no attribute that starts with "_", no method that
changes a list or dict) with a documented list of variables per kind (VARIABLES). On top of Jinja's sandbox,
which has no notion of time, every render runs within a budget, so no template can hang a worker or fill its
memory, whatever the data:

- at most MAX_STEPS loop iterations and calls together (every `{% for %}` item, macro and method call);
- at most MAX_CHARS characters built (each `{{ }}` output, each `~` join, the literal text of every loop
  or macro body each time it runs, `*` and `+` on strings and lists, the join and replace filters);
- at most MAX_SECONDS of wall time, checked at every step;
- `range()` at most MAX_STEPS long, `**` and `*` on numbers at most MAX_INT_BITS bits, no `%` formatting
  of strings, no str.format, no recursion deeper than Python's limit;
- only the filters in SAFE_FILTERS and the str/dict/list methods in SAFE_METHODS (none of them can make
  a large value from a small one), and no include/import/extends.

A template that breaks a limit with the sample data is refused at save with its line; one that breaks it
with real data at send time fails that one message (RenderError), never the worker.
"""

from __future__ import annotations

import re
import time
import types
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.html import escape
from django.utils.text import normalize_newlines
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes, pass_context
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from tsunagu.messaging.models import MessageKind
from tsunagu.messaging.unsubscribe import TRANSACTIONAL_KINDS

COMMON_VARIABLES = {
    "candidate_name": gettext_lazy("候補者の氏名(例: 髙橋 𠮷子)"),
    "company_name": gettext_lazy("会社名(正式名称)"),
    "signature": gettext_lazy("差出人の署名"),
    "service_name": gettext_lazy("キャリア支援サービス名"),
    "operator_name": gettext_lazy("キャリア支援サービスの運営者"),
}

# What every kind about an application knows of it (the application the message is about).
APPLICATION_VARIABLES = {
    "job_title": gettext_lazy("応募職種"),
    "stage": gettext_lazy("選考ステップ(例: 一次面接)"),
    "rejected_date": gettext_lazy("不採用の決定日(例: 2026年11月21日)"),
    "referral_url": gettext_lazy("候補者ごとのキャリア支援サービス登録リンク"),
}

# How far back a job counts as open for `open_positions`: Job has no open/closed flag, so a job is open when
# it received an application in the last OPEN_POSITION_DAYS days (at most OPEN_POSITION_LIMIT, newest first).
OPEN_POSITION_DAYS = 90
OPEN_POSITION_LIMIT = 10

VARIABLES: dict[str, dict[str, str]] = {
    MessageKind.REJECTION: {**COMMON_VARIABLES, **APPLICATION_VARIABLES},
    MessageKind.FOLLOW_UP: {
        **COMMON_VARIABLES,
        **APPLICATION_VARIABLES,
        "open_positions": gettext_lazy("募集中の職種の一覧(直近90日に応募があった職種。1行に1つ、「・」付き。"
                                       "{% for job in open_positions %}で1つずつ、{% if open_positions %}で有無を確かめられます)"),
    },
    MessageKind.INVITATION: {
        **COMMON_VARIABLES,
        **APPLICATION_VARIABLES,
        "open_positions": gettext_lazy("募集中の職種の一覧(直近90日に応募があった職種。1行に1つ、「・」付き。"
                                       "{% for job in open_positions %}で1つずつ、{% if open_positions %}で有無を確かめられます)"),
    },
    MessageKind.WELCOME_BACK: {
        **COMMON_VARIABLES,
        "job_title": gettext_lazy("あらためて応募された職種"),
    },
    MessageKind.VERIFICATION: {
        **COMMON_VARIABLES,
        "verify_url": gettext_lazy("登録を完了するための確認リンク"),
        "expires_days": gettext_lazy("確認リンクの有効日数"),
    },
}

# Every kind that advertises (all but the transactional ones) can place the personal unsubscribe link.
# The footer with that link and the sender's name and address is appended to every such mail anyway,
# so a template cannot leave it out (see footer_text / footer_html).
for _kind, _variables in VARIABLES.items():
    if _kind not in TRANSACTIONAL_KINDS:
        _variables.setdefault("unsubscribe_url", gettext_lazy("配信停止・メール設定のリンク(本文末尾にも自動で入ります)"))

# Variables that must render non-empty: a notice never goes out with a blank where a name should be.
REQUIRED_NON_EMPTY = ("candidate_name", "company_name")


class OpenPositions(list):
    """The titles of the company's open jobs: a list to loop over, printed as one "・title" per line."""

    def __str__(self) -> str:
        return "\n".join(f"・{title}" for title in self)


# --- the sandbox and its budget --------------------------------------------------------------------

MAX_TEMPLATE_CHARS = 20_000
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
    if budget is None:  # only _run renders, and it always sets a budget
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


_environment = TemplateEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


class RenderError(Exception):
    """A template could not be rendered for a message (a permanent failure for that message)."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _run(template, context: dict) -> str:
    """Render within a fresh budget."""
    token = _budget.set(_Budget(steps=MAX_STEPS, chars=MAX_CHARS, deadline=time.monotonic() + MAX_SECONDS))
    try:
        return template.render(context)
    except RecursionError as exc:
        raise LimitExceeded(_("呼び出しの入れ子が深すぎます。")) from exc
    finally:
        _budget.reset(token)


_RENDER_ERRORS = (UndefinedError, SecurityError, TemplateSyntaxError, TypeError, ValueError, ArithmeticError,
                  LookupError)


def _template_line(exc: BaseException) -> int | None:
    """The template line an error happened on (Jinja rewrites tracebacks to point into the template)."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _reason(exc: BaseException) -> str:
    if isinstance(exc, LimitExceeded) or (isinstance(exc, SecurityError) and not str(exc).isascii()):
        return str(exc)
    if isinstance(exc, SecurityError):
        return _("安全のため使えない操作です(%(detail)s)。") % {"detail": exc}
    if isinstance(exc, UndefinedError):
        return _("値がありません(%(detail)s)。") % {"detail": exc}
    return f"{type(exc).__name__}: {exc}"


def _static_problems(parsed) -> list[tuple[int, str]]:
    """What is refused by reading the template alone: internals and tags that reach outside it."""
    problems = []
    for node in parsed.find_all((nodes.Getattr, nodes.Getitem)):
        name = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if isinstance(name, str) and name.startswith("_"):
            problems.append((node.lineno, _("「%(name)s」のような内部の属性は使えません。") % {"name": name}))
    for node in parsed.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends, nodes.Block)):
        problems.append((node.lineno, _("include・import・extends・block は使えません。")))
    return sorted(problems)


def validate_template(kind: str, subject: str, body_text: str) -> None:
    """Refuse a template with a syntax error, a variable outside the documented list, an unsafe or unbounded
    construct, or one that fails with the sample data; each error names its line."""
    allowed = VARIABLES[kind]
    errors = {}
    for field, source in (("subject", subject), ("body_text", body_text)):
        if not (source or "").strip():
            errors[field] = _("入力してください。")
            continue
        if len(source) > MAX_TEMPLATE_CHARS:
            errors[field] = _("%(limit)s文字以内で入力してください。") % {"limit": f"{MAX_TEMPLATE_CHARS:,}"}
            continue
        try:
            parsed = _environment.parse(source)
            undeclared = meta.find_undeclared_variables(parsed)  # compiles: an unknown filter fails here
        except TemplateSyntaxError as exc:
            errors[field] = _syntax_error(exc)
            continue
        unknown = sorted(undeclared - set(allowed) - set(_environment.globals))
        if unknown:
            line = _first_line_mentioning(source, unknown[0])
            errors[field] = _("%(line)d行目: 使えない変数です: %(names)s。使える変数: %(allowed)s") % {
                "line": line,
                "names": ", ".join(unknown),
                "allowed": ", ".join(allowed),
            }
            continue
        problems = _static_problems(parsed)
        if problems:
            errors[field] = _("%(line)d行目: %(reason)s") % {"line": problems[0][0], "reason": problems[0][1]}
            continue
        if field == "subject" and "\n" in source.strip():
            errors[field] = _("件名は1行で入力してください。")
            continue
        try:
            _run(_environment.from_string(source), sample_context(kind))
        except TemplateSyntaxError as exc:
            errors[field] = _syntax_error(exc)
        except _RENDER_ERRORS as exc:
            line = _template_line(exc)
            reason = _("見本データで表示できません: %(reason)s") % {"reason": _reason(exc)}
            errors[field] = (_("%(line)d行目: %(reason)s") % {"line": line, "reason": reason}) if line else reason
    if errors:
        raise ValidationError(errors)


def _syntax_error(exc: TemplateSyntaxError) -> str:
    match = re.match(r"No (filter|test) named '([^']*)'", exc.message or "")
    if match and match.group(1) == "filter":
        return _("%(line)d行目: 使えないフィルタです: %(name)s。使えるフィルタ: %(allowed)s") % {
            "line": exc.lineno, "name": match.group(2), "allowed": ", ".join(SAFE_FILTERS + ("join", "replace"))}
    return _("%(line)d行目: 書式の誤りです(%(reason)s)。") % {"line": exc.lineno, "reason": exc.message}


def _first_line_mentioning(source: str, name: str) -> int:
    for number, line in enumerate(source.splitlines(), start=1):
        if name in line:
            return number
    return 1


def sample_context(kind: str) -> dict:
    sample = {
        "candidate_name": "髙橋 𠮷子",
        "company_name": "株式会社サンプル",
        "signature": "株式会社サンプル\n採用担当",
        "service_name": "キャリアリレー",
        "operator_name": "キャリアリレー運営事務局",
        "job_title": "バックエンドエンジニア",
        "stage": "一次面接",
        "rejected_date": "2026年11月21日",
        "referral_url": "https://example.jp/r/sample",
        "verify_url": "https://example.jp/r/verify/sample",
        "expires_days": 7,
        "unsubscribe_url": "https://example.jp/u/sample",
        "open_positions": OpenPositions(["バックエンドエンジニア", "カスタマーサクセス"]),
    }
    return {key: sample[key] for key in VARIABLES[kind]}


@lru_cache(maxsize=512)
def _compile(source: str):
    return _environment.from_string(source)


def render(subject: str, body_text: str, context: dict, footer: Footer | None = None) -> Rendered:
    """Render a template; with a footer, it is appended to the text and the HTML with the context's
    unsubscribe_url (the returned text, which is what the outbox stores, includes it)."""
    for name in REQUIRED_NON_EMPTY:
        if name in context and not str(context[name]).strip():
            raise RenderError(_("差し込み項目「%(name)s」が空です。") % {"name": name})
    try:
        rendered_subject = " ".join(_run(_compile(subject), context).split())
        text = normalize_newlines(_run(_compile(body_text), context)).strip() + "\n"
    except _RENDER_ERRORS as exc:
        line = _template_line(exc)
        reason = _reason(exc)
        raise RenderError(_("%(line)d行目: %(reason)s") % {"line": line, "reason": reason} if line else reason) from exc
    if footer is None:
        return Rendered(subject=rendered_subject, text=text, html=text_to_html(text, rendered_subject))
    footer_text, footer_html = footer.for_url(context["unsubscribe_url"])
    return Rendered(subject=rendered_subject, text=f"{text}\n{footer_text}",
                    html=text_to_html(text, rendered_subject, footer_html=footer_html))


# --- the footer of advertising mail ----------------------------------------------------------------

_URL_MARK = "\x00unsubscribe_url\x00"
_FOOTER_RULE = "―" * 24


@dataclass(frozen=True)
class Footer:
    """What every mail that advertises ends with, whatever its template says: that and why it was sent, the
    personal unsubscribe link (RFC 8058's visible counterpart), and the sender's name, postal address and
    contact (特定電子メール法). Built once per company (and delivery batch); each mail adds its own link."""

    text: str
    html: str

    def for_url(self, url: str) -> tuple[str, str]:
        return self.text.replace(_URL_MARK, url), self.html.replace(_URL_MARK, escape(url))


def make_footer(*, company_name: str, postal_address: str, contact: str) -> Footer:
    """The footer in the site's language (mail goes out in it, whichever language the console shows)."""
    with translation.override(settings.LANGUAGE_CODE):
        why = _("このメールは、%(company)sの採用選考にご応募いただいた方にお送りしています。") % {"company": company_name}
        opt_out = _("今後のメールがご不要の場合は、こちらから配信を停止できます:")
        facts = [_("送信者:%(name)s") % {"name": company_name}]
        if postal_address.strip():
            facts.append(_("住所:%(address)s") % {"address": postal_address.strip()})
        if contact:
            facts.append(_("お問い合わせ:%(contact)s") % {"contact": contact})
    text = "\n".join([_FOOTER_RULE, why, opt_out, _URL_MARK, *facts]) + "\n"
    html = (
        '<hr style="border:none;border-top:1px solid #ccc;margin:2em 0 1em;">'
        '<p style="font-size:12px;line-height:1.7;color:#666;">'
        f"{escape(why)}<br>\n{escape(opt_out)}<br>\n"
        f'<a href="{_URL_MARK}" style="color:#0b6e4f;">{_URL_MARK}</a><br>\n'
        + "<br>\n".join(escape(fact) for fact in facts)
        + "</p>"
    )
    return Footer(text=text, html=html)


# Japanese text puts URLs right after full-width punctuation ("こちら:https://..."), which word-based
# linkifiers such as Django's urlize miss; a URL here ends at whitespace or a character URLs cannot hold.
_URL = re.compile(r"https?://[^\s<>\"'\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef]+")


def _linkify(escaped: str) -> str:
    return _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)


def text_to_html(text: str, title: str, *, footer_html: str = "") -> str:
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    body = "\n".join("<p>" + _linkify(escape(p)).replace("\n", "<br>\n") + "</p>" for p in paragraphs)
    return (
        '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>"
        '<body style="font-family:sans-serif;font-size:15px;line-height:1.8;color:#222;max-width:640px;">'
        f"{body}{footer_html}</body></html>"
    )
