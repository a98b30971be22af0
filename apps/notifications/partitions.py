"""The daily partitions of ``notifications`` on PostgreSQL (migration ``0004_partition_by_expiry``).

The table is range-partitioned by ``expires_at``: ``notifications_pYYYYMMDD`` holds the rows
expiring on that Japan day, ``notifications_default`` any row no day partition covers (so an
insert never fails). A day whose partition has wholly expired is dropped at once, which leaves no
dead rows, index entries or vacuum work behind, however many rows it held. On SQLite the table is
a plain table and none of this applies (``is_partitioned()`` is false).
"""

from __future__ import annotations

import logging
import re
import time as clock
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from apps.notifications.models import Notification

logger = logging.getLogger(__name__)

TABLE = Notification._meta.db_table
DEFAULT_PARTITION = f"{TABLE}_default"
_DAY_PARTITION = re.compile(rf"^{TABLE}_p(\d{{8}})$")
# Partitions kept ready beyond the retention, so a missed daily run or two changes nothing.
PARTITIONS_AHEAD_DAYS = 7
# Dropping a partition takes an exclusive lock on the table for an instant; it waits at most this
# long behind running queries (which queue behind the waiting drop), then tries again.
DROP_LOCK_TIMEOUT_MS = 100
DROP_ATTEMPTS = 20
# Days dropped by one statement when a backlog has built up (the daily run drops one).
DROP_GROUP = 10


@dataclass(frozen=True)
class Partition:
    name: str
    day: date

    @property
    def lower(self) -> datetime:
        return day_start(self.day)

    @property
    def upper(self) -> datetime:
        return day_start(self.day + timedelta(days=1))


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=timezone.get_default_timezone())


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
    return row is not None and row[0] == "p"


def day_partitions() -> list[Partition]:
    """The day partitions, oldest first (the DEFAULT partition is not one)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s)",
            [TABLE],
        )
        names = [name for (name,) in cursor.fetchall()]
    partitions = []
    for name in names:
        if match := _DAY_PARTITION.match(name):
            partitions.append(Partition(name=name, day=date.fromisoformat(match[1])))
    return sorted(partitions, key=lambda p: p.day)


def partition_create(day: date) -> bool:
    """Create the partition of ``day`` unless it exists; returns whether it was created.

    Rows of that day that went to the DEFAULT partition meanwhile move into it first (PostgreSQL
    refuses to attach a range the DEFAULT partition holds rows of). Attaching locks the table
    less than ``CREATE TABLE ... PARTITION OF`` would: reads and writes go on.
    """
    partition = Partition(name=f"{TABLE}_p{day:%Y%m%d}", day=day)
    quote = connection.ops.quote_name
    name, table, default = quote(partition.name), quote(TABLE), quote(DEFAULT_PARTITION)
    # Our own datetimes, as literals: partition bounds take no parameters.
    lower, upper = f"'{partition.lower.isoformat()}'", f"'{partition.upper.isoformat()}'"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [partition.name])
        row = cursor.fetchone()
        if row and row[0]:
            return False
        cursor.execute(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)")
        cursor.execute(
            f"WITH moved AS (DELETE FROM {default} WHERE expires_at >= {lower} AND expires_at < {upper} "  # noqa: S608
            f"RETURNING *) INSERT INTO {name} SELECT * FROM moved"
        )
        cursor.execute(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ({lower}) TO ({upper})")
    return True


def partitions_ensure(*, now: datetime | None = None, first_day: date | None = None) -> int:
    """Create the missing day partitions from ``first_day`` (default today) to the retention plus
    ``PARTITIONS_AHEAD_DAYS``; returns how many were created."""
    today = timezone.localdate(now or timezone.now())
    last = today + timedelta(days=settings.NOTIFICATION_RETENTION.days + PARTITIONS_AHEAD_DAYS)
    day, created = first_day or today, 0
    while day <= last:
        created += partition_create(day)
        day += timedelta(days=1)
    return created


def expired_partitions_drop(*, now: datetime) -> int:
    """Drop every day partition whose whole range has expired; returns how many rows they held.

    Up to ``DROP_GROUP`` partitions are dropped by one statement in a short transaction, so a
    backlog of days takes the table's lock a few times, not once per day. A drop that cannot get
    its lock within ``DROP_LOCK_TIMEOUT_MS`` is retried; after ``DROP_ATTEMPTS`` the partitions
    stay (their rows are hidden from customers already) for the batched delete or the next run.
    """
    expired = [partition for partition in day_partitions() if partition.upper <= now]
    deleted = 0
    for start in range(0, len(expired), DROP_GROUP):
        group = expired[start : start + DROP_GROUP]
        # Counted once, before the lock is asked for: nothing writes to a day that has expired,
        # and a retry then costs only the drop.
        rows = _count(group)
        for attempt in range(DROP_ATTEMPTS):
            try:
                _drop(group)
                deleted += rows
                break
            except OperationalError as exc:
                if getattr(exc.__cause__, "sqlstate", None) != "55P03":  # lock_not_available
                    raise
                clock.sleep(0.05 * (attempt + 1))
        else:
            logger.warning(
                "notification partitions %s stayed: the lock was never free", [p.name for p in group]
            )
    return deleted


def _count(group: list[Partition]) -> int:
    """The rows of the group, one statement per partition (a statement stays short whatever the
    backlog: ten 170k-row days counted at once took 0.9 s on a loaded machine)."""
    rows = 0
    with connection.cursor() as cursor:
        for partition in group:
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(partition.name)}")  # noqa: S608
            row = cursor.fetchone()
            rows += int(row[0]) if row else 0
    return rows


def _drop(group: list[Partition]) -> None:
    names = [connection.ops.quote_name(partition.name) for partition in group]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = {DROP_LOCK_TIMEOUT_MS:d}")
        cursor.execute(f"DROP TABLE {', '.join(names)}")
