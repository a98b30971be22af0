"""Platform event handlers of the accounts app (found by ``autodiscover_handlers``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from apps.accounts.status_events import account_status_event_apply
from apps.integrations.salesforce.events import event_handler
from apps.integrations.salesforce.pubsub.subscriber import DecodedEvent


@event_handler(settings.SALESFORCE["ACCOUNT_EVENT_CHANNEL"])
def account_status_updated(payload: dict[str, Any], event: DecodedEvent) -> None:
    """``Account_Internet_Eligibility_Update__e``: mirror the statuses, notify final decisions."""
    account_status_event_apply(payload=payload, topic=event.topic)
