"""Reads of in-app notifications. A customer only ever sees their own, never dismissed or expired
ones (the cleanup task deletes expired rows later; until then they are hidden here)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from apps.notifications.models import Notification
from portal.prepared import count_prepared


def notification_visible(*, user_id: int, now: datetime | None = None) -> QuerySet[Notification]:
    return Notification.objects.filter(user_id=user_id, dismissed=False, expires_at__gt=now or timezone.now())


def notification_list(*, user_id: int, now: datetime | None = None) -> QuerySet[Notification]:
    """The bell's list, newest first (``id`` keeps pages stable on ties): the order the cursor
    pagination walks and the ``notification_feed_idx`` index serves."""
    return notification_visible(user_id=user_id, now=now).order_by("-created_at", "-id")


# The bell counts this far and no further ("99+" beyond): its cost stays the same whatever the
# customer's history, as the dashboard's counts do.
UNREAD_COUNT_CAP = 100


def notification_unread_count(*, user_id: int, now: datetime | None = None) -> int:
    """How many live notifications are unread, up to ``UNREAD_COUNT_CAP``: the cap means "that
    many or more" (a ``LIMIT`` inside the count, so at most that many index entries are read, in
    no order). Prepared, as every page of the web portal asks for it (``portal/prepared.py``)."""
    unread = notification_visible(user_id=user_id, now=now).filter(read=False).order_by()
    return count_prepared(unread[:UNREAD_COUNT_CAP])


def notifications_expired_exist(*, now: datetime | None = None) -> bool:
    """Whether any notification past its retention is still stored (the cleanup is not done)."""
    return Notification.objects.filter(expires_at__lte=now or timezone.now()).exists()
