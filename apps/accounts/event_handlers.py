"""Platform event handlers of the accounts app (found by ``autodiscover_handlers``)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction

from apps.accounts.status_events import account_status_events_apply
from apps.accounts.sync import account_records_apply
from apps.integrations.salesforce.change_events import ChangeEvent, change_event_handler, change_gap_handler
from apps.integrations.salesforce.events import batch_event_handler
from apps.integrations.salesforce.field_map import get_field_map
from apps.integrations.salesforce.pubsub.subscriber import DecodedEvent


@batch_event_handler(settings.SALESFORCE["ACCOUNT_EVENT_CHANNEL"])
def account_status_updated(events: Sequence[DecodedEvent]) -> None:
    """``Account_Internet_Eligibility_Update__e``: mirror the statuses, notify final decisions.
    Handled per fetched batch: decisions arrive in bursts when agents work a queue."""
    if events:
        account_status_events_apply(payloads=[event.payload for event in events], topic=events[0].topic)


@change_event_handler("Account")
def accounts_changed(events: Sequence[ChangeEvent]) -> None:
    """An Account changed in Salesforce: mirror its status fields onto the customer's profile.
    The decisions' notifications come with ``Account_Internet_Eligibility_Update__e`` (above),
    which the org's flow publishes for every status change; they are keyed on the decision, so
    the order in which the two arrive does not matter."""
    account_records_apply([record for event in events for record in _stamped(event)])


@change_gap_handler("Account")
def accounts_gap(record_ids: Sequence[str] | None) -> None:
    from apps.accounts.tasks import reconcile_account_statuses_task

    ids = list(record_ids) if record_ids is not None else None
    transaction.on_commit(partial(reconcile_account_statuses_task.delay, ids))


def _stamped(event: ChangeEvent) -> list[dict[str, Any]]:
    """The event's records with the commit time standing in for ``SystemModstamp``."""
    modstamp = get_field_map().field("Account", "modified_at")
    stamp = event.header.commit_timestamp
    return [{**record, modstamp: stamp} if stamp else record for record in event.records()]
