"""Sandboxed rendering of user-written templates, and their validation at save time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils.html import escape
from django.utils.text import normalize_newlines
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from tsunagu.messaging.models import MessageKind

COMMON_VARIABLES = {
    "candidate_name": gettext_lazy("候補者の氏名(例: 髙橋 𠮷子)"),
    "company_name": gettext_lazy("会社名(正式名称)"),
    "signature": gettext_lazy("差出人の署名"),
    "service_name": gettext_lazy("キャリア支援サービス名"),
    "operator_name": gettext_lazy("キャリア支援サービスの運営者"),
}

VARIABLES: dict[str, dict[str, str]] = {
    MessageKind.REJECTION: {
        **COMMON_VARIABLES,
        "job_title": gettext_lazy("応募職種"),
        "stage": gettext_lazy("選考ステップ(例: 一次面接)"),
        "rejected_date": gettext_lazy("不採用の決定日(例: 2026年11月21日)"),
        "referral_url": gettext_lazy("候補者ごとのキャリア支援サービス登録リンク"),
    },
    MessageKind.VERIFICATION: {
        **COMMON_VARIABLES,
        "verify_url": gettext_lazy("登録を完了するための確認リンク"),
        "expires_days": gettext_lazy("確認リンクの有効日数"),
    },
}

# Variables that must render non-empty: a notice never goes out with a blank where a name should be.
REQUIRED_NON_EMPTY = ("candidate_name", "company_name")

_environment = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


class RenderError(Exception):
    """A template could not be rendered for a message (a permanent failure for that message)."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def validate_template(kind: str, subject: str, body_text: str) -> None:
    """Refuse a template with a syntax error or a variable outside the documented list."""
    allowed = VARIABLES[kind]
    errors = {}
    for field, source in (("subject", subject), ("body_text", body_text)):
        if not (source or "").strip():
            errors[field] = _("入力してください。")
            continue
        try:
            parsed = _environment.parse(source)
        except TemplateSyntaxError as exc:
            errors[field] = _("%(line)d行目: 書式の誤りです(%(reason)s)。") % {"line": exc.lineno, "reason": exc.message}
            continue
        unknown = sorted(meta.find_undeclared_variables(parsed) - set(allowed))
        if unknown:
            line = _first_line_mentioning(source, unknown[0])
            errors[field] = _("%(line)d行目: 使えない変数です: %(names)s。使える変数: %(allowed)s") % {
                "line": line,
                "names": ", ".join(unknown),
                "allowed": ", ".join(allowed),
            }
            continue
        if field == "subject" and "\n" in source.strip():
            errors[field] = _("件名は1行で入力してください。")
            continue
        try:
            _environment.from_string(source).render(sample_context(kind))
        except (UndefinedError, SecurityError, TypeError, ValueError, ArithmeticError) as exc:
            errors[field] = _("見本データで表示できません: %(reason)s") % {"reason": exc}
    if errors:
        raise ValidationError(errors)


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
    }
    return {key: sample[key] for key in VARIABLES[kind]}


@lru_cache(maxsize=512)
def _compile(source: str):
    return _environment.from_string(source)


def render(subject: str, body_text: str, context: dict) -> Rendered:
    for name in REQUIRED_NON_EMPTY:
        if name in context and not str(context[name]).strip():
            raise RenderError(_("差し込み項目「%(name)s」が空です。") % {"name": name})
    try:
        rendered_subject = " ".join(_compile(subject).render(context).split())
        text = normalize_newlines(_compile(body_text).render(context)).strip() + "\n"
    except (UndefinedError, SecurityError, TemplateSyntaxError, TypeError, ValueError, ArithmeticError) as exc:
        raise RenderError(str(exc)) from exc
    return Rendered(subject=rendered_subject, text=text, html=text_to_html(text, rendered_subject))


# Japanese text puts URLs right after full-width punctuation ("こちら:https://..."), which word-based
# linkifiers such as Django's urlize miss; a URL here ends at whitespace or a character URLs cannot hold.
_URL = re.compile(r"https?://[^\s<>\"'\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef]+")


def _linkify(escaped: str) -> str:
    return _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)


def text_to_html(text: str, title: str) -> str:
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    body = "\n".join("<p>" + _linkify(escape(p)).replace("\n", "<br>\n") + "</p>" for p in paragraphs)
    return (
        '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>"
        '<body style="font-family:sans-serif;font-size:15px;line-height:1.8;color:#222;max-width:640px;">'
        f"{body}</body></html>"
    )
