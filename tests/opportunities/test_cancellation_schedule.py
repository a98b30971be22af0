"""The 25th rule: before the 25th (Japan time) a service ends this month, from the 25th next month."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest

from apps.opportunities.services import cancellation_schedule

JST = ZoneInfo("Asia/Tokyo")
UTC = datetime.UTC


def jst(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, second, tzinfo=JST)


@pytest.mark.parametrize(
    ("requested_at", "scheduled_for", "scheduled_at_utc", "month"),
    [
        # Before the 25th: the end of this month
        (
            jst(2025, 3, 1, 9, 0),
            datetime.date(2025, 3, 31),
            datetime.datetime(2025, 3, 31, 14, 59, 59, tzinfo=UTC),
            "2025-03",
        ),
        (
            jst(2025, 4, 24, 12, 0),
            datetime.date(2025, 4, 30),
            datetime.datetime(2025, 4, 30, 14, 59, 59, tzinfo=UTC),
            "2025-04",
        ),
        # On or after the 25th: the end of next month
        (
            jst(2025, 3, 25, 12, 0),
            datetime.date(2025, 4, 30),
            datetime.datetime(2025, 4, 30, 14, 59, 59, tzinfo=UTC),
            "2025-04",
        ),
        (
            jst(2025, 1, 31, 23, 0),
            datetime.date(2025, 2, 28),
            datetime.datetime(2025, 2, 28, 14, 59, 59, tzinfo=UTC),
            "2025-02",
        ),
        # December rolls over into January of the next year
        (
            jst(2025, 12, 10, 10, 0),
            datetime.date(2025, 12, 31),
            datetime.datetime(2025, 12, 31, 14, 59, 59, tzinfo=UTC),
            "2025-12",
        ),
        (
            jst(2025, 12, 25, 0, 0),
            datetime.date(2026, 1, 31),
            datetime.datetime(2026, 1, 31, 14, 59, 59, tzinfo=UTC),
            "2026-01",
        ),
        (
            jst(2025, 12, 31, 23, 59),
            datetime.date(2026, 1, 31),
            datetime.datetime(2026, 1, 31, 14, 59, 59, tzinfo=UTC),
            "2026-01",
        ),
        # February of a leap year has 29 days, of other years 28
        (
            jst(2024, 2, 10, 10, 0),
            datetime.date(2024, 2, 29),
            datetime.datetime(2024, 2, 29, 14, 59, 59, tzinfo=UTC),
            "2024-02",
        ),
        (
            jst(2024, 1, 25, 10, 0),
            datetime.date(2024, 2, 29),
            datetime.datetime(2024, 2, 29, 14, 59, 59, tzinfo=UTC),
            "2024-02",
        ),
        (
            jst(2100, 1, 26, 10, 0),
            datetime.date(2100, 2, 28),
            datetime.datetime(2100, 2, 28, 14, 59, 59, tzinfo=UTC),
            "2100-02",
        ),
    ],
)
def test_the_cancellation_is_scheduled_for_the_end_of_the_right_month(
    requested_at: datetime.datetime,
    scheduled_for: datetime.date,
    scheduled_at_utc: datetime.datetime,
    month: str,
) -> None:
    schedule = cancellation_schedule(requested_at=requested_at)

    assert schedule.scheduled_for == scheduled_for
    assert schedule.scheduled_at == scheduled_at_utc
    assert schedule.scheduled_at.tzinfo == UTC
    assert schedule.scheduled_at.astimezone(JST) == jst(
        scheduled_for.year, scheduled_for.month, scheduled_for.day, 23, 59, 59
    )
    assert schedule.cancellation_month == month


def test_exactly_the_25th_at_midnight_in_japan_is_already_next_month() -> None:
    schedule = cancellation_schedule(requested_at=jst(2025, 3, 25, 0, 0, 0))

    assert schedule.scheduled_for == datetime.date(2025, 4, 30)


def test_the_last_minute_of_the_24th_in_japan_is_still_this_month() -> None:
    schedule = cancellation_schedule(requested_at=jst(2025, 3, 24, 23, 59, 59))

    assert schedule.scheduled_for == datetime.date(2025, 3, 31)


def test_the_day_is_decided_in_japan_not_in_utc() -> None:
    # 15:30 UTC on the 24th is 00:30 JST on the 25th: next month
    late_utc_24th = datetime.datetime(2025, 3, 24, 15, 30, tzinfo=UTC)
    # 14:59 UTC on the 24th is 23:59 JST on the 24th: this month
    earlier_utc_24th = datetime.datetime(2025, 3, 24, 14, 59, tzinfo=UTC)

    assert cancellation_schedule(requested_at=late_utc_24th).scheduled_for == datetime.date(2025, 4, 30)
    assert cancellation_schedule(requested_at=earlier_utc_24th).scheduled_for == datetime.date(2025, 3, 31)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        cancellation_schedule(requested_at=datetime.datetime(2025, 3, 24, 12, 0))


def test_the_25th_rule() -> None:
    # Moved from the console's tests: the console's checklist uses this same function.
    def scheduled_for(requested_at: datetime.datetime) -> str:
        return cancellation_schedule(requested_at=requested_at).scheduled_for.isoformat()

    assert scheduled_for(jst(2026, 1, 24, 23, 59)) == "2026-01-31"
    assert scheduled_for(jst(2026, 1, 25, 0, 0)) == "2026-02-28"
    assert scheduled_for(jst(2026, 12, 25, 9)) == "2027-01-31"


@pytest.mark.parametrize(
    ("requested_at", "scheduled_for"),
    [
        # The cutoff instant is 00:00:00 on the 25th in Japan, 15:00:00 UTC on the 24th.
        (datetime.datetime(2025, 3, 24, 14, 59, 59, 999999, tzinfo=UTC), datetime.date(2025, 3, 31)),
        (datetime.datetime(2025, 3, 24, 15, 0, 0, tzinfo=UTC), datetime.date(2025, 4, 30)),
        # Over the year end: the 24th of December is this year, the 25th January of the next.
        (datetime.datetime(2025, 12, 24, 14, 59, 59, 999999, tzinfo=UTC), datetime.date(2025, 12, 31)),
        (datetime.datetime(2025, 12, 24, 15, 0, 0, tzinfo=UTC), datetime.date(2026, 1, 31)),
        # Late on the last day of a month in UTC is already the next month in Japan.
        (datetime.datetime(2025, 11, 30, 15, 0, 0, tzinfo=UTC), datetime.date(2025, 12, 31)),
        (datetime.datetime(2025, 12, 31, 15, 0, 0, tzinfo=UTC), datetime.date(2026, 1, 31)),
    ],
)
def test_the_cutoff_instant_and_the_rollovers(
    requested_at: datetime.datetime, scheduled_for: datetime.date
) -> None:
    assert cancellation_schedule(requested_at=requested_at).scheduled_for == scheduled_for
