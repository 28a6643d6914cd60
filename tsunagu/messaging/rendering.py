"""What a template may say and how it becomes a mail: the documented variables of each kind (VARIABLES),
validation at save time, rendering with the footer every advertising mail ends with, and the HTML part.

Templates run in the budgeted sandbox of sandbox.py, in a render process (render_process.py) under a hard time
and memory limit: a template that breaks a limit with the sample data is refused at save with its line; one
that breaks it with real data at send time fails that one message (RenderError), never the worker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.html import escape
from django.utils.text import normalize_newlines
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from jinja2 import TemplateSyntaxError, meta, nodes

from tsunagu.messaging import render_process, sandbox
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

# How far back a job counts as open for `open_positions` (compose.open_positions): a job not marked closed is listed
# when it was opened or received an application in the last OPEN_POSITION_DAYS days (at most OPEN_POSITION_LIMIT,
# newest first).
OPEN_POSITION_DAYS = 90
OPEN_POSITION_LIMIT = 10

VARIABLES: dict[str, dict[str, str]] = {
    MessageKind.REJECTION: {**COMMON_VARIABLES, **APPLICATION_VARIABLES},
    MessageKind.FOLLOW_UP: {
        **COMMON_VARIABLES,
        **APPLICATION_VARIABLES,
        "open_positions": gettext_lazy("募集中の職種の一覧(募集終了にしていない職種のうち、直近90日に募集を始めたか応募があったもの。1行に1つ、「・」付き。"
                                       "{% for job in open_positions %}で1つずつ、{% if open_positions %}で有無を確かめられます)"),
    },
    MessageKind.INVITATION: {
        **COMMON_VARIABLES,
        **APPLICATION_VARIABLES,
        "open_positions": gettext_lazy("募集中の職種の一覧(募集終了にしていない職種のうち、直近90日に募集を始めたか応募があったもの。1行に1つ、「・」付き。"
                                       "{% for job in open_positions %}で1つずつ、{% if open_positions %}で有無を確かめられます)"),
        "new_job_title": gettext_lazy("ご案内する新しい求人の職種(求人を選んで送るキャンペーンのとき。それ以外は空なので"
                                      "{% if new_job_title %}で有無を確かめられます)"),
    },
    MessageKind.WELCOME_BACK: {
        **COMMON_VARIABLES,
        "job_title": gettext_lazy("あらためて応募された職種"),
    },
    # The relay operator's mail (its own templates, not a company's): company_name and signature are the
    # operator's.
    MessageKind.VERIFICATION: {
        **COMMON_VARIABLES,
        "verify_url": gettext_lazy("登録を完了するための確認リンク"),
        "expires_days": gettext_lazy("確認リンクの有効日数"),
        "licence_number": gettext_lazy("有料職業紹介事業の許可番号"),
        "operator_contact": gettext_lazy("運営者のお問い合わせ先"),
        "via_company": gettext_lazy("ご案内メールを送った企業の名前"),
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

# Personal links that earn credits: a template may place them only as they are (`{{ referral_url }}`), with no
# filter, expression or assignment around them, so the rendered text always holds the token intact and the
# console and API can show a placeholder in its place (redaction.py). `{% if referral_url %}` is allowed.
PERSONAL_LINK_VARIABLES = ("referral_url", "verify_url")
# Variables whose values are links Tsunagu made: with the URLs written in the template itself, the only ones
# the HTML part turns into links. Anything else in the text (a candidate's name, a job title from the ATS,
# what a person typed into a form) stays text, whatever it looks like.
LINK_VARIABLES = ("referral_url", "verify_url", "unsubscribe_url")


# The titles of the company's open jobs (defined in sandbox.py: a render process receives it without models).
OpenPositions = sandbox.OpenPositions


class RenderError(Exception):
    """A template could not be rendered for a message (a permanent failure for that message)."""


class RenderUnavailable(RenderError):
    """No render process could take the render right now (not the template's fault: worth trying again)."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def validate_template(kind: str, subject: str, body_text: str) -> None:
    """Refuse a template with a syntax error, a variable outside the documented list, an unsafe or unbounded
    construct, or one that fails with the sample data; each error names its line."""
    allowed = VARIABLES[kind]
    errors = {}
    to_run = {}
    for field, source in (("subject", subject), ("body_text", body_text)):
        if not (source or "").strip():
            errors[field] = _("入力してください。")
            continue
        if len(source) > sandbox.MAX_TEMPLATE_CHARS:
            errors[field] = _("%(limit)s文字以内で入力してください。") % {"limit": f"{sandbox.MAX_TEMPLATE_CHARS:,}"}
            continue
        try:
            parsed = sandbox.environment.parse(source)
            undeclared = meta.find_undeclared_variables(parsed)  # compiles: an unknown filter fails here
        except TemplateSyntaxError as exc:
            errors[field] = _syntax_error(exc)
            continue
        except RecursionError:
            errors[field] = _("入れ子が深すぎます。")
            continue
        unknown = sorted(undeclared - set(allowed) - set(sandbox.environment.globals))
        if unknown:
            line = _first_line_mentioning(source, unknown[0])
            errors[field] = _("%(line)d行目: 使えない変数です: %(names)s。使える変数: %(allowed)s") % {
                "line": line,
                "names": ", ".join(unknown),
                "allowed": ", ".join(allowed),
            }
            continue
        problems = sorted(sandbox.static_problems(parsed) + _personal_link_problems(parsed))
        if problems:
            errors[field] = _("%(line)d行目: %(reason)s") % {"line": problems[0][0], "reason": problems[0][1]}
            continue
        if field == "subject" and "\n" in source.strip():
            errors[field] = _("件名は1行で入力してください。")
            continue
        to_run[field] = source
    if to_run:
        # With the sample data, in a render process: a template that runs away fails here, not the server.
        try:
            results = render_process.render_sources(list(to_run.values()), sample_context(kind))
        except render_process.RenderFailed as exc:
            results = [["error", None, str(exc)]] * len(to_run)
        for field, result in zip(to_run, results, strict=True):
            if result[0] == "syntax":
                errors[field] = _syntax_error(TemplateSyntaxError(result[2], result[1]))
            elif result[0] == "error":
                line, reason = result[1], _("見本データで表示できません: %(reason)s") % {"reason": result[2]}
                errors[field] = (_("%(line)d行目: %(reason)s") % {"line": line, "reason": reason}) if line else reason
    if errors:
        raise ValidationError(errors)


def _personal_link_problems(parsed) -> list[tuple[int, str]]:
    """A personal link used other than as it is (see PERSONAL_LINK_VARIABLES)."""
    problems = []

    def visit(node, parent):
        if isinstance(node, nodes.Name) and node.name in PERSONAL_LINK_VARIABLES:
            bare = isinstance(parent, nodes.Output) or (isinstance(parent, nodes.If) and parent.test is node)
            if not bare:
                problems.append((node.lineno, _("「%(name)s」は {{ %(name)s }} の形でそのまま書いてください"
                                                "(加工や代入はできません)。") % {"name": node.name}))
        for child in node.iter_child_nodes():
            visit(child, node)

    visit(parsed, None)
    return sorted(problems)


def _syntax_error(exc: TemplateSyntaxError) -> str:
    match = re.match(r"No (filter|test) named '([^']*)'", exc.message or "")
    if match and match.group(1) == "filter":
        return _("%(line)d行目: 使えないフィルタです: %(name)s。使えるフィルタ: %(allowed)s") % {
            "line": exc.lineno, "name": match.group(2), "allowed": ", ".join(sandbox.SAFE_FILTERS + ("join", "replace"))}
    return _("%(line)d行目: 書式の誤りです(%(reason)s)。") % {"line": exc.lineno, "reason": exc.message}


def _first_line_mentioning(source: str, name: str) -> int:
    for number, line in enumerate(source.splitlines(), start=1):
        if name in line:
            return number
    return 1


def _sample_link() -> str:
    return f"{settings.BASE_URL}/r/{_('(候補者ごとのリンク)')}"


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
        # What the console shows for a personal link (redaction.py), never a link that could work.
        "referral_url": _sample_link(),
        "verify_url": _sample_link(),
        "expires_days": 7,
        "licence_number": "13-ユ-300000",
        "operator_contact": "support@career-relay.example",
        "via_company": "株式会社サンプル",
        "unsubscribe_url": "https://example.jp/u/sample",
        "open_positions": OpenPositions(["バックエンドエンジニア", "カスタマーサクセス"]),
        "new_job_title": "データエンジニア",
    }
    return {key: sample[key] for key in VARIABLES[kind]}


def render(subject: str, body_text: str, context: dict, footer: Footer | None = None) -> Rendered:
    """Render a template; with a footer, it is appended to the text and the HTML with the context's
    unsubscribe_url (the returned text, which is what the outbox stores, includes it)."""
    for name in REQUIRED_NON_EMPTY:
        if name in context and not str(context[name]).strip():
            raise RenderError(_("差し込み項目「%(name)s」が空です。") % {"name": name})
    try:
        results = render_process.render_sources([subject, body_text], context)
    except render_process.RenderUnavailable as exc:
        raise RenderUnavailable(str(exc)) from exc
    except render_process.RenderFailed as exc:
        raise RenderError(str(exc)) from exc
    for result in results:
        if result[0] != "ok":
            line, reason = result[1], result[2]
            raise RenderError(_("%(line)d行目: %(reason)s") % {"line": line, "reason": reason} if line else reason)
    rendered_subject = " ".join(results[0][1].split())
    text = normalize_newlines(results[1][1]).strip() + "\n"
    links = linkable_urls(body_text, context)
    if footer is None:
        return Rendered(subject=rendered_subject, text=text, html=text_to_html(text, rendered_subject, links=links))
    # A policy-only footer (policy_footer) has no unsubscribe link to fill in.
    footer_text, footer_html = footer.for_url(context.get("unsubscribe_url", ""))
    return Rendered(subject=rendered_subject, text=f"{text}\n{footer_text}",
                    html=text_to_html(text, rendered_subject, footer_html=footer_html, links=links))


def linkable_urls(body_text: str, context: dict) -> frozenset[str]:
    """The URLs the HTML part may link: those written in the template itself and the values of LINK_VARIABLES.
    A URL that arrives through any other variable (user input) is not among them and stays text."""
    found = {match.group(0) for match in _URL.finditer(body_text or "") if "{" not in match.group(0)}
    found.update(str(context[name]) for name in LINK_VARIABLES if context.get(name))
    return frozenset(found)


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


def make_footer(*, company_name: str, postal_address: str, contact: str, policy_url: str = "") -> Footer:
    """The footer in the site's language (mail goes out in it, whichever language the console shows), ending
    with the link to the sender's privacy policy page when given."""
    with translation.override(settings.LANGUAGE_CODE):
        why = _("このメールは、%(company)sの採用選考にご応募いただいた方にお送りしています。") % {"company": company_name}
        opt_out = _("今後のメールがご不要の場合は、こちらから配信を停止できます:")
        facts = [_("送信者:%(name)s") % {"name": company_name}]
        if postal_address.strip():
            facts.append(_("住所:%(address)s") % {"address": postal_address.strip()})
        if contact:
            facts.append(_("お問い合わせ:%(contact)s") % {"contact": contact})
        policy_text, policy_html = _policy_line(policy_url)
    text = "\n".join([_FOOTER_RULE, why, opt_out, _URL_MARK, *facts, *policy_text]) + "\n"
    html = (
        '<hr style="border:none;border-top:1px solid #ccc;margin:2em 0 1em;">'
        '<p style="font-size:12px;line-height:1.7;color:#666;">'
        f"{escape(why)}<br>\n{escape(opt_out)}<br>\n"
        f'<a href="{_URL_MARK}" style="color:#0b6e4f;">{_URL_MARK}</a><br>\n'
        + "<br>\n".join([*(escape(fact) for fact in facts), *policy_html])
        + "</p>"
    )
    return Footer(text=text, html=html)


def _policy_line(policy_url: str) -> tuple[list[str], list[str]]:
    """「個人情報の取り扱い: <URL>」 as text and as HTML (linked), or nothing without a URL."""
    if not policy_url:
        return [], []
    label = _("個人情報の取り扱い")
    return ([f"{label}: {policy_url}"],
            [f'{escape(label)}: <a href="{escape(policy_url)}" style="color:#0b6e4f;">{escape(policy_url)}</a>'])


def policy_footer(policy_url: str) -> Footer:
    """The footer of a mail that has no unsubscribe footer (the operator's verification mail): the link to the
    sender's privacy policy page only."""
    with translation.override(settings.LANGUAGE_CODE):
        policy_text, policy_html = _policy_line(policy_url)
    return Footer(text="\n".join([_FOOTER_RULE, *policy_text]) + "\n",
                  html='<hr style="border:none;border-top:1px solid #ccc;margin:2em 0 1em;">'
                       '<p style="font-size:12px;line-height:1.7;color:#666;">' + "".join(policy_html) + "</p>")


# Japanese text puts URLs right after full-width punctuation ("こちら:https://..."), which word-based
# linkifiers such as Django's urlize miss; a URL here ends at whitespace or a character URLs cannot hold.
_URL = re.compile(r"https?://[^\s<>\"'\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef]+")


def _linkify(escaped: str, links: frozenset[str]) -> str:
    """Link the URLs of `links` (escaped as the text is) where they stand; any other URL stays text. A URL run
    on into more characters (a full stop, text a template put right after it) links the known URL only."""
    known = sorted((escape(url) for url in links), key=len, reverse=True)

    def link(match: re.Match) -> str:
        found = match.group(0)
        url = next((url for url in known if found.startswith(url)), None)
        if url is None:
            return found
        return f'<a href="{url}">{url}</a>{found[len(url):]}'

    return _URL.sub(link, escaped) if known else escaped


def text_to_html(text: str, title: str, *, footer_html: str = "", links: frozenset[str] = frozenset()) -> str:
    """The HTML part of a mail from its text: paragraphs, line breaks, and links only for `links` (see
    linkable_urls): user-entered text is never turned into a link."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    body = "\n".join("<p>" + _linkify(escape(p), links).replace("\n", "<br>\n") + "</p>" for p in paragraphs)
    return (
        '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head>"
        '<body style="font-family:sans-serif;font-size:15px;line-height:1.8;color:#222;max-width:640px;">'
        f"{body}{footer_html}</body></html>"
    )
