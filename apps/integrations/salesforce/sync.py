"""What the reconciliation jobs that pull changes from Salesforce into the mirror share.

The jobs themselves live with the records they mirror (``apps.catalog.sync``,
``apps.accounts.sync``, ``apps.opportunities.case_comment_sync``, the Opportunity, Order and Case
mirrors) and read through the gateway (``products_modified_since``, ``accounts_modified_since``,
``records_modified_since`` ...). All are incremental on ``SystemModstamp``, inclusive (``>=``)
with idempotent upserts, so records sharing the cursor's timestamp are never skipped. The older
jobs take their cursor from the newest ``salesforce_modified_at`` already mirrored; the change
event mirrors keep theirs in ``SalesforceSyncCursor`` (:func:`reconcile_changed_records`). All
Salesforce calls happen before the DB transaction opens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from apps.integrations.models import SalesforceSyncCursor
from apps.integrations.outbox import accounts_owed_changes
from apps.integrations.salesforce.field_map import get_field_map, parse_salesforce_datetime
from apps.integrations.salesforce.gateway import SalesforceGateway, get_gateway

logger = logging.getLogger(__name__)


@dataclass
class SyncReport:
    fetched: int = 0
    created: int = 0
    updated: int = 0
    unknown: list[str] = field(default_factory=list)


RecordsApply = Callable[[list[dict[str, Any]]], int]
"""Applies records read from Salesforce to the mirror (in its own transaction); returns how many
mirrored rows changed."""


def reconcile_changed_records(
    sobject: str,
    attributes: Sequence[str],
    apply: RecordsApply,
    *,
    gateway: SalesforceGateway | None = None,
    record_ids: Sequence[str] | None = None,
    full: bool = False,
) -> SyncReport:
    """Read ``sobject`` records changed since the object's cursor (or the given ``record_ids``,
    after a Change Data Capture gap; or all, ``full``) and hand them to ``apply``: the fields of
    the field map's ``attributes``, with the record's ``SystemModstamp`` and Account.

    The periodic run (no ``record_ids``) keeps its place in :class:`SalesforceSyncCursor`, moved
    on only after ``apply`` committed, so a failed run is read again. A record whose customer's
    Account still has an undelivered outbox entry is held back: the
    portal's change is newer than what Salesforce returned, and applying the older value would
    undo it (the portal's own write comes back as a change event the subscriber drops). The
    cursor then stays at the earliest held record, so the next run reads it again. Every
    Salesforce call happens before ``apply`` opens its transaction.
    """
    gateway = gateway or get_gateway()
    field_map = get_field_map()
    modstamp_field = field_map.field(sobject, "modified_at")
    account_field = field_map.field(sobject, "account_id")
    selected = list(dict.fromkeys([*field_map.fields(sobject, *attributes), modstamp_field, account_field]))
    if record_ids is not None:
        records = gateway.records_by_ids(sobject, selected, record_ids)
    else:
        cursor = None if full else SalesforceSyncCursor.objects.filter(sobject=sobject).first()
        records = gateway.records_modified_since(
            sobject, selected, cursor.modstamp if cursor else None, modstamp_field=modstamp_field
        )
    report = SyncReport(fetched=len(records))
    owed = accounts_owed_changes({str(record.get(account_field) or "") for record in records} - {""})
    held = [record for record in records if record.get(account_field) in owed]
    applied = [record for record in records if record.get(account_field) not in owed]
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
