"""Queue ages and the eligibility SLA in business time (Asia/Tokyo, weekends skipped)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apps.console.selectors import (
    ELIGIBILITY_SLA,
    business_time_before,
    business_time_between,
    queue_age,
)

TOKYO = ZoneInfo("Asia/Tokyo")


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=TOKYO)


def test_a_weekend_does_not_count() -> None:
    # Friday 15:00 to Monday 15:00: 9 hours of Friday and 15 of Monday.
    assert business_time_between(jst(2026, 1, 9, 15), jst(2026, 1, 12, 15)) == timedelta(hours=24)


def test_a_request_on_friday_evening_is_not_overdue_on_monday_but_is_on_wednesday() -> None:
    requested = jst(2026, 1, 9, 18)
    assert not queue_age(requested, now=jst(2026, 1, 12, 9)).overdue
    assert not queue_age(requested, now=jst(2026, 1, 13, 18)).overdue
    assert queue_age(requested, now=jst(2026, 1, 13, 18, 1)).overdue
    # Friday 6 h + Monday 24 h + Tuesday 24 h + Wednesday 9 h = 63 h.
    assert queue_age(requested, now=jst(2026, 1, 14, 9)).business_days == 2.6


def test_time_is_measured_on_the_japanese_calendar() -> None:
    # Saturday 00:30 in Tokyo is still Friday in UTC: it does not count.
    start = jst(2026, 1, 10, 0, 30).astimezone(ZoneInfo("UTC"))
    assert business_time_between(start, jst(2026, 1, 11, 23)) == timedelta(0)


def test_the_sla_cutoff_is_two_business_days_back() -> None:
    now = jst(2026, 1, 13, 10)  # Tuesday
    cutoff = business_time_before(now, ELIGIBILITY_SLA)
    assert cutoff == jst(2026, 1, 9, 10)  # the Friday before, the weekend skipped
    assert business_time_between(cutoff, now) == ELIGIBILITY_SLA
