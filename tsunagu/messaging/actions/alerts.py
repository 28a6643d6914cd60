"""Telling a company's admins about mail that failed, through the outbox like any other mail."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tsunagu.companies.models import Membership, Role
from tsunagu.messaging.actions import notices
from tsunagu.messaging.models import EventKind, Message, MessageEvent, MessageKind, MessageStatus

# MessageEvent.source of the mark "this failure was alerted" (one per failed message).
FAILURE_ALERT_SOURCE = "failure-alert"
# Failures read per run; the next run (a minute later) takes the rest.
ALERT_BATCH = 500


def alert_failures() -> int:
    """For companies that asked for it, one mail to each of their admins listing the messages that failed since
    the last alert; returns how many failures were read. The alerts are planned in the outbox (kind alert,
    subject and text fixed now, sent at once, outside the send window) and delivered and retried like any
    mail. Each failure is alerted once: a MessageEvent marks it (unique per message); a failed alert is not
    itself alerted."""
    alerted = MessageEvent.objects.filter(message=OuterRef("pk"), source=FAILURE_ALERT_SOURCE)
    failed = list(Message.objects.filter(company__failure_alerts=True, status=MessageStatus.FAILED)
                  .exclude(kind=MessageKind.ALERT).filter(~Exists(alerted))
                  .select_related("company").order_by("company_id", "pk")[:ALERT_BATCH])
    by_company: dict[int, list[Message]] = {}
    for message in failed:
        by_company.setdefault(message.company_id, []).append(message)
    planned = [_plan_alerts(messages) for messages in by_company.values()]
    if any(planned):
        # At once, not on commit: the scheduler calls this outside any request.
        notices.request_delivery()
    return len(failed)


@transaction.atomic
def _plan_alerts(messages: list[Message]) -> int:
    """One company's alerts, one per admin, and the marks on its failures; returns how many alerts."""
    company = messages[0].company
    admins = list(Membership.objects.filter(company=company, role=Role.ADMIN, user__is_active=True)
                  .exclude(user__email="").select_related("user").order_by("user_id"))
    now = timezone.now()
    with translation.override(settings.LANGUAGE_CODE):  # stored as sent: in the site's language
        subject = _("【Tsunagu】メールの送信に失敗しました(%(count)d件)") % {"count": len(messages)}
        lines = [f"- {m.get_kind_display()} → {m.to_email}: {m.last_error[:200]}\n  "
                 f"{settings.BASE_URL}{reverse('console:message', args=[m.pk])}" for m in messages]
        body = (_("%(company)sのメールのうち、次の%(count)d件が送信できませんでした。送信箱で内容を確認し、"
                  "必要なら再送信してください。") % {"company": company.name, "count": len(messages)}
                + "\n\n" + "\n".join(lines) + "\n")
        detail = _("管理者に通知しました") if admins else _("通知先の管理者がいません")
    # The same failures make the same key: a run repeated (or two at once) cannot alert them twice.
    failures = hashlib.sha256(",".join(str(m.pk) for m in messages).encode()).hexdigest()[:20]
    for membership in admins:
        user = membership.user
        Message.objects.get_or_create(company=company, key=f"{MessageKind.ALERT}:{user.pk}:{failures}", defaults={
            "kind": MessageKind.ALERT, "to_email": user.email, "to_name": user.get_full_name() or user.email,
            "send_at": now, "subject": subject[:300], "body_text": body,
        })
    MessageEvent.objects.bulk_create([
        MessageEvent(company=company, message=m, kind=EventKind.FAILED, occurred_at=now,
                     source=FAILURE_ALERT_SOURCE, source_event_id=f"message-{m.pk}", detail=detail)
        for m in messages
    ], ignore_conflicts=True)
    return len(admins)
