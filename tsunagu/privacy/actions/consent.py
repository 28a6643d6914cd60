"""Consent to stay in a company's talent pool: the text, asking for it before the retention period ends (the
re-consent mail, one click), and recording it word for word. Withdrawing it is the person's "stop all use"."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from tsunagu.companies.models import Company
from tsunagu.lib.tokens import stay_token
from tsunagu.messaging.actions.notices import plan_fixed_mail
from tsunagu.messaging.models import MessageKind
from tsunagu.messaging.selectors import suppression_for
from tsunagu.privacy.actions.retention import PREVIEW_DAYS, candidates_due, deadline_of
from tsunagu.privacy.models import ConsentPurpose, PoolConsent
from tsunagu.relay.consent import text_hash
from tsunagu.talent.models import Candidate

POOL_CONSENT_VERSION = "2026-12-01"
STAY_LINK_DAYS = 60
MAX_PER_CALL = 5000


def pool_consent_text(company: Company) -> str:
    """What the person agrees to by staying, word for word (in the site's language, as mail is written)."""
    years = max(1, company.retention_days // 365)
    return _(
        "%(company)sのタレントプールに残り、今後%(company)sから新しい求人やイベントのご案内を受け取ることに同意します。"
        "%(company)sは、氏名・フリガナ・メールアドレス・電話番号・応募の記録を、この同意の日から%(years)d年間、"
        "またはご本人が削除や利用停止を依頼されるまで、このご案内のためにのみ保存・利用します。"
    ) % {"company": company.name, "years": years}


def network_hash(ip: str) -> str:
    """A keyed hash of the network the consent came from: evidence that can be matched, never the address."""
    return salted_hmac("tsunagu.privacy.consent-network", ip or "", algorithm="sha256").hexdigest()[:32] if ip else ""


@transaction.atomic
def record_pool_consent(candidate: Candidate, *, text: str, ip: str = "", now: datetime | None = None) -> PoolConsent:
    """The person agreed to stay: the text they were shown is kept as shown, and retention counts from now."""
    now = now or timezone.now()
    consent = PoolConsent.objects.create(
        company=candidate.company, candidate=candidate, purpose=ConsentPurpose.POOL, version=POOL_CONSENT_VERSION,
        text=text, text_hash=text_hash(text), ip_hash=network_hash(ip), given_at=now)
    Candidate.objects.filter(pk=candidate.pk).update(consented_at=now, updated_at=now)
    candidate.consented_at = now
    return consent


def withdraw_pool_consents(candidate: Candidate, *, via: str, now: datetime | None = None) -> int:
    """Withdraw every open consent of the person to the company's pool; how many. Idempotent."""
    now = now or timezone.now()
    return PoolConsent.objects.filter(candidate=candidate, withdrawn_at__isnull=True).update(
        withdrawn_at=now, withdrawn_via=via[:32])


def stay_url(candidate_id: int) -> str:
    return settings.BASE_URL + reverse("privacy:stay", args=[stay_token(candidate_id)])


def ask_to_stay(company: Company, *, now: datetime | None = None, candidate_ids: list[int] | None = None) -> dict:
    """Mail the people whose retention ends within PREVIEW_DAYS (or those of `candidate_ids` among them) and who
    may be contacted, asking them to stay (one click). Once per person and deadline; counts of sent and skipped."""
    now = now or timezone.now()
    due = candidates_due(company, now + timedelta(days=PREVIEW_DAYS))
    if candidate_ids is not None:
        due = due.filter(pk__in=candidate_ids[:MAX_PER_CALL])
    asked = skipped = 0
    with translation.override(settings.LANGUAGE_CODE):
        for candidate in due[:MAX_PER_CALL]:
            if not candidate.contact_allowed or not candidate.email or suppression_for(company, candidate.email):
                skipped += 1
                continue
            deadline = deadline_of(company, candidate)
            plan_fixed_mail(company, kind=MessageKind.PRIVACY, key=f"stay:{candidate.pk}:{deadline:%Y%m%d}",
                            to_email=candidate.email, to_name=candidate.name,
                            subject=_("%(company)sのタレントプールに残りますか") % {"company": company.name},
                            body_text=_stay_body(company, candidate, deadline), context={"candidate_id": candidate.pk})
            asked += 1
    return {"asked": asked, "skipped": skipped}


def _stay_body(company: Company, candidate: Candidate, deadline: datetime) -> str:
    local = timezone.localtime(deadline, ZoneInfo(company.time_zone))
    return _(
        "%(name)s 様\n\n"
        "以前は%(company)sの選考にご応募いただき、ありがとうございました。\n"
        "お預かりしている個人情報は、%(date)sに保存期間が終わり、削除されます。\n\n"
        "今後も%(company)sから新しい求人のご案内を受け取りたい場合は、次のページでご同意ください(ボタンを1回押すだけです)。\n"
        "%(url)s\n\n"
        "何もなさらなければ、期日に削除いたします。ご案内は今後お送りしません。\n\n"
        "%(signature)s\n"
    ) % {"name": candidate.name, "company": company.name, "date": f"{local:%Y-%m-%d}",
         "url": stay_url(candidate.pk), "signature": company.display_signature}
