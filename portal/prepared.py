"""Hot statements sent as PostgreSQL prepared statements, planned once per connection.

Django sends every query with its values inlined (client-side binding), so PostgreSQL plans each
one afresh. For most queries that costs little, but a read of the ``notifications`` table, which is
partitioned by expiry day (``apps/notifications/partitions.py``), plans every one of its forty-odd
partitions: about 1 ms per read, more than running it. A statement sent through
``prepared_cursor()`` is prepared on the connection the first time and executed by name after that,
with the values bound on the server. The connections ask for generic plans for prepared statements
(``plan_cache_mode`` in ``settings.DATABASES``), so it is planned once for any value: the partitions
that have expired are pruned when it runs. Only statements sent through here are prepared.

The statement still goes through Django's cursor wrapper, so ``execute_wrapper`` hooks and the
query log (``CaptureQueriesContext``, ``DEBUG``) see it as any other. On other databases it is an
ordinary cursor.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection
from django.db.backends.postgresql.base import ServerBindingCursor  # type: ignore[attr-defined]
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import QuerySet


class _PreparedCursor(ServerBindingCursor):
    """Django's server-binding cursor (psycopg 3), executing every statement as prepared: psycopg
    keeps a cache of them per connection. Django turns psycopg's automatic preparation off, for
    the sake of connection poolers; it is asked for here, statement by statement."""

    def execute(self, query: Any, params: Any = None, **options: Any) -> Any:
        return super().execute(query, params, **{**options, "prepare": True})


class _PreparedDebugWrapper(CursorDebugWrapper):
    """The query log's wrapper (``DEBUG``, ``CaptureQueriesContext``). psycopg keeps no query text
    for a prepared execution, so the statement is logged with its values composed on the client,
    as Django logs a statement bound on the server."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        with self.debug_sql(self.db.ops.compose_sql(sql, params)):
            return CursorWrapper.execute(self, sql, params)


@contextmanager
def prepared_cursor() -> Iterator[CursorWrapper]:
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.ensure_connection()
    raw = _PreparedCursor(connection.connection)
    cursor = (
        _PreparedDebugWrapper(raw, connection) if connection.queries_logged else connection.make_cursor(raw)
    )
    try:
        yield cursor
    finally:
        cursor.close()


def count_prepared(queryset: QuerySet[Any]) -> int:
    """``queryset.count()`` sent as a prepared statement (slice the queryset to cap the count)."""
    sql, params = queryset.values("pk").query.sql_with_params()
    with prepared_cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({sql}) AS counted", params)  # noqa: S608 - the ORM's SQL
        row = cursor.fetchone()
    return int(row[0]) if row else 0
