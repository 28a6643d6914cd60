"""The person's page shows the export's ISO times as dates in the holder's time zone."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django import template

register = template.Library()


@register.filter
def local_date(value: str | None, company) -> str:
    """"2026-12-01T16:00:00+00:00" -> "2026-12-02" for a company in Asia/Tokyo; "" for nothing."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return ""
    return moment.astimezone(ZoneInfo(company.time_zone)).strftime("%Y-%m-%d")
