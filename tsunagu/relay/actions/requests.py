"""Referral requests (紹介依頼, an agency's job order): a company files one with a free slot, which is reserved in
the same transaction; it is filled by hires (relay.actions.introductions) or closed, and a request closed
without a hire gives its slot back. Every change is written to the request's history (RequestEvent)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tsunagu.companies.models import Company
from tsunagu.relay.actions import ledger, notifications
from tsunagu.relay.models import (
    EmploymentType,
    Introduction,
    IntroductionStatus,
    Outcome,
    ReferralRequest,
    RequestEvent,
    RequestStatus,
)
from tsunagu.relay.selectors import ledger_summary
from tsunagu.talent.normalize import clean_text

# Bounds of what a company may enter; the model's own limits where it has them.
MAX_TITLE = 200
MAX_LOCATION = 200
MAX_DESCRIPTION = 5000
# A yearly salary above 100 million yen is a typing error (an extra zero), not a job.
MAX_SALARY_YEN = 100_000_000
MAX_HEADCOUNT = 100


class NoSlotAvailable(ValidationError):
    """Filing needs an available free slot (the API answers 409)."""


class RequestNotOpen(ValidationError):
    """The request has been filled or closed: nothing more can happen on it (the API answers 409)."""


@dataclass(frozen=True)
class RequestForm:
    """What a company enters, as it came (text from a form, or the API's parsed JSON)."""

    title: str = ""
    description: str = ""
    location: str = ""
    salary_min: int | str | None = None
    salary_max: int | str | None = None
    employment_type: str = EmploymentType.FULL_TIME
    headcount: int | str | None = 1
    deadline: date | str | None = None


def multiline_text(text: str) -> str:
    """Text whose line breaks matter (a job description): NFC, Unix line breaks, no trailing spaces."""
    text = unicodedata.normalize("NFC", text or "").replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def _integer(value, field: str, errors: dict, *, label: str) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = int(str(value).replace(",", "").strip()) if not isinstance(value, int) else value
    except ValueError:
        errors[field] = _("%(label)sは半角数字で入力してください。") % {"label": label}
        return None
    if isinstance(number, bool):
        errors[field] = _("%(label)sは数値で入力してください。") % {"label": label}
        return None
    return number


def _deadline(value, company: Company, errors: dict) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            errors["deadline"] = _("期限は「2026-12-31」の形で入力してください。")
            return None
    today = timezone.now().astimezone(ZoneInfo(company.time_zone)).date()
    if value < today:
        errors["deadline"] = _("期限に過去の日付は指定できません。")
        return None
    return value


def clean_request(company: Company, form: RequestForm) -> dict:
    """The request's fields, cleaned; ValidationError naming each field that is wrong."""
    errors: dict[str, str] = {}
    title = clean_text(form.title or "")
    if not title:
        errors["title"] = _("職種を入力してください。")
    elif len(title) > MAX_TITLE:
        errors["title"] = _("職種は%(max)d文字以内で入力してください。") % {"max": MAX_TITLE}
    description = multiline_text(form.description or "")
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = _("仕事内容は%(max)d文字以内で入力してください。") % {"max": MAX_DESCRIPTION}
    location = clean_text(form.location or "")
    if len(location) > MAX_LOCATION:
        errors["location"] = _("勤務地は%(max)d文字以内で入力してください。") % {"max": MAX_LOCATION}
    salary_min = _integer(form.salary_min, "salary_min", errors, label=_("年収下限"))
    salary_max = _integer(form.salary_max, "salary_max", errors, label=_("年収上限"))
    for field, value in (("salary_min", salary_min), ("salary_max", salary_max)):
        if value is not None and not 0 <= value <= MAX_SALARY_YEN:
            errors[field] = _("年収は0円以上%(max)s円以下で入力してください。") % {"max": f"{MAX_SALARY_YEN:,}"}
    if (salary_min is not None and salary_max is not None and "salary_min" not in errors
            and "salary_max" not in errors and salary_min > salary_max):
        errors["salary_max"] = _("年収上限は年収下限以上にしてください。")
    employment_type = (form.employment_type or "").strip()
    if employment_type not in EmploymentType.values:
        errors["employment_type"] = _("雇用形態は次のいずれかです: %(choices)s") % {
            "choices": ", ".join(EmploymentType.values)}
    headcount = _integer(form.headcount, "headcount", errors, label=_("採用人数"))
    if "headcount" not in errors and (headcount is None or not 1 <= headcount <= MAX_HEADCOUNT):
        errors["headcount"] = _("採用人数は1〜%(max)d人で入力してください。") % {"max": MAX_HEADCOUNT}
    deadline = _deadline(form.deadline, company, errors)
    if errors:
        raise ValidationError(errors)
    return {"title": title, "description": description, "location": location, "salary_min": salary_min,
            "salary_max": salary_max, "employment_type": employment_type, "headcount": headcount,
            "deadline": deadline}


def record_event(request: ReferralRequest, kind: str, *, introduction: Introduction | None = None, user=None,
                 actor_label: str = "", detail: str = "") -> RequestEvent:
    """One line of the request's history. `detail` is shown to the company: never a registrant's data."""
    return RequestEvent.objects.create(
        request=request, introduction=introduction, kind=kind, detail=detail[:500], actor_label=actor_label[:30],
        actor=user if getattr(user, "is_authenticated", False) else None,
    )


def file_request(company: Company, form: RequestForm, *, user=None, actor_label: str = "") -> ReferralRequest:
    """A company's referral request, paid with one available slot (reserved now, in the same transaction).
    Bad input raises ValidationError and changes nothing; without an available slot, NoSlotAvailable."""
    if company.is_operator:
        raise ValidationError(_("紹介依頼は企業だけが出せます。"))
    fields = clean_request(company, form)
    if ledger_summary(company).slots_available < 1:
        raise NoSlotAvailable(_("利用できる無料紹介枠がありません。登録者が増えて枠を獲得すると依頼できます。"))
    with transaction.atomic():
        request = ReferralRequest.objects.create(company=company, created_by=_user(user), **fields)
        try:
            # Under the company's ledger lock: of two filings racing for the last slot, one gets it.
            ledger.reserve_slot(request, user=_user(user))
        except ValidationError as exc:
            raise NoSlotAvailable(exc.messages[0]) from exc
        record_event(request, "filed", user=user, actor_label=actor_label,
                     detail=_("無料紹介枠を1つ確保しました"))
        notifications.request_filed(request)
    return request


def _user(user):
    return user if getattr(user, "is_authenticated", False) else None


def locked(request: ReferralRequest) -> ReferralRequest:
    return ReferralRequest.objects.select_for_update().select_related("company").get(pk=request.pk)


@transaction.atomic
def close_request(request: ReferralRequest, *, user=None, actor_label: str = "", reason: str = "") -> ReferralRequest:
    """The company ends an open request. Without a hire its slot is released (a ledger entry); proposals
    still waiting for the person's consent are withdrawn, so their consent links stop working."""
    request = locked(request)
    if request.status != RequestStatus.OPEN:
        raise RequestNotOpen(_("この紹介依頼は既に終了しています。"))
    reason = clean_text(reason)[:300]
    hired = request.introductions.filter(outcome=Outcome.HIRED).exists()
    request.status = RequestStatus.FILLED if hired else RequestStatus.CLOSED
    request.closed_at = timezone.now()
    request.save(update_fields=["status", "closed_at"])
    waiting = list(request.introductions.filter(
        status__in=[IntroductionStatus.PROPOSED, IntroductionStatus.CONSENT_REQUESTED]))
    for introduction in waiting:
        introduction.status = IntroductionStatus.WITHDRAWN
        introduction.save(update_fields=["status", "updated_at"])
        record_event(request, "withdrawn", introduction=introduction, actor_label="system",
                     detail=_("依頼の終了により取り下げ"))
    released = ledger.release_slot(request, user=_user(user), note=reason or _("紹介依頼の終了(採用なし)"))
    detail = _("採用なしで終了し、無料紹介枠を返却しました") if released else _("終了しました")
    record_event(request, "closed", user=user, actor_label=actor_label,
                 detail=f"{detail}: {reason}" if reason else detail)
    notifications.request_closed(request)
    return request


def fill_if_complete(request: ReferralRequest, *, user=None, actor_label: str = "") -> bool:
    """After a hire: the request is filled once its headcount is reached (called under its lock)."""
    hires = request.introductions.filter(outcome=Outcome.HIRED).count()
    if request.status != RequestStatus.OPEN or hires < request.headcount:
        return False
    request.status = RequestStatus.FILLED
    request.closed_at = timezone.now()
    request.save(update_fields=["status", "closed_at"])
    record_event(request, "filled", user=user, actor_label=actor_label,
                 detail=_("採用人数(%(count)d人)に達しました") % {"count": request.headcount})
    return True
