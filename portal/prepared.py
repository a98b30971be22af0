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
from django.db.backends.utils import CursorWrapper


class _PreparedCursor(ServerBindingCursor):
    """Django's server-binding cursor (psycopg 3), executing every statement as prepared: psycopg
    keeps a cache of them per connection. Django turns psycopg's automatic preparation off, for
    the sake of connection poolers; it is asked for here, statement by statement."""

    def execute(self, query: Any, params: Any = None, **options: Any) -> Any:
        return super().execute(query, params, **{**options, "prepare": True})


@contextmanager
def prepared_cursor() -> Iterator[CursorWrapper]:
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.ensure_connection()
    raw = _PreparedCursor(connection.connection)
    cursor = connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)
    try:
        yield cursor
    finally:
        cursor.close()
