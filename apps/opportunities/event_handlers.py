"""Change Data Capture handlers of the opportunities app (found by ``autodiscover_handlers``):
Opportunities and Cases an agent changed in Salesforce, applied through ``mirror``'s services
inside the event's transaction; gaps re-read after commit."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from django.db import transaction

from apps.integrations.salesforce.change_events import ChangeEvent, change_event_handler, change_gap_handler
from apps.opportunities.mirror import case_records_apply, opportunity_records_apply


@change_event_handler("Opportunity")
def opportunities_changed(events: Sequence[ChangeEvent]) -> None:
    for event in events:
        opportunity_records_apply(event.records(), modified_at=event.header.commit_timestamp)


@change_gap_handler("Opportunity")
def opportunities_gap(record_ids: Sequence[str] | None) -> None:
    from apps.opportunities.tasks import reconcile_opportunities_task

    ids = list(record_ids) if record_ids is not None else None
    transaction.on_commit(partial(reconcile_opportunities_task.delay, ids))


@change_event_handler("Case")
def cases_changed(events: Sequence[ChangeEvent]) -> None:
    for event in events:
        case_records_apply(event.records(), modified_at=event.header.commit_timestamp)


@change_gap_handler("Case")
def cases_gap(record_ids: Sequence[str] | None) -> None:
    from apps.opportunities.tasks import reconcile_cases_task

    ids = list(record_ids) if record_ids is not None else None
    transaction.on_commit(partial(reconcile_cases_task.delay, ids))
