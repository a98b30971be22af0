"""On PostgreSQL, ``notifications`` becomes a table range-partitioned by ``expires_at``: one
partition per Japan day (``notifications_pYYYYMMDD``) plus a DEFAULT partition, so a day's
notifications expire by dropping their partition instead of deleting rows one by one (dead index
entries, WAL, vacuum). The primary key becomes ``(id, expires_at)``, as PostgreSQL requires the
partition key in every unique index; Django keeps ``id`` as the model's primary key (``id`` is a
random UUID, so it stays unique on its own). Nothing references ``notifications``.

The existing rows are copied into the new table in the migration's transaction. SQLite keeps the
plain table (the cleanup deletes in batches there). The SQL is written out here, not imported, so
the migration keeps doing what it did when the app's code changes.
"""

from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import migrations
from django.utils import timezone

TABLE = "notifications"
OLD = "notifications_unpartitioned"
DEFAULT = "notifications_default"
KEEP_PAST_DAYS = 60  # older rows are long expired: they go to the DEFAULT partition
AHEAD_DAYS = 7  # partitions beyond the retention, as the cleanup task keeps them


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=timezone.get_default_timezone())


def _definitions(cursor: Any, table: str) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """The table's constraints (name, type, definition) and its other indexes (name, definition)."""
    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f', 'c') ORDER BY conname",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = %s::regclass "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) ORDER BY i.relname",
        [table],
    )
    return constraints, cursor.fetchall()


def _rebuild(schema_editor: Any, *, partitioned: bool) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        constraints, indexes = _definitions(cursor, TABLE)  # index definitions name "notifications"
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
        for name, _, _ in constraints:
            cursor.execute(f'ALTER TABLE {OLD} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        partition_by = " PARTITION BY RANGE (expires_at)" if partitioned else ""
        cursor.execute(f"CREATE TABLE {TABLE} (LIKE {OLD} INCLUDING DEFAULTS){partition_by}")
        if partitioned:
            cursor.execute(f"CREATE TABLE {DEFAULT} PARTITION OF {TABLE} DEFAULT")
            cursor.execute(f"SELECT min(expires_at), max(expires_at) FROM {OLD}")
            oldest, newest = cursor.fetchone()
            today = timezone.localdate()
            first = today if oldest is None else max(min(today, timezone.localdate(oldest)), today - timedelta(days=KEEP_PAST_DAYS))
            last = today + settings.NOTIFICATION_RETENTION + timedelta(days=AHEAD_DAYS)
            last = last if newest is None else max(last, timezone.localdate(newest))
            day = first
            while day <= last:
                lower, upper = _day_start(day), _day_start(day + timedelta(days=1))
                cursor.execute(
                    f"CREATE TABLE notifications_p{day:%Y%m%d} PARTITION OF {TABLE} "
                    f"FOR VALUES FROM ('{lower.isoformat()}') TO ('{upper.isoformat()}')"
                )
                day += timedelta(days=1)
        cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {OLD}")  # noqa: S608 - our own table names
        cursor.execute(f"DROP TABLE {OLD} CASCADE")  # on the way back, with its partitions
        for name, kind, definition in constraints:
            if kind == "p":
                definition = "PRIMARY KEY (id, expires_at)" if partitioned else "PRIMARY KEY (id)"
            cursor.execute(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {definition}')
        for _, definition in indexes:
            cursor.execute(definition)
        cursor.execute(f"ANALYZE {TABLE}")


def partition(apps: Any, schema_editor: Any) -> None:
    _rebuild(schema_editor, partitioned=True)


def unpartition(apps: Any, schema_editor: Any) -> None:
    _rebuild(schema_editor, partitioned=False)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0003_notification_feed_index"),
    ]

    operations = [
        migrations.RunPython(partition, unpartition, elidable=False),
    ]
