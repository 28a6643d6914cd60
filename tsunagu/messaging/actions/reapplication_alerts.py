"""Telling HR about a re-application (talent.actions.reapplications recognises it) and thanking the person.

Called by intake for every new application of an event that notifies, inside the transaction that recorded it:

- the Reapplication row itself is the console's notification (/console/reapplications/, unread until opened);
- an alert mail (kind alert, fixed content, key `reapplication:<id>:<user id>`, so once per person told) to
  every member who asked for them (Membership.reapplication_mail True), the admins who did not say (None:
  on for admins) and the job's followers, unless they turned them off (False wins);
- a post to the company's Slack or Teams channel (Company.chat_webhook_url), queued once the transaction
  commits: a slow or broken chat service never delays or fails intake, and the task retries;
- the welcome-back mail (the WELCOME_BACK template, key `welcome_back:<application id>`) to the person, if
  the company turned it on, for an exact match whose application is in selection, to an address that is not
  on the suppression list and a person HR did not mark "do not contact".

Every mail is planned in the outbox inside the intake transaction, so it is as durable as the application:
a rollback plans nothing, and a commit is followed by delivery.
"""

from __future__ import annotations

import logging
from functools import partial
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tsunagu.companies.models import Company, Membership, Role
from tsunagu.lib import queue
from tsunagu.messaging import chat_webhooks
from tsunagu.messaging.actions import notices
from tsunagu.messaging.models import Message, MessageKind
from tsunagu.messaging.schedule import next_send_time
from tsunagu.messaging.selectors import suppression_for
from tsunagu.talent.actions import reapplications
from tsunagu.talent.models import Application, ApplicationStatus, MatchKind, Reapplication

logger = logging.getLogger(__name__)

CHAT_TASK = "tsunagu.messaging.tasks.post_reapplication_to_chat_task"
# Earlier applications listed in a mail or a chat post (the console page lists them all).
HISTORY_IN_MAIL = 10


def on_new_application(company: Company, application: Application) -> Reapplication | None:
    """Recognise a re-application and plan its alerts; None for a first application (or one already alerted)."""
    reapplication = reapplications.detect_reapplication(company, application)
    if reapplication is None:
        return None
    reapplication = (Reapplication.objects.select_related("company", "application__job", "candidate", "previous")
                     .get(pk=reapplication.pk))
    plan_alert_mail(reapplication)
    plan_welcome_back(reapplication)
    if company.chat_webhook_url:
        transaction.on_commit(partial(_queue_chat_post, reapplication.pk), robust=True)
    return reapplication


# --- who is told, and what ---------------------------------------------------------------------------

def alert_recipients(company: Company, job=None) -> list[Membership]:
    """The members who get the alert mail (see the module's docstring), ordered by user."""
    followers = set(job.followers.values_list("pk", flat=True)) if job is not None and job.pk else set()
    chosen = []
    for membership in (Membership.objects.filter(company=company, user__is_active=True).exclude(user__email="")
                       .select_related("user").order_by("user_id")):
        wants = membership.reapplication_mail
        if wants is False:
            continue
        if wants or membership.role == Role.ADMIN or membership.user_id in followers:
            chosen.append(membership)
    return chosen


def earlier_applications(reapplication: Reapplication) -> list[Application]:
    """The earlier record's applications, most recent first (not the new one)."""
    return list(Application.objects.filter(company_id=reapplication.company_id, candidate_id=reapplication.previous_id)
                .exclude(pk=reapplication.application_id).select_related("job").order_by("-pk"))


def history_line(application: Application, time_zone: str) -> str:
    """「2023年4月 バックエンドエンジニア: 最終面接まで・不採用(スキル不一致)・評価 B」"""
    when = timezone.localtime(application.applied_at or application.created_at, ZoneInfo(time_zone))
    parts = [_("%(stage)sまで") % {"stage": application.get_stage_reached_display()}]
    status = application.get_status_display()
    parts.append(f"{status}({application.rejection_reason})" if application.rejection_reason
                 and application.status == ApplicationStatus.REJECTED else status)
    if application.evaluation:
        parts.append(_("評価 %(evaluation)s") % {"evaluation": application.evaluation})
    return _("%(year)d年%(month)d月 %(job)s: %(facts)s") % {
        "year": when.year, "month": when.month, "job": application.job.title, "facts": "・".join(parts)}


def console_url(reapplication: Reapplication) -> str:
    return settings.BASE_URL + reverse("console:reapplication", args=[reapplication.pk])


def _summary(reapplication: Reapplication) -> tuple[str, list[str]]:
    """Subject and lines shared by the mail and the chat post (in the active language)."""
    application = reapplication.application
    subject = _("再応募: %(name)s(%(job)s)") % {"name": reapplication.candidate.name, "job": application.job.title}
    lines = [_("氏名: %(name)s") % {"name": reapplication.candidate.name},
             _("応募した求人: %(job)s") % {"job": application.job.title},
             _("一致: %(match)s(%(detail)s)") % {"match": reapplication.get_match_display(),
                                                  "detail": reapplication.match_detail}]
    if reapplication.match == MatchKind.PROBABLE:
        lines.append(_("以前の候補者「%(name)s」と同一人物かどうか、コンソールで確認してください(自動では統合しません)。")
                     % {"name": reapplication.previous.name})
    return subject, lines


def plan_alert_mail(reapplication: Reapplication) -> int:
    """One alert mail per recipient (planning again plans nothing); returns how many recipients."""
    company = reapplication.company
    recipients = alert_recipients(company, reapplication.application.job)
    if not recipients:
        return 0
    with translation.override(settings.LANGUAGE_CODE):  # stored as sent: in the site's language
        subject, lines = _summary(reapplication)
        history = [f"- {history_line(a, company.time_zone)}" for a in earlier_applications(reapplication)[:HISTORY_IN_MAIL]]
        body = "\n".join([
            _("%(company)sに、以前応募のあった方から新しい応募がありました。") % {"company": company.name}, "",
            *lines, "",
            _("これまでの応募:"), *(history or [_("(記録がありません)")]), "",
            _("詳細(選考の経過、評価、メモ、お送りしたメール): %(url)s") % {"url": console_url(reapplication)}, "",
            _("このお知らせの受け取りは、コンソールの「再応募」のページで変更できます。"),
        ]) + "\n"
        subject = _("【Tsunagu】%(subject)s") % {"subject": subject}
    for membership in recipients:
        user = membership.user
        notices.plan_fixed_mail(company, kind=MessageKind.ALERT, key=f"reapplication:{reapplication.pk}:{user.pk}",
                                to_email=user.email, to_name=user.get_full_name() or user.email,
                                subject=subject, body_text=body)
    return len(recipients)


def plan_welcome_back(reapplication: Reapplication) -> Message | None:
    """The thank-you mail to the person (see the module's docstring for when); None when not sent."""
    company = reapplication.company
    application = reapplication.application
    candidate = reapplication.candidate
    if not company.welcome_back_mail or reapplication.match != MatchKind.EXACT:
        return None
    if application.status != ApplicationStatus.ACTIVE or not candidate.email or not candidate.contact_allowed:
        return None
    if suppression_for(company, candidate.email) is not None:
        return None
    send_at = next_send_time(company, timezone.now())
    message, created = Message.objects.get_or_create(company=company, key=f"{MessageKind.WELCOME_BACK}:{application.pk}",
                                                     defaults={"kind": MessageKind.WELCOME_BACK,
                                                               "application": application,
                                                               "to_email": candidate.email, "to_name": candidate.name,
                                                               "send_at": send_at})
    if created and send_at <= timezone.now():
        notices.request_delivery_on_commit()
    return message


# --- the chat post ---------------------------------------------------------------------------------

def _queue_chat_post(reapplication_id: int) -> None:
    try:
        queue.enqueue(CHAT_TASK, reapplication_id)
    except Exception:  # a queue outage must not fail the request that recorded the application
        logger.exception("re-application %s: the chat post could not be queued", reapplication_id)


def post_to_chat(reapplication_id: int) -> bool:
    """The queued task's work: post the re-application to the company's channel. True when posted; False when
    there is nothing to post or the service refused for good; chat_webhooks.ChatPostFailed to be retried."""
    reapplication = (Reapplication.objects.select_related("company", "application__job", "candidate", "previous")
                     .filter(pk=reapplication_id).first())
    if reapplication is None or not reapplication.company.chat_webhook_url:
        return False
    with translation.override(settings.LANGUAGE_CODE):
        subject, lines = _summary(reapplication)
        history = [history_line(a, reapplication.company.time_zone)
                   for a in earlier_applications(reapplication)[:3]]
        message = chat_webhooks.ChatMessage(
            title=subject, lines=(*lines, *(_("以前の応募: %(line)s") % {"line": line} for line in history)),
            link=console_url(reapplication), link_text=_("Tsunaguで詳細を見る"))
    return chat_webhooks.post(reapplication.company.chat_webhook_url, message)


# --- each member's choice ------------------------------------------------------------------------------

def set_alert_mail(membership: Membership, wants: bool) -> None:
    """A member's own choice: re-application alerts by mail or not."""
    Membership.objects.filter(pk=membership.pk).update(reapplication_mail=bool(wants))
    membership.reapplication_mail = bool(wants)
