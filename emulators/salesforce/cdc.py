"""Change Data Capture: the emulated org publishes a change event for every committed record change.

What a Pub/Sub API subscriber receives, as the Change Data Capture developer guide describes it
("Change Event Header Fields", "Change Event Body Fields", "Gap Events", "Overflow Events"):

- one channel per selected object, ``/data/<Object>ChangeEvent``, and the standard channel
  ``/data/ChangeEvents`` carrying the changes of every selected object;
- an Avro record per change: a nested ``ChangeEventHeader`` (``entityName``, ``recordIds``,
  ``changeType``, ``changeOrigin``, ``transactionKey``, ``sequenceNumber``, ``commitTimestamp``,
  ``commitNumber``, ``commitUser``, ``nulledFields``, ``diffFields``, ``changedFields``) followed
  by the object's fields, all nullable. A CREATE carries every field that has a value, an UPDATE
  only the changed ones (plus ``LastModifiedDate``), a DELETE none;
- over the Pub/Sub API the three field lists are **bitmaps**: hex strings such as ``0x6004E0``
  whose bit *i* stands for field *i* of the record schema's field list;
- identical changes to several records in one transaction are merged into one event listing all
  their IDs;
- a change made outside the application server (a data fix) gives a ``GAP_<type>`` event with
  the header only: the subscriber must re-read the record. A transaction that changes more than
  ``overflow_threshold`` records of one object publishes events for the first ones and then one
  ``GAP_OVERFLOW`` event for that object: the subscriber must reconcile the object.

DateTime fields travel as ``long`` epoch milliseconds, Date fields as ``int`` days since the epoch
(``logicalType: date``), as the event schemas served by ``GetSchema`` declare them.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from .eventbus import EventBus
from .schema import CHANGE_EVENT_SUPPORTED, OBJECT_TYPES, Field, change_event_name
from .store import Change, SalesforceStore

logger = logging.getLogger(__name__)

ALL_CHANGES_CHANNEL = "/data/ChangeEvents"
DEFAULT_OVERFLOW_THRESHOLD = 100_000
CHANGE_TYPES = (
    "CREATE",
    "UPDATE",
    "DELETE",
    "UNDELETE",
    "GAP_CREATE",
    "GAP_UPDATE",
    "GAP_DELETE",
    "GAP_UNDELETE",
    "GAP_OVERFLOW",
)
# The system fields a change event body carries (SystemModstamp and IsDeleted are not in it).
BODY_SYSTEM_FIELDS = (
    Field("CreatedDate", "datetime"),
    Field("CreatedById", "reference"),
    Field("LastModifiedDate", "datetime"),
    Field("LastModifiedById", "reference"),
)
_NUMERIC = {"double": "double", "currency": "double", "percent": "double", "int": "int", "boolean": "boolean"}

HEADER_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "ChangeEventHeader",
    "namespace": "com.sforce.eventbus",
    "fields": [
        {"name": "entityName", "type": "string"},
        {"name": "recordIds", "type": {"type": "array", "items": "string"}},
        {
            "name": "changeType",
            "type": {"type": "enum", "name": "ChangeType", "namespace": "com.sforce.eventbus", "symbols": list(CHANGE_TYPES)},
        },
        {"name": "changeOrigin", "type": "string"},
        {"name": "transactionKey", "type": "string"},
        {"name": "sequenceNumber", "type": "int"},
        {"name": "commitTimestamp", "type": "long"},
        {"name": "commitNumber", "type": "long"},
        {"name": "commitUser", "type": "string"},
        {"name": "nulledFields", "type": {"type": "array", "items": "string"}},
        {"name": "diffFields", "type": {"type": "array", "items": "string"}},
        {"name": "changedFields", "type": {"type": "array", "items": "string"}},
    ],
}  # fmt: skip


def _avro_type(item: Field) -> Any:
    if item.type == "datetime":
        return "long"
    if item.type == "date":
        return {"type": "int", "logicalType": "date"}
    return _NUMERIC.get(item.type, "string")


def body_fields(entity: str) -> list[Field]:
    """The fields of ``entity``'s change event body, in schema order."""
    return [*BODY_SYSTEM_FIELDS, *OBJECT_TYPES[entity].declared]


def change_event_schema(entity: str) -> str:
    """The Avro schema (JSON) of ``/data/<entity>ChangeEvent``."""
    return json.dumps(
        {
            "type": "record",
            "name": change_event_name(entity),
            "namespace": "com.sforce.eventbus",
            "fields": [
                {"name": "ChangeEventHeader", "type": HEADER_SCHEMA},
                *(
                    {"name": item.name, "type": ["null", _avro_type(item)], "default": None}
                    for item in body_fields(entity)
                ),
            ],
        }
    )


def bitmap(positions: Sequence[int]) -> list[str]:
    """The Pub/Sub field-list bitmap: bit *i* set for field position *i*; empty for no fields."""
    if not positions:
        return []
    value = 0
    for position in positions:
        value |= 1 << position
    return [f"0x{value:X}"]


def _avro_value(item: Field, value: Any) -> Any:
    if value is None:
        return None
    if item.type == "datetime":
        parsed = (
            value
            if isinstance(value, datetime)
            else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        )
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return int(parsed.timestamp() * 1000)
    if item.type == "date":
        return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    kind = _NUMERIC.get(item.type)
    if kind == "double":
        return float(value)
    if kind == "int":
        return int(value)
    if kind == "boolean":
        return bool(value)
    return (
        value
        if isinstance(value, str)
        else json.dumps(value)
        if isinstance(value, dict | list)
        else str(value)
    )


class ChangeDataCapture:
    """A commit listener of the store that publishes the change events of each transaction."""

    def __init__(
        self,
        store: SalesforceStore,
        bus: EventBus,
        *,
        overflow_threshold: int = DEFAULT_OVERFLOW_THRESHOLD,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.bus = bus
        self.overflow_threshold = overflow_threshold
        self.clock = clock
        self._lock = threading.Lock()
        self._commit_number = int(clock() * 1000) * 1000
        entities = CHANGE_EVENT_SUPPORTED
        self._positions: dict[str, dict[str, int]] = {}
        for entity in entities:
            bus.register_topic(f"/data/{change_event_name(entity)}", change_event_schema(entity))
            self._positions[entity] = {item.name: index + 1 for index, item in enumerate(body_fields(entity))}
        # The standard channel carries every object's events, each with its own schema ID.
        bus.register_topic(ALL_CHANGES_CHANNEL, change_event_schema("Account"))

    def __call__(self, changes: Sequence[Change]) -> None:
        selected = set(self.store.change_event_entities())
        changes = [change for change in changes if change.sobject in selected]
        if not changes:
            return
        with self._lock:
            self._commit_number += 1
            commit_number = self._commit_number
        header = {
            "transactionKey": str(uuid.uuid4()),
            "commitTimestamp": int(self.clock() * 1000),
            "commitNumber": commit_number,
            "commitUser": str(changes[0].after.get("LastModifiedById") or self.store.user_id),
            "changeOrigin": changes[0].origin,
        }
        events = self._events(changes)
        for sequence, (entity, payload) in enumerate(events, start=1):
            payload["ChangeEventHeader"] = {
                **payload["ChangeEventHeader"],
                **header,
                "sequenceNumber": sequence,
            }
            self.publish(entity, payload)

    def publish(self, entity: str, payload: Mapping[str, Any]) -> None:
        for topic in (f"/data/{change_event_name(entity)}", ALL_CHANGES_CHANNEL):
            self.bus.publish(topic, payload, schema_json=change_event_schema(entity))

    def _events(self, changes: Sequence[Change]) -> list[tuple[str, dict[str, Any]]]:
        """The events of one transaction in order, identical changes merged, overflow applied."""
        merged: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        counts: dict[str, int] = {}
        overflowed: set[str] = set()
        ordered: list[tuple[str, str]] = []
        for change in changes:
            counts[change.sobject] = counts.get(change.sobject, 0) + 1
            if counts[change.sobject] > self.overflow_threshold:
                if change.sobject not in overflowed:
                    overflowed.add(change.sobject)
                    key = (change.sobject, "GAP_OVERFLOW")
                    ordered.append(key)
                    merged[key] = (change.sobject, self._header_only(change.sobject, "GAP_OVERFLOW", []))
                continue
            entity, payload = self._event(change)
            if change.gap:
                key = (entity, f"{change.kind}:{change.record_id}")
            else:
                key = (entity, json.dumps({k: v for k, v in payload.items() if k != "ChangeEventHeader"}, sort_keys=True, default=str)
                       + payload["ChangeEventHeader"]["changeType"] + ",".join(payload["ChangeEventHeader"]["changedFields"]))  # fmt: skip
                if payload["ChangeEventHeader"]["changeType"] == "CREATE":
                    key = (entity, f"CREATE:{change.record_id}")
            if key in merged:
                merged[key][1]["ChangeEventHeader"]["recordIds"].append(change.record_id)
            else:
                ordered.append(key)
                merged[key] = (entity, payload)
        return [merged[key] for key in ordered]

    def _header_only(self, entity: str, change_type: str, record_ids: list[str]) -> dict[str, Any]:
        return {
            "ChangeEventHeader": {
                "entityName": entity,
                "recordIds": record_ids,
                "changeType": change_type,
                "nulledFields": [],
                "diffFields": [],
                "changedFields": [],
            }
        }

    def _event(self, change: Change) -> tuple[str, dict[str, Any]]:
        entity = change.sobject
        if change.gap:
            return entity, self._header_only(entity, f"GAP_{change.kind}", [change.record_id])
        if change.kind == "DELETE":
            return entity, self._header_only(entity, "DELETE", [change.record_id])
        positions = self._positions[entity]
        payload = self._header_only(entity, change.kind, [change.record_id])
        changed: list[int] = []
        nulled: list[int] = []
        for item in body_fields(entity):
            value = change.after.get(item.name)
            if change.kind == "UPDATE":
                assert change.before is not None
                if change.before.get(item.name) == value and item.name != "LastModifiedDate":
                    continue
                changed.append(positions[item.name])
                if value is None:
                    nulled.append(positions[item.name])
            elif value is None:
                continue
            payload[item.name] = _avro_value(item, value)
        header = payload["ChangeEventHeader"]
        header["changedFields"] = bitmap(changed)
        header["nulledFields"] = bitmap(nulled)
        return entity, payload


def install_change_data_capture(store: SalesforceStore, bus: EventBus, **options: Any) -> ChangeDataCapture:
    """Publish Change Data Capture events for every committed change of ``store`` on ``bus``."""
    cdc = ChangeDataCapture(store, bus, **options)
    store.add_commit_listener(cdc)
    return cdc
