"""Set-based writes the ORM makes expensive in Python."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models


def bulk_update_rows(model: type[models.Model], rows: Sequence[models.Model], fields: Sequence[str]) -> None:
    """Write ``fields`` of ``rows`` (loaded instances of ``model``) in one statement.

    On PostgreSQL one ``UPDATE … FROM unnest(arrays)``: a column per field, so its cost hardly
    grows with the rows. ``bulk_update`` builds a ``CASE WHEN pk = … THEN …`` per row and field,
    whose Python costs more than the rest of a status event; it stays the portable path.
    """
    if not rows or not fields:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(rows, fields)
        return
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    columns = [pk, *(meta.get_field(name) for name in fields)]
    quote = connection.ops.quote_name
    params = [
        [column.get_db_prep_save(getattr(row, column.attname), connection) for row in rows]
        for column in columns
    ]
    arrays = ", ".join(f"%s::{column.db_type(connection)}[]" for column in columns)
    names = ", ".join(quote(column.column) for column in columns)
    assignments = ", ".join(f"{quote(column.column)} = v.{quote(column.column)}" for column in columns[1:])
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "  # noqa: S608 - names from the model
        f"FROM unnest({arrays}) AS v({names}) WHERE t.{quote(pk.column)} = v.{quote(pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
