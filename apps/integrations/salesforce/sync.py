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

from apps.integrations.models import OutboxEntry, SalesforceSyncCursor
from apps.integrations.outbox import account_record_key
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
    account_field: str | None = None,
) -> SyncReport:
    """Read ``sobject`` records changed since the object's cursor (or the given ``record_ids``,
    after a Change Data Capture gap; or all, ``full``) and hand them to ``apply``.

    The periodic run (no ``record_ids``) keeps its place in :class:`SalesforceSyncCursor`, moved
    on only after ``apply`` committed, so a failed run is read again. With ``account_field``, a
    record whose customer's Account still has an undelivered outbox entry is held back: the
    portal's change is newer than what Salesforce returned, and applying the older value would
    undo it (the portal's own write comes back as a change event the subscriber drops). The
    cursor then stays at the earliest held record, so the next run reads it again. Every
    Salesforce call happens before ``apply`` opens its transaction. The names in the SOQL come
    from the field map; IDs go through ``soql_literal``.
    """
    gateway = gateway or get_gateway()
    extra = [account_field] if account_field else []
    selected = ", ".join(dict.fromkeys(["Id", *fields, modstamp_field, *extra]))
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
    owed: set[str] = set()
    if account_field:
        owed = owed_account_ids({str(record.get(account_field) or "") for record in records} - {""})
    held = [record for record in records if account_field and record.get(account_field) in owed]
    applied = [record for record in records if not (account_field and record.get(account_field) in owed)]
    report.updated = apply(applied) if applied else 0
    report.unknown = [str(record["Id"]) for record in held]
    if record_ids is None:
        stamps = _stamps(records, modstamp_field)
        held_stamps = _stamps(held, modstamp_field)
        newest = min(held_stamps) if held_stamps else max(stamps, default=None)
        cursor_row, _ = SalesforceSyncCursor.objects.get_or_create(sobject=sobject)
        if newest and (cursor_row.modstamp is None or newest > cursor_row.modstamp):
            cursor_row.modstamp = newest
        cursor_row.last_run_at = timezone.now()
        cursor_row.records_read += len(records)
        cursor_row.save()
    logger.info(
        "%s reconciliation: %s read, %s mirrored rows changed, %s held for the outbox",
        sobject,
        report.fetched,
        report.updated,
        len(held),
    )
    return report


def _stamps(records: Sequence[dict[str, Any]], modstamp_field: str) -> list[datetime]:
    return [stamp for stamp in (parse_salesforce_datetime(r.get(modstamp_field)) for r in records) if stamp]


def owed_account_ids(account_ids: set[str]) -> set[str]:
    """The Accounts among ``account_ids`` with changes the portal has not delivered to Salesforce yet."""
    if not account_ids:
        return set()
    keys = OutboxEntry.objects.filter(
        record_key__in=[account_record_key(account_id) for account_id in account_ids],
        status__in=[OutboxEntry.Status.PENDING, OutboxEntry.Status.IN_PROGRESS],
    ).values_list("record_key", flat=True)
    return {key.removeprefix("Account:") for key in keys}
