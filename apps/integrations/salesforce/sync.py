"""Helpers of the reconciliation jobs that pull what changed in Salesforce into the mirror.

The jobs themselves live with the records they mirror (``apps.catalog.sync``,
``apps.accounts.sync``). Both are incremental on ``SystemModstamp``. The cursor is not stored
separately: it is the newest ``salesforce_modified_at`` already mirrored, so it can never
disagree with the data. The comparison is inclusive (``>=``) and the upserts idempotent, so
records sharing the cursor's timestamp are never skipped. All Salesforce calls happen before the
DB transaction opens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


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
