"""Set-based writes whose ORM form costs more Python than the database work.

On PostgreSQL the rows travel as ONE JSON parameter that ``json_populate_recordset`` turns into
the table's row type: no per-value quoting or array building on the client (Django's bulk
methods adapt every value of every row, which for a batch of status events cost more than the
statements themselves). Other databases take the ORM's bulk methods.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, models


def bulk_insert_rows(model: type[models.Model], rows: Sequence[models.Model]) -> None:
    """Insert ``rows`` (unsaved instances with their primary keys set) in one statement. No
    signals, no ``pre_save`` (set every value, as for ``bulk_create``)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(rows)
        return
    fields = list(model._meta.local_concrete_fields)
    _execute(
        model,
        "INSERT INTO {table} ({columns}) SELECT {columns} FROM json_populate_recordset(NULL::{table}, %s::json)",
        fields,
        rows,
    )
    for row in rows:  # Saved rows, as bulk_create leaves them: a later save() updates.
        row._state.adding = False
        row._state.db = connection.alias


def bulk_update_rows(model: type[models.Model], rows: Sequence[models.Model], fields: Sequence[str]) -> None:
    """Write ``fields`` of ``rows`` (instances of ``model`` with those attributes loaded or set)
    in one statement. ``bulk_update`` builds a ``CASE WHEN pk = … THEN …`` per row and field."""
    if not rows or not fields:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(rows, fields)
        return
    pk = model._meta.pk
    assert pk is not None
    quote = connection.ops.quote_name
    changed = [_field(model, name) for name in fields]
    assignments = ", ".join(f"{quote(field.column)} = v.{quote(field.column)}" for field in changed)
    _execute(
        model,
        f"UPDATE {{table}} AS t SET {assignments} FROM json_populate_recordset(NULL::{{table}}, %s::json) AS v "  # noqa: S608
        f"WHERE t.{quote(pk.column)} = v.{quote(pk.column)}",
        [pk, *changed],
        rows,
    )


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field), f"{name} is not a column of {model.__name__}"
    return field


def _execute(
    model: type[models.Model], template: str, fields: Sequence[Any], rows: Sequence[models.Model]
) -> None:
    quote = connection.ops.quote_name
    columns = [field.column for field in fields]
    attnames = [field.attname for field in fields]
    document = json.dumps(
        [
            {column: getattr(row, attname) for column, attname in zip(columns, attnames, strict=True)}
            for row in rows
        ],
        default=_json_value,
    )
    sql = template.format(table=quote(model._meta.db_table), columns=", ".join(quote(c) for c in columns))
    with connection.cursor() as cursor:
        cursor.execute(sql, [document])


def _json_value(value: Any) -> Any:
    """JSON for the values ``json.dumps`` does not know; PostgreSQL reads each back as its column's type."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return "\\x" + bytes(value).hex()
    raise TypeError(f"{type(value).__name__} has no JSON form for a bulk write")
