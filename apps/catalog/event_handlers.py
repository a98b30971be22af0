"""Change Data Capture handlers of the catalog (found by ``autodiscover_handlers``).

A product or price changed in Salesforce runs the incremental catalog sync after the event
commits: it reads what changed since the newest mirrored product (``SystemModstamp``) with the
product's standard price, which a Product2 change event alone does not carry. One sync per
fetched batch, however many products it names; a gap or overflow needs nothing more.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from apps.integrations.salesforce.change_events import ChangeEvent, change_event_handler, change_gap_handler


def _sync_after_commit() -> None:
    from apps.catalog.tasks import sync_catalog_task

    transaction.on_commit(sync_catalog_task.delay)


@change_event_handler("Product2")
def products_changed(events: Sequence[ChangeEvent]) -> None:
    if events:
        _sync_after_commit()


@change_gap_handler("Product2")
def products_gap(record_ids: Sequence[str] | None) -> None:
    _sync_after_commit()
