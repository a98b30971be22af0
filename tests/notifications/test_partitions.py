"""The notifications table partitioned by expiry day on PostgreSQL (migration 0004): reads and
writes by ``id`` as before, the cleanup detaching wholly expired days (then dropping them) and
deleting the rest in batches on the partitions that hold it, and day partitions created ahead (taking over rows the DEFAULT partition caught).
SQLite keeps a plain table: there the cleanup's batches are the whole story (test_services.py)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone

from apps.notifications import partitions
from apps.notifications.models import Notification
from apps.notifications.partitions import day_start, partition_create
from apps.notifications.selectors import notifications_expired_exist
from apps.notifications.services import (
    ExpiredNotificationsRemoved,
    notification_dismiss,
    notification_expired_partitions_drop,
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


def table_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        row = cursor.fetchone()
    return bool(row and row[0])


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


@pytest.fixture
def expired_days() -> dict[str, Any]:
    """A day well in the past as "today", with partitions for it and the two days before: rows in
    the oldest day, expired rows of the current day, one the DEFAULT partition caught, one live."""
    day = timezone.localdate() - timedelta(days=10)
    for offset in range(3):
        partition_create(day - timedelta(days=offset))
    now = day_start(day) + timedelta(hours=12)
    old_day = day - timedelta(days=2)
    rows = {
        "old day": NotificationFactory.create_batch(3, expires_at=day_start(old_day) + timedelta(hours=1)),
        "expired today": NotificationFactory.create_batch(2, expires_at=now - timedelta(hours=1)),
        "default": [NotificationFactory(expires_at=now - timedelta(days=40))],
        "alive": [NotificationFactory(expires_at=now + timedelta(hours=1))],
    }
    assert partition_of(rows["default"][0]) == partitions.DEFAULT_PARTITION
    # The rows were inserted in this test's transaction: their deferred foreign key checks run
    # now, as at a commit (PostgreSQL alters no table with trigger events pending).
    connection.check_constraints()
    return {"day": day, "old_day": old_day, "now": now, "rows": rows}


def test_the_cleanup_detaches_wholly_expired_days_and_deletes_the_rest_in_batches(
    expired_days: dict[str, Any],
) -> None:
    day, old_day, now = expired_days["day"], expired_days["old_day"], expired_days["now"]

    removed = notifications_delete_expired(batch_size=1, pause_ratio=0, now=now)

    # The two wholly expired days (the older one empty) are out of the table; the current day's
    # two expired rows and the DEFAULT partition's one were deleted, counted by their statements.
    assert removed == ExpiredNotificationsRemoved(partitions_detached=2, rows_deleted=3)
    names = partition_names()
    assert f"notifications_p{old_day:%Y%m%d}" not in names
    assert f"notifications_p{day - timedelta(days=1):%Y%m%d}" not in names
    assert f"notifications_p{day:%Y%m%d}" in names  # the current day stays
    assert (
        list(Notification.objects.filter(expires_at__lte=now + timedelta(days=1)))
        == expired_days["rows"]["alive"]
    )
    # The detached days wait to be dropped under names no query of the portal reads.
    waiting = [f"notifications_expired_p{d:%Y%m%d}" for d in (old_day, day - timedelta(days=1))]
    assert partitions.detached_partitions() == waiting

    assert notification_expired_partitions_drop() == 2
    assert partitions.detached_partitions() == []
    assert all(not table_exists(name) for name in waiting)
    assert notification_expired_partitions_drop() == 0


def test_the_batches_delete_from_the_current_day_and_the_default_partition_by_name(
    expired_days: dict[str, Any],
) -> None:
    statements: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        removed = notifications_delete_expired(batch_size=1, pause_ratio=0, now=expired_days["now"])

    deletes = [sql for sql in statements if "DELETE" in sql.upper()]
    current = f'"notifications_p{expired_days["day"]:%Y%m%d}"'
    # Current day: 1, 1, then an empty batch; DEFAULT: 1, then an empty batch
    assert [current in sql for sql in deletes] == [True, True, True, False, False]
    assert all('"notifications_default"' in sql for sql in deletes[3:])
    assert not any('"notifications"' in sql for sql in deletes)  # never the whole partitioned table
    assert removed.rows_deleted == 3


def test_a_small_time_budget_still_makes_progress_each_call(expired_days: dict[str, Any]) -> None:
    now = expired_days["now"]

    first = notifications_delete_expired(batch_size=1, pause_ratio=0, time_budget=0.0, now=now)
    second = notifications_delete_expired(batch_size=1, pause_ratio=0, time_budget=0.0, now=now)

    # The first call detached the expired days and stopped; each later call deletes one batch.
    assert first == ExpiredNotificationsRemoved(partitions_detached=2, rows_deleted=0)
    assert second == ExpiredNotificationsRemoved(partitions_detached=0, rows_deleted=1)
    assert Notification.objects.filter(expires_at__lte=now).count() == 2


def test_a_day_whose_lock_is_never_free_stays_for_the_next_run(
    expired_days: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a long read elsewhere holding the table, and two short tries
    monkeypatch.setattr(partitions, "DETACH_ATTEMPTS", 2)
    monkeypatch.setattr(partitions.clock, "sleep", lambda seconds: None)
    now, old_day = expired_days["now"], expired_days["old_day"]
    reader = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with reader.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("LOCK TABLE ONLY notifications IN ACCESS SHARE MODE")

            with caplog.at_level(logging.WARNING, logger="apps.notifications.partitions"):
                removed = notifications_delete_expired(batch_size=1, pause_ratio=0, now=now)

            cursor.execute("ROLLBACK")
    finally:
        reader.close()

    # Then the days stay attached with their rows (hidden from customers already), a warning
    # says so, the rest was deleted, and the task's check sees work left for a follow-up
    assert removed == ExpiredNotificationsRemoved(partitions_detached=0, rows_deleted=3)
    assert f"notifications_p{old_day:%Y%m%d}" in partition_names()
    assert Notification.objects.filter(expires_at__lte=now).count() == 3
    assert len(caplog.messages) == 1
    assert "the lock was never free" in caplog.messages[0]
    assert notifications_expired_exist(now=now)

    # And the next run, with the table free, takes them out
    assert notifications_delete_expired(now=now).partitions_detached == 2
    assert Notification.objects.filter(expires_at__lte=now).count() == 0


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
