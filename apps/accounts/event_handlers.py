"""Platform event handlers of the accounts app (found by ``autodiscover_handlers``)."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from apps.accounts.status_events import account_status_events_apply
from apps.integrations.salesforce.events import batch_event_handler
from apps.integrations.salesforce.pubsub.subscriber import DecodedEvent


@batch_event_handler(settings.SALESFORCE["ACCOUNT_EVENT_CHANNEL"])
def account_status_updated(events: Sequence[DecodedEvent]) -> None:
    """``Account_Internet_Eligibility_Update__e``: mirror the statuses, notify final decisions.
    Handled per fetched batch: decisions arrive in bursts when agents work a queue."""
    if events:
        account_status_events_apply(payloads=[event.payload for event in events], topic=events[0].topic)
