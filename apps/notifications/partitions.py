"""The daily partitions of ``notifications`` on PostgreSQL (migration ``0004_partition_by_expiry``).

The table is range-partitioned by ``expires_at``: ``notifications_pYYYYMMDD`` holds the rows
expiring on that Japan day, ``notifications_default`` any row no day partition covers (so an
insert never fails). A day whose partition has wholly expired is detached at once, then dropped,
which leaves no dead rows, index entries or vacuum work behind, however many rows it held. On
SQLite the table is a plain table and none of this applies (``is_partitioned()`` is false).
"""

from __future__ import annotations

import logging
import re
import time as clock
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

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
# Taking expired partitions out of the table (DETACH) locks it exclusively for an instant; each
# attempt waits at most this long behind running queries (which queue behind the waiting lock),
# then it tries again.
DETACH_LOCK_TIMEOUT_MS = 100
DETACH_ATTEMPTS = 20
# Days detached in one transaction when a backlog has built up (the daily run detaches one).
DETACH_GROUP = 10
# A detached day is renamed so: no query of the portal reads it, and it waits to be dropped.
_DETACHED = re.compile(rf"^{TABLE}_expired_p(\d{{8}})$")
# Detached days dropped by one statement. A drop's commit releases the days' files, and each
# commit costs a flush of the file system's journal, so a few days at once go faster than one by
# one; a few, so the statement stays well under a second (ten 17k-row days took 0.12-0.25 s on 2
# busy cores, a day's file release growing with its size).
DROP_GROUP = 5


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


def expired_partitions_detach(*, now: datetime) -> int:
    """Take every day partition whose whole range has expired out of the table; returns how many.

    Detaching changes only the catalog, so its rows leave ``notifications`` at once, whatever
    their number, with no dead rows or index entries left behind. The detached table is renamed
    ``notifications_expired_pYYYYMMDD`` and dropped by ``detached_partitions_drop`` (releasing its
    files is the slow part of a drop on some disks, and needs no lock on ``notifications``).

    Up to ``DETACH_GROUP`` partitions are detached by one short transaction. One that cannot get
    the table's lock within ``DETACH_LOCK_TIMEOUT_MS`` is retried; after ``DETACH_ATTEMPTS`` the
    partitions stay (their rows are hidden from customers already) for the next run.
    """
    expired = [partition for partition in day_partitions() if partition.upper <= now]
    detached = 0
    for start in range(0, len(expired), DETACH_GROUP):
        group = expired[start : start + DETACH_GROUP]
        for attempt in range(DETACH_ATTEMPTS):
            try:
                detached += _detach(group)
                break
            except OperationalError as exc:
                if getattr(exc.__cause__, "sqlstate", None) != "55P03":  # lock_not_available
                    raise
                clock.sleep(0.05 * (attempt + 1))
        else:
            logger.warning(
                "notification partitions %s stayed: the lock was never free", [p.name for p in group]
            )
    return detached


def _detach(group: list[Partition]) -> int:
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = {DETACH_LOCK_TIMEOUT_MS:d}")
        cursor.execute(f"LOCK TABLE ONLY {quote(TABLE)} IN ACCESS EXCLUSIVE MODE")
        # Read under the lock: a cleanup running alongside may have detached some of them.
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s) AND c.relname = ANY(%s)",
            [TABLE, [partition.name for partition in group]],
        )
        attached = {name for (name,) in cursor.fetchall()}
        for partition in group:
            if partition.name not in attached:
                continue
            name = quote(partition.name)
            cursor.execute(f"ALTER TABLE {quote(TABLE)} DETACH PARTITION {name}")
            cursor.execute(
                f"ALTER TABLE {name} RENAME TO {quote(f'{TABLE}_expired_p{partition.day:%Y%m%d}')}"
            )
    return len(attached)


def detached_partitions() -> list[str]:
    """The detached expired days waiting to be dropped, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' "
            "AND relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = to_regclass(%s))",
            [TABLE],
        )
        return sorted(name for (name,) in cursor.fetchall() if _DETACHED.match(name))


def detached_partitions_drop() -> int:
    """Drop the detached expired days, ``DROP_GROUP`` by one statement; returns how many.

    Nothing reads them and no lock on ``notifications`` is needed, so a drop waits for nobody and
    nobody waits for it, however long releasing its files takes.
    """
    names = detached_partitions()
    with connection.cursor() as cursor:
        for start in range(0, len(names), DROP_GROUP):
            group = [connection.ops.quote_name(name) for name in names[start : start + DROP_GROUP]]
            cursor.execute(f"DROP TABLE IF EXISTS {', '.join(group)}")
    return len(names)


def expired_rows_partitions(*, now: datetime) -> list[str]:
    """The partitions whose expired rows are deleted by statements: the day ``now`` falls in and
    the DEFAULT partition. A wholly expired day is detached instead, and one whose detach did not
    get its lock waits for the next run rather than being deleted row by row."""
    current = [p.name for p in day_partitions() if p.lower <= now < p.upper]
    return [*current, DEFAULT_PARTITION]


def expired_rows_delete(
    name: str, *, now: datetime, after: datetime | None, limit: int
) -> tuple[int, datetime | None]:
    """Delete up to ``limit`` rows of partition ``name`` expired by ``now``, in expiry order from
    ``after`` on, in one statement; returns how many and the last expiry deleted.

    The partition is named directly, so the statement plans one table, not every partition. The
    rows are found through the expiry index and deleted by their row addresses (a TID scan, not a
    join over the partition, so a batch costs the same in a day of any size); a row updated in
    between is skipped, for the next batch or run. Starting from ``after`` skips the index entries
    of rows deleted by the previous batch, which stay until vacuum.
    """
    table = connection.ops.quote_name(name)
    since = "AND expires_at >= %s" if after is not None else ""
    params: list[Any] = [now, *([after] if after is not None else []), limit, now]
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH gone AS (DELETE FROM {table} WHERE ctid = ANY(ARRAY("  # noqa: S608 - our own partition names
            f"SELECT ctid FROM {table} WHERE expires_at <= %s {since} ORDER BY expires_at LIMIT %s"
            ")) AND expires_at <= %s RETURNING expires_at) SELECT count(*), max(expires_at) FROM gone",
            params,
        )
        row = cursor.fetchone()
    return (int(row[0]), row[1]) if row else (0, None)
