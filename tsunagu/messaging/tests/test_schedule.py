from datetime import datetime
from zoneinfo import ZoneInfo

from tsunagu.companies.models import Company
from tsunagu.messaging.schedule import next_send_time

TOKYO = ZoneInfo("Asia/Tokyo")


def jst(*args):
    return datetime(*args, tzinfo=TOKYO)


def company(window="business", **fields):
    return Company(name="株式会社テスト", slug="t", send_window=window, **fields)


def test_inside_business_hours_sends_at_that_moment():
    assert next_send_time(company(), jst(2026, 11, 20, 10, 30)) == jst(2026, 11, 20, 10, 30)


def test_friday_evening_moves_to_next_business_morning():
    # Friday 2026-11-20 19:00 -> Saturday/Sunday skipped, Monday 11-23 is 勤労感謝の日 -> Tuesday 9:00.
    assert next_send_time(company(), jst(2026, 11, 20, 19, 0)) == jst(2026, 11, 24, 9, 0)


def test_early_morning_waits_for_opening():
    assert next_send_time(company(), jst(2026, 11, 24, 6, 15)) == jst(2026, 11, 24, 9, 0)


def test_new_year_holiday_is_skipped():
    # 2027-01-01 (元日) is a Friday and a public holiday: the next business day is Monday 01-04.
    assert next_send_time(company(), jst(2026, 12, 31, 18, 30)) == jst(2027, 1, 4, 9, 0)


def test_custom_hours_and_time_zone():
    c = company(business_hour_start=10, business_hour_end=17, time_zone="America/New_York")
    new_york = ZoneInfo("America/New_York")
    assert next_send_time(c, datetime(2026, 11, 24, 17, 0, tzinfo=new_york)) == datetime(2026, 11, 25, 10, 0,
                                                                                         tzinfo=new_york)


def test_always_window_sends_immediately_even_on_holidays():
    assert next_send_time(company("always"), jst(2026, 11, 23, 3, 0)) == jst(2026, 11, 23, 3, 0)


def test_year_end_closure_waits_for_the_new_year_unless_turned_off():
    # Monday 2026-12-28 19:00: 12-29 to 01-03 is 年末年始, 01-04 is the first working Monday.
    assert next_send_time(company(), jst(2026, 12, 28, 19, 0)) == jst(2027, 1, 4, 9, 0)
    assert next_send_time(company(closed_year_end=False), jst(2026, 12, 28, 19, 0)) == jst(2026, 12, 29, 9, 0)


def test_the_companys_own_closing_days_are_skipped():
    closed = company(closed_days="2026-08-13〜2026-08-14  # お盆\n２０２６／０８／１７")
    # Wednesday 08-12 evening: Thu and Fri closed, the weekend, Monday 08-17 closed -> Tuesday 08-18.
    assert next_send_time(closed, jst(2026, 8, 12, 19, 0)) == jst(2026, 8, 18, 9, 0)
    assert next_send_time(closed, jst(2026, 8, 12, 10, 0)) == jst(2026, 8, 12, 10, 0)
    # Changing the list takes effect on the same object (the parsed list is not kept stale).
    closed.closed_days = ""
    assert next_send_time(closed, jst(2026, 8, 12, 19, 0)) == jst(2026, 8, 13, 9, 0)
