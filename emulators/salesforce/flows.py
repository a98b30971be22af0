"""The org's record-triggered flows, as the emulator runs them after each committed record change.

Two flows matter to the portal (README "Pointing the portal at real Salesforce" names the
requirements document that defines them):

- *Portal - Publish Account Status Update*: when an Account's ``Internet_Eligibility_Status__c``
  or ``Id_Verification_Status__c`` changes, publish ``Account_Internet_Eligibility_Update__e``
  with the Account's eligibility and verification fields. Each status field is set only when it
  changed (the flow's ``ISCHANGED()`` rule), so the portal never re-notifies for an unchanged
  status.
- *Order Approval Flow*: when an Order's ``Status`` changes to Approved, or its
  ``Activation_Status__c`` changes to Activating (an agent's retry), set the activation status to
  Activating, clear the activation error fields, and publish ``OrderProvisionRequested__e``.

Like the flows of a real org they are written against the org's own field names (its schema,
``schema.py``), not against any client's configuration; the event channels are constructor
arguments.
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

from .eventbus import EventBus

logger = logging.getLogger(__name__)

RecordListener = Callable[[str, str, dict[str, Any] | None, dict[str, Any]], None]

ACCOUNT_EVENT_CHANNEL = "/event/Account_Internet_Eligibility_Update__e"
ORDER_PROVISION_EVENT_CHANNEL = "/event/OrderProvisionRequested__e"

# Account status fields whose change triggers the account flow; each is sent only when it changed.
ACCOUNT_STATUS_FIELDS = ("Internet_Eligibility_Status__c", "Id_Verification_Status__c")
# Account_Internet_Eligibility_Update__e field -> the Account field the flow copies into it.
ACCOUNT_EVENT_FIELDS = {
    "Internet_Eligibility__c": "Internet_Eligibility__c",
    "Internet_Eligibility_Status__c": "Internet_Eligibility_Status__c",
    "Internet_Eligibility_Request_Date_Time__c": "Internet_Eligibility_Request_Date_Time__c",
    "Internet_Eligibility_Checked_Date_Time__c": "Internet_Eligibility_Checked_Date_Time__c",
    "Internet_Eligibility_Notes__c": "Internet_Eligibility_Notes__c",
    "Internet_Eligibility_Case_Id__c": "Internet_Eligibility_Case_Id__c",
    "Id_Verification_Status__c": "Id_Verification_Status__c",
    "Id_Verification_Rejection_Message__c": "Id_Verification_Rejection_Message__c",
}
ORDER_APPROVED = "Approved"
ACTIVATING = "Activating"
ORDER_ERROR_FIELDS = (
    "Activation_Error_Code__c",
    "Activation_Error_Message__c",
    "Activation_Error_DateTime__c",
)
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
        account_topic: str = ACCOUNT_EVENT_CHANNEL,
        order_topic: str = ORDER_PROVISION_EVENT_CHANNEL,
        running_user_id: str = "005000000000001AAA",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.bus = bus
        self.account_topic = account_topic
        self.order_topic = order_topic
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
        changed = {name for name in ACCOUNT_STATUS_FIELDS if _changed(before, after, name)}
        if not changed:
            return
        payload: dict[str, Any] = {"AccountId__c": record_id}
        for event_field, account_field in ACCOUNT_EVENT_FIELDS.items():
            unchanged_status = account_field in ACCOUNT_STATUS_FIELDS and account_field not in changed
            payload[event_field] = None if unchanged_status else after.get(account_field)
        self._publish(self.account_topic, payload)

    def _order_approval(self, record_id: str, before: dict[str, Any], after: dict[str, Any]) -> None:
        approved_now = _changed(before, after, "Status") and after.get("Status") == ORDER_APPROVED
        retried_now = (
            _changed(before, after, "Activation_Status__c")
            and after.get("Activation_Status__c") == ACTIVATING
        )
        if not (approved_now or retried_now):
            return
        update = {"Activation_Status__c": ACTIVATING, **dict.fromkeys(ORDER_ERROR_FIELDS)}
        with self._running_on("Order", record_id):
            self.store.update_record("Order", record_id, update)
        now = self.clock()
        self._publish(
            self.order_topic,
            {
                "OrderId__c": record_id,
                "IdemKey__c": f"{record_id}-{now.strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}Z",
                "CorrelationId__c": str(uuid.uuid4()),
                "RequestedBy__c": after.get("LastModifiedById") or self.running_user_id,
                "Version__c": EVENT_SCHEMA_VERSION,
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
