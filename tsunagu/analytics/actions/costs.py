"""HR's hiring costs per month (the basis of 採用単価)."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from tsunagu.analytics.models import HiringCost
from tsunagu.companies.models import Company

MAX_COST_YEN = 10**12
MAX_HIRES = 100_000


def parse_month(text: str) -> date:
    try:
        year, month = (int(part) for part in str(text).strip().split("-"))
        day = date(year, month, 1)
    except (TypeError, ValueError):
        raise ValidationError({"month": _("月は YYYY-MM の形式で入力してください。")}) from None
    if not 2000 <= day.year <= 2100:
        raise ValidationError({"month": _("月は2000年から2100年の間で入力してください。")})
    return day


def _whole_number(value, name: str, maximum: int, message: str) -> int:
    try:
        number = int(str(value).replace(",", "").strip())
    except (TypeError, ValueError):
        raise ValidationError({name: message}) from None
    if not 0 <= number <= maximum:
        raise ValidationError({name: message})
    return number


def set_hiring_cost(company: Company, *, month, cost_yen, hires, note: str = "") -> HiringCost:
    """Records (or corrects) the month's cost and hires; nothing changes when any value is wrong."""
    errors = {}
    values = {}
    for name, parse in (
        ("month", lambda: parse_month(month)),
        ("cost_yen", lambda: _whole_number(cost_yen, "cost_yen", MAX_COST_YEN,
                                           _("採用費用は0以上の整数(円)で入力してください。"))),
        ("hires", lambda: _whole_number(hires, "hires", MAX_HIRES, _("採用人数は0以上の整数で入力してください。"))),
    ):
        try:
            values[name] = parse()
        except ValidationError as error:
            errors.update(error.message_dict)
    note = str(note or "").strip()
    if len(note) > 300:
        errors["note"] = [_("メモは300文字以内で入力してください。")]
    if errors:
        raise ValidationError(errors)
    cost, _created = HiringCost.objects.update_or_create(
        company=company, month=values["month"],
        defaults={"cost_yen": values["cost_yen"], "hires": values["hires"], "note": note})
    return cost


def delete_hiring_cost(company: Company, month) -> int:
    deleted, _detail = HiringCost.objects.filter(company=company, month=parse_month(month)).delete()
    return deleted
