"""The humane send window: weekdays, business hours, never on a Japanese public holiday, during 年末年始
(unless the company turned that off) or on the company's own closing days."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import jpholiday

from tsunagu.companies.models import Company, SendWindow


def is_business_day(day, company: Company | None = None) -> bool:
    if day.weekday() >= 5 or jpholiday.is_holiday(day):
        return False
    return company is None or not company.closed_on(day)


def next_send_time(company: Company, earliest: datetime) -> datetime:
    """The first moment at or after `earliest` inside the company's send window (an aware datetime)."""
    if company.send_window == SendWindow.ALWAYS:
        return earliest
    zone = ZoneInfo(company.time_zone)
    local = earliest.astimezone(zone)
    start = time(company.business_hour_start)
    for _ in range(366):
        day = local.date()
        if is_business_day(day, company):
            opens = datetime.combine(day, start, zone)
            closes = datetime.combine(day, time(0), zone) + timedelta(hours=company.business_hour_end)
            if local < opens:
                return opens
            if local < closes:
                return local
        local = datetime.combine(day + timedelta(days=1), time(0), zone)
    raise ValueError("no business day within a year")  # pragma: no cover - holidays never fill a year
