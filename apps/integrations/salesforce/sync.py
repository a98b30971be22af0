"""Helpers of the reconciliation jobs that pull what changed in Salesforce into the mirror.

The jobs themselves live with the records they mirror (``apps.catalog.sync``,
``apps.accounts.sync``). Both are incremental on ``SystemModstamp``. The cursor is not stored
separately: it is the newest ``salesforce_modified_at`` already mirrored, so it can never
disagree with the data. The comparison is inclusive (``>=``) and the upserts idempotent, so
records sharing the cursor's timestamp are never skipped. All Salesforce calls happen before the
DB transaction opens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from apps.integrations.models import SalesforceSyncCursor
from apps.integrations.salesforce.field_map import parse_salesforce_datetime
from apps.integrations.salesforce.gateway import (
    SalesforceGateway,
    get_gateway,
    is_salesforce_id,
    soql_literal,
)

logger = logging.getLogger(__name__)


@dataclass
class SyncReport:
    fetched: int = 0
    created: int = 0
    updated: int = 0
    unknown: list[str] = field(default_factory=list)


def since_clause(field_name: str, cursor: datetime | None) -> str:
    """`` WHERE <field> >= <cursor>`` in SOQL, or nothing for a full sync."""
    if cursor is None:
        return ""
    return f" WHERE {field_name} >= {cursor.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"


RecordsApply = Callable[[list[dict[str, Any]]], int]
"""Applies records read from Salesforce to the mirror (in its own transaction); returns how many
mirrored rows changed."""

ID_BATCH = 200


def reconcile_changed_records(
    sobject: str,
    fields: Sequence[str],
    apply: RecordsApply,
    *,
    gateway: SalesforceGateway | None = None,
    record_ids: Sequence[str] | None = None,
    full: bool = False,
    modstamp_field: str = "SystemModstamp",
) -> SyncReport:
    """Read ``sobject`` records changed since the object's cursor (or the given ``record_ids``,
    after a Change Data Capture gap; or all, ``full``) and hand them to ``apply``.

    The periodic run (no ``record_ids``) keeps its place in :class:`SalesforceSyncCursor`, moved
    on only after ``apply`` committed, so a failed run is read again. Every Salesforce call
    happens before ``apply`` opens its transaction. The names in the SOQL come from the field
    map; IDs go through ``soql_literal``.
    """
    gateway = gateway or get_gateway()
    selected = ", ".join(dict.fromkeys(["Id", *fields, modstamp_field]))
    records: list[dict[str, Any]] = []
    if record_ids is not None:
        ids = [record_id for record_id in dict.fromkeys(record_ids) if is_salesforce_id(record_id)]
        for start in range(0, len(ids), ID_BATCH):
            literals = ", ".join(soql_literal(record_id) for record_id in ids[start : start + ID_BATCH])
            records += gateway.query(f"SELECT {selected} FROM {sobject} WHERE Id IN ({literals})")  # noqa: S608
    else:
        cursor = None if full else SalesforceSyncCursor.objects.filter(sobject=sobject).first()
        since = since_clause(modstamp_field, cursor.modstamp if cursor else None)
        records = gateway.query(f"SELECT {selected} FROM {sobject}{since} ORDER BY {modstamp_field}")  # noqa: S608
    report = SyncReport(fetched=len(records))
    report.updated = apply(records) if records else 0
    if record_ids is None:
        stamps = [
            stamp for stamp in (parse_salesforce_datetime(r.get(modstamp_field)) for r in records) if stamp
        ]
        cursor_row, _ = SalesforceSyncCursor.objects.get_or_create(sobject=sobject)
        if stamps and (cursor_row.modstamp is None or max(stamps) > cursor_row.modstamp):
            cursor_row.modstamp = max(stamps)
        cursor_row.last_run_at = timezone.now()
        cursor_row.records_read += len(records)
        cursor_row.save()
    logger.info(
        "%s reconciliation: %s read, %s mirrored rows changed", sobject, report.fetched, report.updated
    )
    return report
