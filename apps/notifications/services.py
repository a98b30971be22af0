"""Writes to in-app notifications. Every producer (event handlers, fulfillment, cancellation,
billing checks, admin actions) creates notifications through ``notification_create``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone, translation

from apps.accounts.dashboard_cache import dashboard_cache_invalidate
from apps.notifications.models import Notification, NotificationSource, NotificationType
from apps.notifications.notification_templates import get_template, render_notification
from apps.notifications.partitions import (
    detached_partitions_drop,
    expired_partitions_detach,
    expired_rows_delete,
    expired_rows_partitions,
    is_partitioned,
    partitions_ensure,
)
from portal.bulk import bulk_insert_rows

DEFAULT_DEDUPE_WINDOW = timedelta(hours=1)
DEDUPE_WINDOWS: dict[str, timedelta] = {
    NotificationType.INVOICE_DUE: timedelta(hours=24),
    NotificationType.PAYMENT_METHOD_EXPIRING: timedelta(hours=24),
    NotificationType.SYSTEM_ANNOUNCEMENT: timedelta(hours=24),
}


def notification_dedupe_window(*, type: NotificationType | str) -> timedelta:
    return DEDUPE_WINDOWS.get(type, DEFAULT_DEDUPE_WINDOW)


@dataclass(frozen=True)
class NotificationRequest:
    """One notification to create: who, what, and the template parameters (see ``notification_create``)."""

    user_id: int
    type: NotificationType | str
    source: NotificationSource | str = NotificationSource.SALESFORCE
    source_id: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)


def notification_create(
    *,
    user_id: int,
    type: NotificationType | str,
    source: NotificationSource | str = NotificationSource.SALESFORCE,
    source_id: str | None = None,
    context: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> Notification | None:
    """Create the notification of ``type`` for a customer, unless it is a duplicate.

    A duplicate is a notification for the same user, type and ``source_id`` created within the
    type's dedupe window (24 hours for invoice due, payment method expiring and announcements,
    1 hour otherwise), read or dismissed or not; then nothing is created and ``None`` is returned.
    Without a ``source_id`` there is nothing to dedupe on and the notification is always created.

    Title, message and action come from the type's template, rendered in English for the row;
    ``context`` holds the template parameters (only those the template uses are kept, so nothing
    internal such as an error detail is ever stored or shown) and lets the API render the text in
    the reader's language. Dates may be passed as ``date`` or ``datetime`` (its Japan date is
    kept), amounts as ``Decimal``; they are stored as ISO dates and decimal strings.

    Concurrent producers cannot both create the same notification: the check and the insert run
    in one transaction holding a row lock on the user (on SQLite, the IMMEDIATE transaction
    serializes writers instead). Called inside a caller's transaction, the lock is held until
    that transaction commits.
    """
    request = NotificationRequest(
        user_id=user_id, type=type, source=source, source_id=source_id, context=context or {}
    )
    return notifications_create(requests=[request], now=now)[0]


def notifications_create(
    *,
    requests: Sequence[NotificationRequest],
    now: datetime | None = None,
    dedupe_window: timedelta | None = None,
    savepoint: bool = True,
) -> list[Notification | None]:
    """``notification_create`` for many requests at once, in a fixed number of statements: one
    lock over the users, one dedupe query, one insert. Returns, in request order, each created
    notification or ``None`` for a duplicate (of an existing row or of an earlier request).

    ``dedupe_window`` replaces the types' own windows when a caller knows its duplicates can
    arrive later than those (redelivered platform events). ``savepoint=False`` saves two round
    trips for a caller inside its own transaction that lets any error roll all of it back (a
    batch of events); a caller that catches the errors and goes on needs the savepoint.
    """
    if not requests:
        return []
    now = now or timezone.now()
    renderer = _Renderer(now)
    with translation.override("en"):
        notifications = [renderer.row(request) for request in requests]
    windows = [dedupe_window or notification_dedupe_window(type=n.type) for n in notifications]
    deduped = [
        (n, window) for n, window in zip(notifications, windows, strict=True) if n.source_id is not None
    ]

    with transaction.atomic(savepoint=savepoint):
        user_ids = sorted({request.user_id for request in requests})
        # Locked in id order, so two batches over the same customers cannot deadlock.
        users = get_user_model().objects.select_for_update().filter(pk__in=user_ids).order_by("pk")
        if len(users.values_list("pk", flat=True)) != len(user_ids):
            raise get_user_model().DoesNotExist("Notification for a user that does not exist.")
        told: dict[tuple[int, str, str | None], datetime] = {}
        if deduped:
            since = now - max(window for _, window in deduped)
            existing = Notification.objects.filter(
                user_id__in=user_ids,
                source_id__in={n.source_id for n, _ in deduped},
                created_at__gt=since,
                # A notification expires a retention after it is created, so those created since
                # then expire after this: on PostgreSQL only the last days' partitions are read,
                # not every day's index once per customer (a third of a status-event batch's time).
                # Rows made under a shorter retention, in the window after it was raised, escape
                # the check; at worst the customer is told twice.
                expires_at__gt=since + settings.NOTIFICATION_RETENTION,
            ).values_list("user_id", "type", "source_id", "created_at")
            for user_id, notification_type, source_id, created_at in existing:
                key = (user_id, notification_type, source_id)
                told[key] = max(created_at, told.get(key, created_at))

        created: list[Notification | None] = []
        for notification, window in zip(notifications, windows, strict=True):
            if notification.source_id is not None:
                key = (notification.user_id, notification.type, notification.source_id)
                if key in told and told[key] > now - window:
                    created.append(None)
                    continue
                told[key] = now
            created.append(notification)
        bulk_insert_rows(Notification, [n for n in created if n is not None])
        dashboard_cache_invalidate(n.user_id for n in created if n is not None)
    return created


class _Renderer:
    """Unsaved, validated rows for the requests of one call, each template rendered in the active
    language (the caller makes it English). A batch repeats a few (type, parameters) pairs many
    times (a burst of the same decision), so each pair is rendered and validated once; only the
    per-row fields are checked per row."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.expires_at = now + settings.NOTIFICATION_RETENTION
        self._rendered: dict[tuple[str, str, tuple[tuple[str, Any], ...]], Notification] = {}
        self._source_id = Notification._meta.get_field("source_id")
        self._source_id_length = self._source_id.max_length or 0

    def row(self, request: NotificationRequest) -> Notification:
        notification_type = NotificationType(request.type)
        template = get_template(notification_type)
        if template is None:
            raise ValueError(f"No template for notification type {notification_type}.")
        parameters = _template_parameters(request.context, allowed=template.parameters)
        source = NotificationSource(request.source)
        key = (notification_type.value, source.value, tuple(sorted(parameters.items())))
        model = self._rendered.get(key)
        if model is None:
            rendered = render_notification(notification_type, parameters)
            assert rendered is not None
            model = Notification(
                type=notification_type,
                title=rendered.title,
                message=rendered.message,
                action_url=rendered.action_url,
                action_label=rendered.action_label,
                source=source,
                context=parameters,
                created_at=self.now,
                expires_at=self.expires_at,
            )
            model.full_clean(exclude=["user"], validate_unique=False, validate_constraints=False)
            self._rendered[key] = model
        if request.source_id is not None and len(request.source_id) > self._source_id_length:
            self._source_id.run_validators(request.source_id)  # Raises the field's own error.
        return Notification(
            user_id=request.user_id,
            type=model.type,
            title=model.title,
            message=model.message,
            action_url=model.action_url,
            action_label=model.action_label,
            source=model.source,
            source_id=request.source_id,
            context=dict(parameters),
            created_at=self.now,
            expires_at=self.expires_at,
        )


def notification_mark_read(
    *, user_id: int, notification_id: UUID | str, now: datetime | None = None
) -> Notification:
    """Mark one of the user's notifications read. Another user's id raises ``DoesNotExist``."""
    with transaction.atomic():
        notification = Notification.objects.select_for_update().get(pk=notification_id, user_id=user_id)
        if not notification.read:
            notification.read = True
            notification.read_at = now or timezone.now()
            notification.save(update_fields=["read", "read_at"])
            dashboard_cache_invalidate(user_id)
    return notification


def notification_mark_all_read(*, user_id: int, now: datetime | None = None) -> int:
    """Mark every unread notification the user can see as read; returns how many changed."""
    now = now or timezone.now()
    with transaction.atomic():
        dashboard_cache_invalidate(user_id)
        return Notification.objects.filter(
            user_id=user_id, read=False, dismissed=False, expires_at__gt=now
        ).update(read=True, read_at=now)


def notification_dismiss(*, user_id: int, notification_id: UUID | str) -> Notification:
    """Hide one of the user's notifications for good. Another user's id raises ``DoesNotExist``.

    A dismissed notification still counts for dedupe, so the same event does not bring it back.
    """
    with transaction.atomic():
        notification = Notification.objects.select_for_update().get(pk=notification_id, user_id=user_id)
        if not notification.dismissed:
            notification.dismissed = True
            notification.save(update_fields=["dismissed"])
            dashboard_cache_invalidate(user_id)
    return notification


CLEANUP_BATCH_SIZE = 500
# On PostgreSQL a batch is one statement on one partition, which finds and deletes its rows on the
# server, so larger batches cost no ids sent back and forth (5,000 rows: 10-50 ms on 2 busy cores).
CLEANUP_PARTITION_BATCH_SIZE = 5_000
CLEANUP_PAUSE_RATIO = 1.0
# The cleanup works this long at a stretch before it rests: a few batches, or one long one.
CLEANUP_REST_AFTER_SECONDS = 0.2


@dataclass(frozen=True)
class ExpiredNotificationsRemoved:
    """What one cleanup did, counted exactly by the statements that did it."""

    partitions_detached: int = 0  # wholly expired days taken out of the table (PostgreSQL)
    rows_deleted: int = 0  # rows deleted by the batches (their statements' row counts)


def notifications_delete_expired(
    *,
    batch_size: int | None = None,
    pause_ratio: float = CLEANUP_PAUSE_RATIO,
    time_budget: float | None = None,
    now: datetime | None = None,
) -> ExpiredNotificationsRemoved:
    """Remove the notifications whose ``expires_at`` has passed from the table.

    On PostgreSQL the table is partitioned by expiry day (``apps/notifications/partitions.py``):
    every day partition that has wholly expired is detached first, whatever its size, a few short
    transactions in all; ``notification_expired_partitions_drop`` then drops them. The rows they
    held are not counted (counting them would read them all): the result says how many days went.
    What is left (the expired part of the current day, and any expired rows the DEFAULT partition
    holds) is deleted partition by partition, each batch of up to ``CLEANUP_PARTITION_BATCH_SIZE``
    rows one statement on that partition alone. On SQLite the table is plain: batches of
    ``CLEANUP_BATCH_SIZE`` ids taken in ``expires_at`` order (the expiry index) and deleted.

    ``batch_size`` replaces either default. Each batch is committed on its own, so no statement or
    lock ever spans the whole table and web requests keep writing in between. Deleting (index and
    WAL work) competes with requests for the same cores: once the batches have worked
    ``CLEANUP_REST_AFTER_SECONDS`` since the last rest, the cleanup rests ``pause_ratio`` times as
    long, so at the default it takes at most half of them, and a small cleanup never waits. With
    ``time_budget`` (seconds) it stops after the batch that reaches the budget and leaves the rest
    for a later call.
    """
    if batch_size is not None and batch_size < 1:
        raise ValueError("batch_size must be at least 1.")
    now = now or timezone.now()
    started = time.monotonic()
    pacer = _Pacer(pause_ratio)

    def spent() -> bool:
        return time_budget is not None and time.monotonic() - started >= time_budget

    if not is_partitioned():
        deleted = _delete_plain(batch_size or CLEANUP_BATCH_SIZE, now=now, pacer=pacer, spent=spent)
        return ExpiredNotificationsRemoved(rows_deleted=deleted)
    detached = expired_partitions_detach(now=now)
    limit = batch_size or CLEANUP_PARTITION_BATCH_SIZE
    # Each call removes something, if anything is expired, however small its budget.
    deleted, progressed = 0, detached > 0
    for name in expired_rows_partitions(now=now):
        after: datetime | None = None
        while not (progressed and spent()):
            with pacer.batch():
                count, after = expired_rows_delete(name, now=now, after=after, limit=limit)
            deleted, progressed = deleted + count, progressed or count > 0
            if count < limit:
                break
    return ExpiredNotificationsRemoved(partitions_detached=detached, rows_deleted=deleted)


def _delete_plain(batch_size: int, *, now: datetime, pacer: _Pacer, spent: Callable[[], bool]) -> int:
    total, progressed = 0, False
    expired = Notification.objects.filter(expires_at__lte=now)
    while not (progressed and spent()):
        with pacer.batch(), transaction.atomic():
            batch = list(expired.order_by("expires_at").values_list("pk", "expires_at")[:batch_size])
            if not batch:
                break
            deleted, _ = Notification.objects.filter(
                pk__in=[pk for pk, _ in batch], expires_at__lte=now
            ).delete()
        total, progressed = total + deleted, True
        if len(batch) < batch_size:
            break
        # Start the next scan where this batch ended: the index entries of the rows just deleted
        # stay until vacuum, and walking past them again each batch would cost more every time.
        expired = Notification.objects.filter(expires_at__lte=now, expires_at__gte=batch[-1][1])
    return total


class _Pacer:
    """Rests ``pause_ratio`` times as long as the batches worked, once they have worked
    ``CLEANUP_REST_AFTER_SECONDS`` since the last rest (before the next batch, never after the last)."""

    def __init__(self, pause_ratio: float) -> None:
        self.pause_ratio = pause_ratio
        self.worked = 0.0

    @contextmanager
    def batch(self) -> Iterator[None]:
        if self.worked and self.worked >= CLEANUP_REST_AFTER_SECONDS:
            time.sleep(self.worked * self.pause_ratio)
            self.worked = 0.0
        started = time.monotonic()
        try:
            yield
        finally:
            self.worked += time.monotonic() - started


def _template_parameters(context: Mapping[str, Any], *, allowed: frozenset[str]) -> dict[str, Any]:
    """The JSON-safe template parameters: known keys only, empty values dropped."""
    parameters: dict[str, Any] = {}
    for key, value in context.items():
        if key not in allowed or value is None or value == "":
            continue
        if isinstance(value, datetime):
            value = (timezone.localdate(value) if timezone.is_aware(value) else value.date()).isoformat()
        elif isinstance(value, date):
            value = value.isoformat()
        elif not isinstance(value, str | int | float | bool):
            value = str(value)  # Decimal amounts, UUIDs, lazy strings
        parameters[key] = value
    return parameters


def notification_expired_partitions_drop() -> int:
    """On PostgreSQL, drop the expired day partitions the cleanup detached (one statement each,
    with no lock on ``notifications``); returns how many. Nothing to do on SQLite."""
    return detached_partitions_drop() if is_partitioned() else 0


def notification_partitions_ensure(*, now: datetime | None = None) -> int:
    """On PostgreSQL, create the day partitions from today to the retention and a week beyond
    (an insert never fails without them: the DEFAULT partition takes it); returns how many were
    created. Nothing to do on SQLite."""
    return partitions_ensure(now=now) if is_partitioned() else 0
