"""Platform event handlers of the checkout app (found by ``autodiscover_handlers``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from apps.checkout.fulfillment import fulfillment_request
from apps.integrations.salesforce.events import event_handler
from apps.integrations.salesforce.pubsub.subscriber import DecodedEvent


@event_handler(settings.SALESFORCE["ORDER_PROVISION_EVENT_CHANNEL"])
def order_provision_requested(payload: dict[str, Any], event: DecodedEvent) -> None:
    """``OrderProvisionRequested__e``: record the request on the order's fulfillment run and queue
    the fulfillment task after commit. No network call here: the task does the work."""
    fulfillment_request(payload=payload, event_id=event.event_id, topic=event.topic)
