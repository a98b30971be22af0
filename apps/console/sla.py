"""The service level of each console queue: when an open item is past it, how old the oldest is.

- Internet eligibility: 2 business days from the request (customers are told 1-2).
- ID verification: 1 business day from the upload.
- Order approval: 1 business day from the order.
- Cancellation: the scheduled cancellation date: an item still cancelling once that moment has
  passed is overdue (the service should have been terminated by then).
- Support: by the Case priority, in business time from the ticket: high 4 hours, medium 1
  business day, low 2 business days.
- Stuck registrations: 1 hour from the sign-up (they reach the queue after 15 minutes).

Business time is the Japanese weekday calendar of ``selectors.business_time_between``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Min, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.console import selectors
from apps.opportunities.models import CasePriority

SUPPORT_SLA = {
    CasePriority.HIGH: timedelta(hours=4),
    CasePriority.MEDIUM: timedelta(days=1),
    CasePriority.LOW: timedelta(days=2),
}


@dataclass(frozen=True)
class QueueSla:
    """``start``: the field the age counts from; ``overdue_q``: the open items past the SLA at
    ``now``; ``deadline``: when one item passes it; ``description``: the SLA in words."""

    key: str
    start: str
    description: Any
    overdue_q: Callable[[datetime], Q]
    deadline: Callable[[Any], datetime | None]
    counts_down: bool = False
    """Whether the age is counted towards ``start`` (a due date) rather than from it."""


def _business(
    field: str, amount: timedelta
) -> tuple[Callable[[datetime], Q], Callable[[Any], datetime | None]]:
    def overdue_q(now: datetime) -> Q:
        return Q(**{f"{field}__lt": selectors.business_time_before(now, amount)})

    def deadline(obj: Any) -> datetime | None:
        since = getattr(obj, field, None)
        return business_time_after(since, amount) if since else None

    return overdue_q, deadline


def business_time_after(start: datetime, amount: timedelta) -> datetime:
    """The moment ``amount`` of weekday time after ``start`` (Asia/Tokyo)."""
    cursor = start
    step = timedelta(hours=1)
    # Weekends are skipped an hour at a time; amounts are days at most, so this is cheap.
    while amount > timedelta(0):
        chunk = min(step, amount)
        elapsed = selectors.business_time_between(cursor, cursor + chunk)
        cursor += chunk
        amount -= elapsed
    return cursor


def _support_overdue_q(now: datetime) -> Q:
    condition = Q(pk__in=[])
    for priority, amount in SUPPORT_SLA.items():
        condition |= Q(priority=priority, created_at__lt=selectors.business_time_before(now, amount))
    return condition


def _support_deadline(obj: Any) -> datetime | None:
    amount = SUPPORT_SLA.get(obj.priority, SUPPORT_SLA[CasePriority.MEDIUM])
    return business_time_after(obj.created_at, amount) if obj.created_at else None


def _cancellation_overdue_q(now: datetime) -> Q:
    return Q(scheduled_at__lt=now)


def _cancellation_deadline(obj: Any) -> datetime | None:
    return getattr(obj, "scheduled_at", None)


def _registration_overdue_q(now: datetime) -> Q:
    return Q(created_at__lt=now - timedelta(hours=1))


def _registration_deadline(obj: Any) -> datetime | None:
    return obj.created_at + timedelta(hours=1) if obj.created_at else None


ELIGIBILITY = QueueSla(
    "eligibility",
    "internet_eligibility_requested_at",
    _("2 business days from the request"),
    *_business("internet_eligibility_requested_at", selectors.ELIGIBILITY_SLA),
)
ID_VERIFICATION = QueueSla(
    "id_verification",
    "submitted_at",
    _("1 business day from the upload"),
    *_business("submitted_at", timedelta(days=1)),
)
ORDER_APPROVAL = QueueSla(
    "order_approval",
    "created_at",
    _("1 business day from the order"),
    *_business("created_at", timedelta(days=1)),
)
CANCELLATION = QueueSla(
    "cancellation",
    "scheduled_at",
    _("The scheduled cancellation date"),
    _cancellation_overdue_q,
    _cancellation_deadline,
    counts_down=True,
)
SUPPORT_CASE = QueueSla(
    "support_case",
    "created_at",
    _("By priority: high 4 business hours, medium 1 business day, low 2 business days"),
    _support_overdue_q,
    _support_deadline,
)
REGISTRATION = QueueSla(
    "registration",
    "created_at",
    _("1 hour from the sign-up"),
    _registration_overdue_q,
    _registration_deadline,
)


@dataclass(frozen=True)
class SlaState:
    deadline: datetime | None
    overdue: bool

    def remaining(self, now: datetime) -> timedelta | None:
        return None if self.deadline is None else self.deadline - now


def sla_state(sla: QueueSla, obj: Any, *, now: datetime | None = None) -> SlaState:
    deadline = sla.deadline(obj)
    return SlaState(deadline=deadline, overdue=deadline is not None and deadline < (now or timezone.now()))


@dataclass(frozen=True)
class QueueTiming:
    count: int
    overdue: int
    oldest_since: datetime | None


def queue_timing(sla: QueueSla, pending: QuerySet[Any], *, now: datetime) -> QueueTiming:
    """How many items are open, how many are past the SLA, and where the oldest starts."""
    return QueueTiming(
        count=pending.count(),
        overdue=pending.filter(sla.overdue_q(now)).count(),
        oldest_since=pending.aggregate(oldest=Min(sla.start))["oldest"],
    )
