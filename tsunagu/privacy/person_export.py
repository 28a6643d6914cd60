"""What a party holds about one person, for the person (開示; GDPR art. 15 and 20): every datum, why it is held,
since when, until when, and who received it. One plain dict, served as JSON and as a readable page. Read-only.

A company's candidate and the relay's registrant are two parties' records, exported separately.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from tsunagu.messaging.models import Message, MessageEvent
from tsunagu.privacy.models import PoolConsent
from tsunagu.privacy.selectors import retention_days_for
from tsunagu.relay.models import ConsentRecord, Introduction, IntroductionStatus, Registrant, Registration
from tsunagu.talent.models import Application, Candidate, CandidateTag
from tsunagu.talent.stages import Stage

FORMAT_VERSION = 1


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def retention_deadline(candidate: Candidate) -> datetime:
    """When the company's retention ends for this person, counted from their latest activity or consent."""
    days = retention_days_for(candidate.company, candidate)
    moments = [m for m in (candidate.created_at, candidate.last_applied_at, candidate.last_rejected_at,
                           candidate.consented_at) if m is not None]
    return max(moments) + timedelta(days=days)


def candidate_export(candidate: Candidate) -> dict:
    """Everything the company holds about its candidate."""
    company = candidate.company
    registration = Registration.objects.filter(candidate=candidate).first()
    recipients = [{"name": company.name, "role": _("応募先の企業(この情報の管理者)")}]
    if registration is not None:
        recipients.append({"name": _("キャリア支援サービスの運営会社"),
                           "role": _("ご本人が登録されたときに、ご本人が入力した情報を受け取りました")})
    return {
        "format_version": FORMAT_VERSION,
        "exported_at": timezone.now().isoformat(),
        "controller": {"name": company.name, "contact": company.reply_to or company.sender_email},
        "purpose": _("採用選考の連絡と結果のお知らせ、その後のご案内(タレントプール)のため。"),
        "held_since": _iso(candidate.created_at),
        "retained_until": _iso(retention_deadline(candidate)),
        "recipients": recipients,
        "person": {
            "name": candidate.name, "name_kana": candidate.name_kana, "email": candidate.email,
            "phone": candidate.phone, "region_code": candidate.region_code, "region_text": candidate.region_text,
            "desired_job": candidate.desired_job, "note": candidate.note,
            "contact_allowed": candidate.contact_allowed, "stage_reached": str(Stage(candidate.stage_reached).label),
            "evaluation": candidate.evaluation, "channel": candidate.channel,
            "tags": list(CandidateTag.objects.filter(candidate=candidate).values_list("label", flat=True)),
        },
        "applications": [{
            "external_id": a.external_id, "job_title": a.job.title, "status": a.get_status_display(),
            "stage": str(Stage(a.stage).label), "rejection_reason": a.rejection_reason, "channel": a.channel,
            "applied_at": _iso(a.applied_at), "rejected_at": _iso(a.rejected_at), "received_at": _iso(a.created_at),
        } for a in Application.objects.filter(candidate=candidate).select_related("job").order_by("pk")],
        "messages": [{
            "kind": m.get_kind_display(), "subject": m.subject, "status": m.get_status_display(),
            "sent_at": _iso(m.sent_at), "to": m.to_email,
            "events": [{"kind": e.get_kind_display(), "at": _iso(e.occurred_at)}
                       for e in MessageEvent.objects.filter(message=m).order_by("occurred_at", "pk")],
        } for m in Message.objects.filter(company=company, application__candidate=candidate).order_by("pk")],
        "registration": None if registration is None else {
            "registered_at": _iso(registration.created_at),
            "what_the_company_knows": _("ご登録があったことのみ"),
        },
        "consents": [{
            "purpose": c.get_purpose_display(), "version": c.version, "text": c.text, "text_sha256": c.text_hash,
            "given_at": _iso(c.given_at), "withdrawn_at": _iso(c.withdrawn_at),
        } for c in PoolConsent.objects.filter(candidate=candidate)],
    }


def registrant_export(registrant: Registrant, operator) -> dict:
    """Everything the relay operator holds about its registrant, with the companies that received it."""
    introductions = (Introduction.objects.filter(registrant=registrant).select_related("request__company")
                     .order_by("pk"))
    recipients = [{"name": operator.name, "role": _("キャリア支援サービスの運営会社(この情報の管理者)")}]
    recipients += [{"name": i.request.company.name, "role": _("ご本人の同意により推薦先として情報を受け取りました"),
                    "at": _iso(i.consented_at)}
                   for i in introductions if i.consented_at is not None and i.status != IntroductionStatus.PROPOSED]
    return {
        "format_version": FORMAT_VERSION,
        "exported_at": timezone.now().isoformat(),
        "controller": {"name": operator.name, "licence_number": operator.licence_number,
                       "contact": operator.reply_to or operator.sender_email},
        "purpose": _("キャリア相談、求人のご紹介およびそのためのご連絡のため。"),
        "held_since": _iso(registrant.created_at),
        "retained_until": _iso(registrant.updated_at + timedelta(days=operator.retention_days)),
        "recipients": recipients,
        "person": {
            "name": registrant.name, "name_kana": registrant.name_kana, "email": registrant.email,
            "phone": registrant.phone, "desired_job": registrant.desired_job,
            "desired_region": registrant.desired_region, "status": registrant.get_status_display(),
        },
        "registrations": [{"through": r.company.name, "registered_at": _iso(r.created_at)}
                          for r in Registration.objects.filter(registrant=registrant).select_related("company")],
        "introductions": [{"company": i.request.company.name, "position": i.request.title,
                           "status": i.get_status_display(), "consented_at": _iso(i.consented_at)}
                          for i in introductions],
        "consents": [{"kind": c.get_kind_display(), "version": c.version, "text": c.text,
                      "given_at": _iso(c.given_at)}
                     for c in ConsentRecord.objects.filter(registrant=registrant)],
    }
