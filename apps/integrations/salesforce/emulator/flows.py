"""The org's record-triggered flows, as the emulator runs them after each committed record change.

Two flows matter to the portal (seeds 000 "Platform Event Configuration" and 004 "Order Approval
Flow"):

- *Portal - Publish Account Status Update*: when an Account's ``internet_eligibility_status`` or
  ``id_verification_status`` changes, publish ``Account_Internet_Eligibility_Update__e`` with the
  Account's eligibility and verification fields. Each status field is set only when it changed
  (the flow's ``ISCHANGED()`` rule), so the portal never re-notifies for an unchanged status.
- *Order Approval Flow*: when an Order's status changes to Approved, or its activation status
  changes to Activating (an agent's retry), set the activation status to Activating, clear the
  activation error fields, and publish ``OrderProvisionRequested__e``.

Names come from the portal's field map, so the emulated org matches whatever org the portal is
configured for (``SF_FIELD_MAP_OVERRIDES``).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, Protocol

from django.conf import settings

from apps.integrations.salesforce.emulator.eventbus import EventBus
from apps.integrations.salesforce.field_map import FieldMap, get_field_map

logger = logging.getLogger(__name__)

RecordListener = Callable[[str, str, dict[str, Any] | None, dict[str, Any]], None]

# Account attributes whose change triggers the account flow and which are sent only when changed.
ACCOUNT_STATUS_ATTRIBUTES = ("internet_eligibility_status", "id_verification_status")
EVENT_SCHEMA_VERSION = 1.0


class RecordStore(Protocol):
    """What the flows need from the REST emulator's record store."""

    def add_listener(self, callback: RecordListener) -> None: ...

    def update_record(self, sobject: str, record_id: str, fields: Mapping[str, Any]) -> Any: ...


class RecordTriggeredFlows:
    """A store listener: ``(sobject, record_id, before, after)`` after each committed create/update."""

    def __init__(
        self,
        store: RecordStore,
        bus: EventBus,
        *,
        account_topic: str | None = None,
        order_topic: str | None = None,
        field_map: FieldMap | None = None,
        running_user_id: str = "005000000000001AAA",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.bus = bus
        self.account_topic = account_topic or settings.SALESFORCE["ACCOUNT_EVENT_CHANNEL"]
        self.order_topic = order_topic or settings.SALESFORCE["ORDER_PROVISION_EVENT_CHANNEL"]
        self.fields = field_map or get_field_map()
        self.running_user_id = running_user_id
        self.clock = clock
        self._local = threading.local()

    def __call__(
        self, sobject: str, record_id: str, before: dict[str, Any] | None, after: dict[str, Any]
    ) -> None:
        # Both flows trigger on update only, and a flow's own update never re-triggers it.
        if before is None or (sobject, record_id) in self._running():
            return
        if sobject == "Account":
            self._account_status_update(record_id, before, after)
        elif sobject == "Order":
            self._order_approval(record_id, before, after)

    # --- Flows --------------------------------------------------------------------------------

    def _account_status_update(self, record_id: str, before: dict[str, Any], after: dict[str, Any]) -> None:
        fm = self.fields
        changed = {
            attribute
            for attribute in ACCOUNT_STATUS_ATTRIBUTES
            if _changed(before, after, fm.field("Account", attribute))
        }
        if not changed:
            return
        event_object = _event_object(self.account_topic)
        payload: dict[str, Any] = {}
        for attribute, event_field in fm.attributes(event_object).items():
            if attribute == "account_id":
                payload[event_field] = record_id
            elif attribute in ACCOUNT_STATUS_ATTRIBUTES and attribute not in changed:
                payload[event_field] = None
            else:
                payload[event_field] = after.get(fm.field("Account", attribute))
        self._publish(self.account_topic, payload)

    def _order_approval(self, record_id: str, before: dict[str, Any], after: dict[str, Any]) -> None:
        fm = self.fields
        status, activation_status = fm.fields("Order", "status", "activation_status")
        approved = fm.to_salesforce("Order", "status", "approved")
        activating = fm.to_salesforce("Order", "activation_status", "activating")
        approved_now = _changed(before, after, status) and after.get(status) == approved
        retried_now = (
            _changed(before, after, activation_status) and after.get(activation_status) == activating
        )
        if not (approved_now or retried_now):
            return
        update = {
            activation_status: activating,
            **{
                fm.field("Order", attribute): None
                for attribute in ("activation_error_code", "activation_error_message", "activation_error_at")
            },
        }
        with self._running_on("Order", record_id):
            self.store.update_record("Order", record_id, update)
        now = self.clock()
        event = fm.attributes(_event_object(self.order_topic))
        self._publish(
            self.order_topic,
            {
                event["order_id"]: record_id,
                event["idempotency_key"]: f"{record_id}-{now.strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}Z",
                event["correlation_id"]: str(uuid.uuid4()),
                event["requested_by"]: after.get("LastModifiedById") or self.running_user_id,
                event["version"]: EVENT_SCHEMA_VERSION,
            },
        )

    # --- Helpers ------------------------------------------------------------------------------

    def _publish(self, topic: str, payload: dict[str, Any]) -> None:
        schema = self.bus.topic(topic).schema_json
        replay_id = self.bus.publish(topic, _coerce_to_schema(schema, payload))
        logger.info("Flow published %s (replay ID %s)", topic, replay_id.hex())

    def _running(self) -> set[tuple[str, str]]:
        running: set[tuple[str, str]] | None = getattr(self._local, "running", None)
        if running is None:
            running = self._local.running = set()
        return running

    @contextmanager
    def _running_on(self, sobject: str, record_id: str) -> Iterator[None]:
        key = (sobject, record_id)
        self._running().add(key)
        try:
            yield
        finally:
            self._running().discard(key)


def install_flows(store: RecordStore, bus: EventBus, **options: Any) -> RecordTriggeredFlows:
    """Register the org's record-triggered flows as a listener of ``store``."""
    flows = RecordTriggeredFlows(store, bus, **options)
    store.add_listener(flows)
    return flows


def _changed(before: Mapping[str, Any], after: Mapping[str, Any], field: str) -> bool:
    return before.get(field) != after.get(field)


def _event_object(topic: str) -> str:
    """``/event/Name__e`` -> ``Name__e``, the key of the event in the field map."""
    return topic.rsplit("/", 1)[-1]


def _coerce_to_schema(schema_json: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Convert record values to the event's Avro types: DateTime fields travel as epoch ms."""
    types: dict[str, set[str]] = {}
    for schema_field in json.loads(schema_json)["fields"]:
        declared = schema_field["type"]
        types[schema_field["name"]] = set(declared) if isinstance(declared, list) else {declared}
    record: dict[str, Any] = {}
    for name, value in payload.items():
        if value is None or name not in types:
            record[name] = value
        elif "long" in types[name]:
            record[name] = _epoch_millis(value)
        elif "double" in types[name]:
            record[name] = float(value)
        elif "string" in types[name]:
            record[name] = str(value)
        else:
            record[name] = value
    return record


def _epoch_millis(value: Any) -> int:
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp() * 1000)
    if isinstance(value, date):
        return int(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp() * 1000)
    raise TypeError(f"Cannot convert {value!r} to epoch milliseconds")
