"""Building the mail: a message's variables, its template rendered in the sandbox with the footer, and the
MIME mail with tracked links; the console's preview and how a message looks. Reads only: delivery
(actions/delivery.py) records what was built.

An alert (to a company's admins) has no template: its subject and text were fixed when it was planned, and
it goes out as plain text without footer, List-Unsubscribe or tracking.

The relay operator's mail (the registration verification, consent requests) is the operator party's
(Company.is_operator): its templates, its name, address and licence number. The career-support service every
mail names (service_name, operator_name) is the operator party's too, read once per delivery batch.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tsunagu.companies.actions import operator_party
from tsunagu.companies.models import Company
from tsunagu.lib.tokens import referral_token
from tsunagu.messaging import rendering
from tsunagu.messaging.failures import PermanentFailure
from tsunagu.messaging.mime import NoticeEmail
from tsunagu.messaging.models import FIXED_CONTENT_KINDS, Message, MessageKind, MessageTemplate
from tsunagu.messaging.redaction import placeholder_url, redact
from tsunagu.messaging.template_sets import Slot, template_set
from tsunagu.messaging.tracking.links import tracked_html
from tsunagu.messaging.unsubscribe import is_advertising, unsubscribe_mailto, unsubscribe_url
from tsunagu.talent.models import Application, Job, JobStatus

# How long the verification link in the double opt-in mail is valid (relay checks the token's age with it).
VERIFICATION_DAYS = 7


class RenderingUnavailable(PermanentFailure):
    """No render process could take the render right now: the mail cannot be built at the moment, but the
    template is not at fault. Delivery retries it later (actions/delivery.py); the console shows it as any
    mail that cannot be built."""


def build_email(message: Message, template_cache: dict | None = None, *, track: bool = False) -> NoticeEmail:
    """Render the message (filling its stored content) and build the MIME mail."""
    if message.kind in FIXED_CONTENT_KINDS:
        return _fixed_email(message)
    company = message.company
    cache = template_cache if template_cache is not None else {}
    template = _template_for_message(message, cache)
    context = message_context(message, cache)
    advertising = is_advertising(message.kind)
    footer, mailto = _footer_and_mailto(company, cache) if advertising else (None, "")
    if message.kind == MessageKind.VERIFICATION:  # to a person, from the operator: its policy at least
        footer = rendering.policy_footer(policy_url(company))
    try:
        rendered = rendering.render(template.subject, template.body_text, context, footer=footer)
    except rendering.RenderUnavailable as exc:  # no render process free: the template is not at fault
        raise RenderingUnavailable(_("テンプレートを表示できません: %(reason)s") % {"reason": exc}) from exc
    except rendering.RenderError as exc:
        raise PermanentFailure(_("テンプレートを表示できません: %(reason)s") % {"reason": exc}) from exc
    message.template, message.variant = template, template.variant
    message.subject, message.body_text = rendered.subject, rendered.text
    _give_message_id(message)
    return NoticeEmail(
        subject=rendered.subject,
        text=rendered.text,
        # Links are rewritten only for mail really sent: a click in the console's preview is not a candidate's.
        html=tracked_html(rendered.html, message_id=message.pk, company_id=company.pk, sent_at=timezone.now())
        if track and message.kind != MessageKind.VERIFICATION else rendered.html,
        from_name=sender_name(company),
        from_email=company.from_email,
        to_name=message.to_name,
        to_email=message.to_email,
        reply_to=company.reply_to,
        message_id=message.message_id,
        list_unsubscribe=[context["unsubscribe_url"], mailto] if advertising else None,
    )


def _fixed_email(message: Message) -> NoticeEmail:
    """An alert or notice as planned: its stored subject and text, plain text only. An alert goes to the
    company's own admins, from its bare sender address; other kinds carry the sender's name."""
    company = message.company
    message.template, message.variant = None, ""
    _give_message_id(message)
    return NoticeEmail(subject=message.subject, text=message.body_text, html="",
                       from_name="" if message.kind == MessageKind.ALERT else sender_name(company),
                       from_email=company.from_email,
                       reply_to="" if message.kind == MessageKind.ALERT else company.reply_to,
                       # The outbox names an admin without a name by the address; the mail need not.
                       to_name="" if message.to_name == message.to_email else message.to_name,
                       to_email=message.to_email, message_id=message.message_id)


def sender_name(company: Company) -> str:
    """The display name in From: the company's (「会社名 採用担当」 by default), or for the relay operator's
    party its sender name, else its service's name (an agency's mail is not from a 採用担当)."""
    if company.is_operator:
        return company.sender_name or company.service_name or company.name
    return company.display_sender_name


def operator_of(cache: dict | None) -> Company:
    """The relay operator's party (made on first use from the settings' defaults), once per delivery batch."""
    if cache is None:
        return operator_party()
    if "operator" not in cache:
        cache["operator"] = operator_party()
    return cache["operator"]


def _give_message_id(message: Message) -> None:
    if not message.message_id:
        domain = message.company.from_email.rsplit("@", 1)[-1]
        # Unique by the row id plus 48 random bits; shorter than make_msgid's (whose time, process id and
        # 64-bit number made the header longer than a 78-character line with a long row id or domain).
        message.message_id = f"<{secrets.token_hex(6)}.tsunagu.{message.pk}@{domain}>"


def _template_for_message(message: Message, cache: dict) -> MessageTemplate:
    """The message's template down the fallback chain, with its variant drawn from the message id. The
    company's template set is read once per delivery batch and kind; the choice per slot is remembered."""
    company = message.company
    set_key = ("templates", company.pk, message.kind)
    if set_key not in cache:
        cache[set_key] = template_set(company, message.kind)
    facts = Slot.for_message(message)
    template = cache[set_key].pick(facts, key=message.pk)
    if template is None:
        raise PermanentFailure(_("このテンプレートの既定の文面がありません。"))
    return template


def _footer_and_mailto(company: Company, cache: dict) -> tuple[rendering.Footer, str]:
    """The company's footer and List-Unsubscribe mailto, made once per delivery batch."""
    key = ("footer", company.pk)
    if key not in cache:
        cache[key] = (
            rendering.make_footer(company_name=company.name, postal_address=company.postal_address,
                                  contact=company.reply_to or company.from_email, policy_url=policy_url(company)),
            unsubscribe_mailto(company),
        )
    return cache[key]


def policy_url(company: Company) -> str:
    """The absolute address of the sender's public privacy-policy page (the privacy app's, by its URL name)."""
    return settings.BASE_URL + reverse("privacy:policy", args=[company.slug])


def message_context(message: Message, cache: dict | None = None) -> dict:
    """The variables of the message's kind (rendering.VARIABLES), from its application and company."""
    company = message.company
    operator = operator_of(cache)
    variables = rendering.VARIABLES[message.kind]
    context = {
        "candidate_name": message.to_name,
        "company_name": company.name,
        "signature": company.display_signature,
        "service_name": operator.service_name or operator.name,
        "operator_name": operator.name,
    }
    if is_advertising(message.kind):
        context["unsubscribe_url"] = unsubscribe_url(message.pk)
    if message.kind != MessageKind.VERIFICATION and message.application_id is not None:
        application = message.application
        decided = timezone.localtime(application.rejected_at or message.created_at, _zone(company))
        titles = [application.job.title]
        if message.context.get("combined_applications"):
            titles += [title for title in Application.objects.filter(
                pk__in=message.context["combined_applications"], status="rejected").order_by("pk")
                .values_list("job__title", flat=True) if title not in titles]
        context.update(
            job_title="、".join(titles),
            stage=application.stage_raw or application.get_stage_display(),
            rejected_date=f"{decided.year}年{decided.month}月{decided.day}日",
            referral_url=settings.BASE_URL + _landing_path(referral_token(message.pk)),
        )
        if "open_positions" in variables:
            context["open_positions"] = open_positions(company, cache)
        if "new_job_title" in variables:
            # An invitation campaign's job (actions/campaigns.py stores it with the message); "" otherwise.
            context["new_job_title"] = str(message.context.get("new_job_title", ""))
    elif message.kind == MessageKind.VERIFICATION:
        # The operator's mail to a person who asked to register: who the agency is (職業安定法: the licence) and
        # through whose notice they came.
        context.update(
            verify_url=settings.BASE_URL + reverse("relay:verify", args=[message.context.get("verify_token", "")]),
            expires_days=VERIFICATION_DAYS,
            signature=operator.signature or context["service_name"],
            licence_number=operator.licence_number,
            operator_contact=operator.reply_to or operator.from_email,
            via_company=message.context.get("via_company", ""),
        )
    return context


def open_positions(company: Company, cache: dict | None = None) -> rendering.OpenPositions:
    """The company's open jobs for `open_positions`: a job not marked closed that was opened (through the jobs
    API, an ATS's job event or the console) or received an application in the last
    rendering.OPEN_POSITION_DAYS days; newest first, at most rendering.OPEN_POSITION_LIMIT. Read once per
    delivery batch and company."""
    key = ("open_positions", company.pk)
    if cache is not None and key in cache:
        return cache[key]
    since = timezone.now() - timedelta(days=rendering.OPEN_POSITION_DAYS)
    jobs = Job.objects.filter(company=company).exclude(status=JobStatus.CLOSED)
    latest: dict[str, object] = {}
    applied = (jobs.filter(applications__created_at__gte=since).annotate(latest=Max("applications__created_at"))
               .order_by("-latest")[:rendering.OPEN_POSITION_LIMIT].values_list("title", "latest"))
    opened = (jobs.filter(opened_at__gte=since).order_by("-opened_at")[:rendering.OPEN_POSITION_LIMIT]
              .values_list("title", "opened_at"))
    for title, when in [*applied, *opened]:
        if title not in latest or when > latest[title]:
            latest[title] = when
    titles = sorted(latest, key=lambda title: (-latest[title].timestamp(), title))[:rendering.OPEN_POSITION_LIMIT]
    positions = rendering.OpenPositions(titles)
    if cache is not None:
        cache[key] = positions
    return positions


@lru_cache(maxsize=1)
def _landing_prefix() -> str:
    # reverse() is costly per message in bulk delivery; the link is this prefix plus the token.
    return reverse("relay:landing", args=["TOKEN"])[: -len("TOKEN")]


def _landing_path(token: str) -> str:
    return _landing_prefix() + token


def preview(company: Company, kind: str, *, subject: str, body_text: str,
            application: Application | None = None, step: int = 0) -> rendering.Rendered:
    """Render a draft with one of the company's real candidates (or sample data when it has none), with the
    footer every advertising mail ends with."""
    rendering.validate_template(kind, subject, body_text)
    if kind != MessageKind.VERIFICATION and application is not None:
        draft = Message(company=company, kind=kind, application=application, to_name=application.candidate.name,
                        to_email=application.candidate.email, pk=0, step=step, created_at=timezone.now())
        context = message_context(draft)
        if "referral_url" in context:
            context["referral_url"] = placeholder_url()  # a company never sees a personal link (redaction.py)
    else:
        context = rendering.sample_context(kind)
        context.update(company_name=company.name, signature=company.display_signature)
    footer = _footer_and_mailto(company, {})[0] if is_advertising(kind) else None
    return rendering.render(subject, body_text, context, footer=footer)


def _zone(company: Company):
    return ZoneInfo(company.time_zone)


def email_for_display(message: Message) -> NoticeEmail:
    """The mail as it was sent (its stored subject and text) or, before sending, as it would be sent
    now; for the console's message page, so with every personal link redacted (redaction.py). Nothing is
    saved."""
    draft = Message.objects.select_related("company", "application__job").get(pk=message.pk)
    email = build_email(draft)
    if message.body_text:
        email.subject, email.body = message.subject, message.body_text
        if email.html:  # an alert has no HTML part
            used = message.template.body_text if message.template_id else ""  # the version it was sent with
            links = rendering.linkable_urls(used, message_context(draft))
            email.html = rendering.text_to_html(message.body_text, message.subject, links=links)
    email.subject = redact(email.subject, message.pk)
    email.body = redact(email.body, message.pk)
    email.html = redact(email.html, message.pk)
    return email
