"""Platform event and change event handlers of the checkout app (found by ``autodiscover_handlers``)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction

from apps.checkout.fulfillment import fulfillment_request
from apps.checkout.mirror import order_records_apply
from apps.integrations.salesforce.change_events import ChangeEvent, change_event_handler, change_gap_handler
from apps.integrations.salesforce.events import event_handler
from apps.integrations.salesforce.pubsub.subscriber import DecodedEvent


@event_handler(settings.SALESFORCE["ORDER_PROVISION_EVENT_CHANNEL"])
def order_provision_requested(payload: dict[str, Any], event: DecodedEvent) -> None:
    """``OrderProvisionRequested__e``: record the request on the order's fulfillment run and queue
    the fulfillment task after commit. No network call here: the task does the work."""
    fulfillment_request(payload=payload, event_id=event.event_id, topic=event.topic)


@change_event_handler("Order")
def orders_changed(events: Sequence[ChangeEvent]) -> None:
    """An Order changed in Salesforce (an agent cancelled it, say): mirror its status."""
    for event in events:
        order_records_apply(event.records(), modified_at=event.header.commit_timestamp)


@change_gap_handler("Order")
def orders_gap(record_ids: Sequence[str] | None) -> None:
    from apps.checkout.tasks import reconcile_orders_task

    ids = list(record_ids) if record_ids is not None else None
    transaction.on_commit(partial(reconcile_orders_task.delay, ids))
