"""The humane send window: weekdays, business hours, never on a Japanese public holiday."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import jpholiday

from tsunagu.companies.models import Company, SendWindow


def is_business_day(day) -> bool:
    return day.weekday() < 5 and not jpholiday.is_holiday(day)


def next_send_time(company: Company, earliest: datetime) -> datetime:
    """The first moment at or after `earliest` inside the company's send window (an aware datetime)."""
    if company.send_window == SendWindow.ALWAYS:
        return earliest
    zone = ZoneInfo(company.time_zone)
    local = earliest.astimezone(zone)
    start = time(company.business_hour_start)
    for _ in range(366):
        day = local.date()
        if is_business_day(day):
            opens = datetime.combine(day, start, zone)
            closes = datetime.combine(day, time(0), zone) + timedelta(hours=company.business_hour_end)
            if local < opens:
                return opens
            if local < closes:
                return local
        local = datetime.combine(day + timedelta(days=1), time(0), zone)
    raise ValueError("no business day within a year")  # pragma: no cover - holidays never fill a year
