"""A small hand-made history whose figures are counted by hand in the tests (see the comments).

Company ACME (Asia/Tokyo, notices 60 minutes after the decision, business hours 9-18, fee 500,000 yen):

  app  channel   job        applied (JST)      reached  status / rejected (JST)
  a1   doda      営業 (J1)   2026-10-05 10:00   20       rejected 2026-10-31 23:30 (経験不足, at stage 20)
  a2   doda      開発 (J2)   2026-10-31 23:59   10       rejected 2026-11-01 00:10 (スキル不一致, at stage 10)
  a3   リクナビ   営業 (J1)   2026-11-02 09:00   40       rejected 2026-11-10 12:00 (経験不足, at stage 40)
  a4   (none)    開発 (J2)   2026-11-03 10:00   30       in selection
  a5   リクナビ   開発 (J2)   2026-11-04 10:00   50       hired
  a6   doda      営業 (J1)   2026-11-05 10:00   20       rejected 2026-11-06, then back in selection

Notices (JST): n1 (a1) sent 11-02 10:00, promised 11-02 09:00 (late); n2 (a2) sent 11-02 09:05 (on time);
n3 (a3) sent 11-10 13:00 (on time). n1: a person's click and an open; n2: only a scanner's click, bounced
11-03; n3: a referral click by a person and a registration completed 2026-12-01 00:30 JST.
Follow-ups due in November: f1 (a1, 11-15) sent, f2 (a2, 11-16) stopped, f3 (a3, 11-17) failed.
Ledger (JST): credits 11-15 x2, slot earned 11-20, slot used 11-25; the registration's credit 12-01.

Company OTHER gets the same shape of rows in November; none may be counted for ACME.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tsunagu.lib import tokens
from tsunagu.messaging.models import EventKind, Message, MessageEvent, MessageKind, MessageStatus
from tsunagu.relay.actions import contracts
from tsunagu.relay.actions import registration as relay
from tsunagu.relay.models import Click, LedgerEntry, LedgerKind, Registration, RegistrationRequest
from tsunagu.talent.models import Application, ApplicationStatus, Candidate, Job

JST = ZoneInfo("Asia/Tokyo")
BROWSER = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0.0.0 Safari/537.36")


def jst(*parts) -> datetime:
    return datetime(*parts, tzinfo=JST)


def _application(company, ref, job, channel, applied, reached, status=ApplicationStatus.ACTIVE, rejected=None,
                 reason="", stage=None):
    candidate = Candidate.objects.create(company=company, name=f"候補者 {ref}", email=f"{ref}@{company.slug}.example",
                                         email_key=f"{ref}@{company.slug}.example", name_key=ref)
    application = Application.objects.create(
        company=company, external_id=ref, candidate=candidate, job=job, status=status, channel=channel,
        stage=reached if stage is None else stage, stage_reached=reached, rejection_reason=reason,
        applied_at=applied, rejected_at=rejected)
    return application


def _message(company, application, kind, key, status, send_at, sent_at=None, step=0):
    return Message.objects.create(
        company=company, kind=kind, key=key, application=application, to_email=application.candidate.email,
        to_name=application.candidate.name, status=status, send_at=send_at, sent_at=sent_at, step=step,
        subject="選考結果のご連絡")


def _ledger(company, kind, number, moment, **links):
    entry = LedgerEntry.objects.create(company=company, kind=kind, number=number, **links)
    LedgerEntry.objects.filter(pk=entry.pk).update(created_at=moment)


def build(company) -> dict:
    contracts.set_contract(company, fee_yen=500_000)
    j1 = Job.objects.create(company=company, external_id="J1", title="法人営業", category="営業")
    j2 = Job.objects.create(company=company, external_id="J2", title="バックエンド開発", category="開発")
    rejected = ApplicationStatus.REJECTED
    a1 = _application(company, "a1", j1, "doda", jst(2026, 10, 5, 10), 20, rejected, jst(2026, 10, 31, 23, 30), "経験不足")
    a2 = _application(company, "a2", j2, "doda", jst(2026, 10, 31, 23, 59), 10, rejected, jst(2026, 11, 1, 0, 10),
                      "スキル不一致")
    a3 = _application(company, "a3", j1, "リクナビ", jst(2026, 11, 2, 9), 40, rejected, jst(2026, 11, 10, 12), "経験不足")
    _application(company, "a4", j2, "", jst(2026, 11, 3, 10), 30)
    _application(company, "a5", j2, "リクナビ", jst(2026, 11, 4, 10), 50, ApplicationStatus.HIRED)
    # Rejected, then the ATS took it back: rejected_at stays, the status does not count it.
    _application(company, "a6", j1, "doda", jst(2026, 11, 5, 10), 20, ApplicationStatus.ACTIVE, jst(2026, 11, 6, 10))

    n1 = _message(company, a1, MessageKind.REJECTION, "rejection:a1", MessageStatus.SENT, jst(2026, 11, 2, 9),
                  jst(2026, 11, 2, 10))
    n2 = _message(company, a2, MessageKind.REJECTION, "rejection:a2", MessageStatus.SENT, jst(2026, 11, 2, 9),
                  jst(2026, 11, 2, 9, 5))
    n3 = _message(company, a3, MessageKind.REJECTION, "rejection:a3", MessageStatus.SENT, jst(2026, 11, 10, 13),
                  jst(2026, 11, 10, 13))
    MessageEvent.objects.create(company=company, message=n1, kind=EventKind.CLICKED, occurred_at=jst(2026, 11, 2, 12),
                                user_agent=BROWSER)
    MessageEvent.objects.create(company=company, message=n1, kind=EventKind.OPENED, occurred_at=jst(2026, 11, 2, 11))
    MessageEvent.objects.create(company=company, message=n2, kind=EventKind.CLICKED, occurred_at=jst(2026, 11, 2, 9, 5),
                                machine=True, machine_reason="agent:Proofpoint")
    MessageEvent.objects.create(company=company, message=n2, kind=EventKind.BOUNCED, occurred_at=jst(2026, 11, 3, 8))
    click = Click.objects.create(company=company, message=n3, user_agent=BROWSER)
    Click.objects.filter(pk=click.pk).update(created_at=jst(2026, 11, 11, 20))
    request = relay.request_registration(n3, relay.RegistrationForm(
        name="候補者 a3", email=n3.to_email, consent_purpose=True, consent_provision=True))
    relay.verify_registration(tokens.verify_token(request.pk))
    registered_at = jst(2026, 12, 1, 0, 30)
    RegistrationRequest.objects.filter(pk=request.pk).update(created_at=jst(2026, 11, 11, 20, 5))
    Registration.objects.filter(request=request).update(created_at=registered_at)
    LedgerEntry.objects.filter(company=company, registration__request=request).update(created_at=registered_at)

    f1 = _message(company, a1, MessageKind.FOLLOW_UP, "follow_up:a1:1", MessageStatus.SENT, jst(2026, 11, 15, 10),
                  jst(2026, 11, 15, 10), step=1)
    _message(company, a2, MessageKind.FOLLOW_UP, "follow_up:a2:1", MessageStatus.CANCELLED, jst(2026, 11, 16, 10), step=1)
    f3 = _message(company, a3, MessageKind.FOLLOW_UP, "follow_up:a3:1", MessageStatus.FAILED, jst(2026, 11, 17, 10),
                  step=1)
    Message.objects.filter(pk=f3.pk).update(updated_at=jst(2026, 11, 17, 10, 1))

    _ledger(company, LedgerKind.CREDIT, 101, jst(2026, 11, 15, 9))
    _ledger(company, LedgerKind.CREDIT, 102, jst(2026, 11, 15, 9, 30))
    _ledger(company, LedgerKind.SLOT_EARNED, 1, jst(2026, 11, 20, 9))
    _ledger(company, LedgerKind.SLOT_REDEEMED, 1, jst(2026, 11, 25, 9))
    return {"a1": a1, "a2": a2, "a3": a3, "n1": n1, "n2": n2, "n3": n3, "f1": f1, "j1": j1, "j2": j2}
