"""What the reconciliation jobs that pull changes from Salesforce into the mirror share.

The jobs themselves live with the records they mirror (``apps.catalog.sync``,
``apps.accounts.sync``, ``apps.opportunities.case_comment_sync``) and read through the gateway's
typed operations (``products_modified_since``, ``accounts_modified_since``,
``cases_modified_since``, ...). All are incremental on ``SystemModstamp``. The cursor is not
stored separately: it is the newest ``salesforce_modified_at`` already mirrored, so it can never
disagree with the data. The comparison is inclusive (``>=``) and the upserts idempotent, so
records sharing the cursor's timestamp are never skipped. All Salesforce calls happen before the
DB transaction opens.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SyncReport:
    fetched: int = 0
    created: int = 0
    updated: int = 0
    unknown: list[str] = field(default_factory=list)
