"""The 25th rule: when a cancellation takes effect, decided on the Japanese calendar.

The one place the rule is written (README, "Who changes a status"): the cancellation request,
its preview (``GET /api/subscriptions/{id}/cancellation``) and the agent console all ask here.
Requested before the 25th (Asia/Tokyo) the earliest month a customer may cancel for is this
month, from the 25th on it is next month; the service ends at 23:59:59 Japan time on the last day
of the chosen month. The customer may choose the earliest month or one of the
``CANCELLATION_MONTHS_OFFERED - 1`` months after it (flow review: "review cancellation month").
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

TOKYO = ZoneInfo("Asia/Tokyo")
"""Japan time: the calendar of the 25th rule, and of every business date the portal decides."""
CANCELLATION_CUTOFF_DAY = 25
"""From this day of the month (Japan time) a cancellation ends at the end of next month."""
CANCELLATION_MONTHS_OFFERED = 3
"""How many months a customer may choose from: the earliest and the two after it. Further out,
plans change; a customer who wants a later date asks again nearer the time."""


@dataclass(frozen=True)
class CancellationSchedule:
    """When a cancellation requested at ``requested_at`` for one month takes effect."""

    requested_at: datetime
    scheduled_for: date  # the last day of the cancellation month, in Japan
    scheduled_at: datetime  # 23:59:59 Asia/Tokyo on that day, in UTC

    @property
    def cancellation_month(self) -> str:
        return month_label(self.scheduled_for.year, self.scheduled_for.month)


def month_label(year: int, month: int) -> str:
    """``2027-01``: how the API names a cancellation month."""
    return f"{year:04d}-{month:02d}"


def _month_end(*, requested_at: datetime, year: int, month: int) -> CancellationSchedule:
    last_day = calendar.monthrange(year, month)[1]
    end = datetime(year, month, last_day, 23, 59, 59, tzinfo=TOKYO)
    return CancellationSchedule(
        requested_at=requested_at, scheduled_for=end.date(), scheduled_at=end.astimezone(UTC)
    )


def cancellation_schedules(*, requested_at: datetime) -> list[CancellationSchedule]:
    """Every month a cancellation requested at ``requested_at`` may be for, earliest first.

    The first follows the 25th rule (this month before the 25th, Japan time; next month from the
    25th on); ``CANCELLATION_MONTHS_OFFERED`` months in all. ``requested_at`` must be
    timezone-aware.
    """
    if timezone.is_naive(requested_at):
        raise ValueError("requested_at must be timezone-aware")
    local = requested_at.astimezone(TOKYO)
    index = local.year * 12 + (local.month - 1)
    if local.day >= CANCELLATION_CUTOFF_DAY:
        index += 1
    return [
        _month_end(requested_at=requested_at, year=i // 12, month=i % 12 + 1)
        for i in range(index, index + CANCELLATION_MONTHS_OFFERED)
    ]


def cancellation_schedule(*, requested_at: datetime, month: str | None = None) -> CancellationSchedule:
    """The schedule of a cancellation requested at ``requested_at``: for ``month`` (``YYYY-MM``)
    when given, else the earliest month. A month not offered (``cancellation_schedules``)
    raises ``MonthNotOffered``."""
    schedules = cancellation_schedules(requested_at=requested_at)
    if month is None:
        return schedules[0]
    for schedule in schedules:
        if schedule.cancellation_month == month:
            return schedule
    raise MonthNotOffered([schedule.cancellation_month for schedule in schedules])


class MonthNotOffered(ValueError):
    """The month asked for is not one the customer may choose now; ``offered`` lists those."""

    def __init__(self, offered: list[str]) -> None:
        super().__init__("This cancellation month is not offered.")
        self.offered = offered
