"""Migration 0004 (notifications partitioned by expiry day on PostgreSQL) keeps every row written
before it, and going back to 0003 gives the plain table with the same rows. On SQLite the
migration changes nothing and the rows are simply there."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.apps.registry import Apps
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from apps.notifications.models import Notification
from apps.notifications.partitions import DEFAULT_PARTITION, is_partitioned

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("notifications", "0003_notification_feed_index"), ("accounts", "__latest__")]


def migrate(*args: str) -> None:
    call_command("migrate", *args, verbosity=0, stdout=io.StringIO())


@pytest.fixture
def before_partitioning() -> Iterator[Apps]:
    """The database at notifications 0003 and the models of that state; fully migrated afterwards."""
    migrate("notifications", "0003")
    try:
        loader = MigrationLoader(connection)
        state = [
            (app, loader.graph.leaf_nodes(app)[0][1] if name == "__latest__" else name)
            for app, name in BEFORE
        ]
        yield loader.project_state(state).apps
    finally:
        migrate()


def partition_of(pk: uuid.UUID) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM notifications WHERE id = %s", [pk])
        row = cursor.fetchone()
    assert row is not None
    return str(row[0])


def test_rows_written_before_partitioning_are_kept_in_their_day_partitions(before_partitioning: Apps) -> None:
    old = before_partitioning
    user = old.get_model("accounts", "User").objects.create(email="hana@example.com", password="!")
    now = timezone.now()
    rows = {
        "live": now + timedelta(days=29),
        "expired long ago": now - timedelta(days=400),
    }
    ids = {}
    for title, expires_at in rows.items():
        ids[title] = (
            old.get_model("notifications", "Notification")
            .objects.create(user_id=user.pk, type="SYSTEM_ANNOUNCEMENT", title=title, expires_at=expires_at)
            .pk
        )

    migrate("notifications", "0004_partition_by_expiry")

    assert set(Notification.objects.values_list("title", flat=True)) == set(rows)
    if connection.vendor == "postgresql":
        assert is_partitioned()
        live_day = timezone.localdate(rows["live"])
        assert partition_of(ids["live"]) == f"notifications_p{live_day:%Y%m%d}"
        assert partition_of(ids["expired long ago"]) == DEFAULT_PARTITION

        migrate("notifications", "0003")

        assert not is_partitioned()
        assert set(Notification.objects.values_list("title", flat=True)) == set(rows)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'notifications'::regclass AND contype = 'p'"
            )
            assert cursor.fetchall() == [("PRIMARY KEY (id)",)]
