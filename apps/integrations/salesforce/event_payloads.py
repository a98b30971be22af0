"""Platform event payloads in the portal's names: the wire format of the events the portal
subscribes to, read here so the handlers in the domain apps see portal attributes only.

A decoded payload carries the event's fields by API name (``AccountId__c``); the field map names
them per event object (the topic's last part, ``/event/Name__e`` -> ``Name__e``). DateTime fields
travel as epoch milliseconds (Avro ``long``); ``CreatedDate`` is the time the event was published.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .field_map import get_field_map, parse_salesforce_datetime

DATETIME_ATTRIBUTES: dict[str, frozenset[str]] = {
    "Account_Internet_Eligibility_Update__e": frozenset(
        {"internet_eligibility_requested_at", "internet_eligibility_checked_at"}
    ),
}
"""The DateTime fields of each event, by portal attribute: read as aware datetimes."""


def event_object(topic: str) -> str:
    """``/event/Name__e`` -> ``Name__e``, the event's key in the field map."""
    return topic.rsplit("/", 1)[-1]


def event_datetime(value: Any) -> datetime | None:
    """A platform event DateTime (epoch milliseconds, or a REST datetime); None when absent or
    unreadable."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    try:
        return parse_salesforce_datetime(value)
    except (TypeError, ValueError):
        return None


def event_values(payload: Mapping[str, Any], topic: str) -> dict[str, Any]:
    """Portal attribute -> value for the event's fields present in ``payload`` (a field the event
    leaves out stays out: "not changed" differs from "cleared"), DateTime fields parsed, plus
    ``created_at`` (the event's ``CreatedDate``). Picklist values are returned as sent."""
    name = event_object(topic)
    values = {
        attribute: payload[api_name]
        for attribute, api_name in get_field_map().attributes(name).items()
        if api_name in payload
    }
    for attribute in DATETIME_ATTRIBUTES.get(name, frozenset()) & values.keys():
        values[attribute] = event_datetime(values[attribute])
    values["created_at"] = event_datetime(payload.get("CreatedDate"))
    return values
