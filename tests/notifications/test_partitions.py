"""The notifications table partitioned by expiry day on PostgreSQL (migration 0004): reads and
writes by ``id`` as before, the cleanup dropping wholly expired days and deleting the rest in
batches, and day partitions created ahead (taking over rows the DEFAULT partition caught).
SQLite keeps a plain table: there the cleanup's batches are the whole story (test_services.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.notifications import partitions
from apps.notifications.models import Notification
from apps.notifications.partitions import day_start, partition_create
from apps.notifications.services import (
    notification_dismiss,
    notification_mark_read,
    notification_partitions_ensure,
    notifications_delete_expired,
)
from tests.factories import NotificationFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="partitioning is PostgreSQL's"),
]


def partition_of(notification: Notification) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT tableoid::regclass::text FROM {Notification._meta.db_table} WHERE id = %s",
            [notification.pk],
        )
        row = cursor.fetchone()
    assert row is not None
    return str(row[0])


def partition_names() -> set[str]:
    return {p.name for p in partitions.day_partitions()}


def test_the_table_is_partitioned_by_expiry_with_the_key_in_the_primary_key() -> None:
    assert partitions.is_partitioned()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'notifications'::regclass "
            "AND contype = 'p'"
        )
        assert cursor.fetchall() == [("PRIMARY KEY (id, expires_at)",)]
    today = timezone.localdate()
    last = today + timedelta(days=30 + partitions.PARTITIONS_AHEAD_DAYS)
    assert {f"notifications_p{today:%Y%m%d}", f"notifications_p{last:%Y%m%d}"} <= partition_names()


def test_rows_are_read_and_changed_by_id_in_their_day_partition() -> None:
    notification = NotificationFactory()
    assert (
        partition_of(notification) == f"notifications_p{timezone.localdate(notification.expires_at):%Y%m%d}"
    )

    read = notification_mark_read(user_id=notification.user_id, notification_id=notification.pk)
    notification_dismiss(user_id=notification.user_id, notification_id=notification.pk)

    assert read.read is True
    stored = Notification.objects.get(pk=notification.pk)
    assert (stored.read, stored.dismissed) == (True, True)


def test_the_cleanup_drops_wholly_expired_days_and_deletes_the_rest_in_batches() -> None:
    # Given a day well in the past as "today", with partitions for it and the two days before
    day = timezone.localdate() - timedelta(days=10)
    for offset in range(3):
        partition_create(day - timedelta(days=offset))
    now = day_start(day) + timedelta(hours=12)
    old_day = day - timedelta(days=2)
    gone_with_partition = NotificationFactory.create_batch(
        3, expires_at=day_start(old_day) + timedelta(hours=1)
    )
    expired_today = NotificationFactory.create_batch(2, expires_at=now - timedelta(hours=1))
    caught_by_default = NotificationFactory(expires_at=now - timedelta(days=40))
    alive = NotificationFactory(expires_at=now + timedelta(hours=1))
    assert partition_of(caught_by_default) == partitions.DEFAULT_PARTITION
    # The rows were inserted in this test's transaction: their deferred foreign key checks run
    # now, as at a commit (PostgreSQL drops no table with trigger events pending).
    connection.check_constraints()

    deleted = notifications_delete_expired(batch_size=1, pause_ratio=0, now=now)

    assert deleted == len(gone_with_partition) + len(expired_today) + 1
    names = partition_names()
    assert f"notifications_p{old_day:%Y%m%d}" not in names
    assert f"notifications_p{day - timedelta(days=1):%Y%m%d}" not in names  # expired too (empty)
    assert f"notifications_p{day:%Y%m%d}" in names  # the current day stays
    assert list(Notification.objects.filter(expires_at__lte=now + timedelta(days=1))) == [alive]


def test_a_day_partition_created_later_takes_over_the_rows_the_default_caught() -> None:
    far = timezone.localdate() + timedelta(days=200)
    caught = NotificationFactory(expires_at=day_start(far) + timedelta(hours=5))
    assert partition_of(caught) == partitions.DEFAULT_PARTITION

    assert partition_create(far) is True
    assert partition_create(far) is False

    assert partition_of(caught) == f"notifications_p{far:%Y%m%d}"
    assert Notification.objects.get(pk=caught.pk).pk == caught.pk


def test_partitions_are_kept_ready_a_week_beyond_the_retention() -> None:
    later = timezone.now() + timedelta(days=3)

    created = notification_partitions_ensure(now=later)

    # The migration made them up to today + retention + 7 days; three more days are due.
    assert created == 3
    assert notification_partitions_ensure(now=later) == 0
    last = timezone.localdate(later) + timedelta(days=30 + partitions.PARTITIONS_AHEAD_DAYS)
    assert f"notifications_p{last:%Y%m%d}" in partition_names()
