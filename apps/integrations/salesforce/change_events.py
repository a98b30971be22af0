"""Change Data Capture events received over the Pub/Sub API, decoded and handed to the domain apps.

Salesforce publishes a change event for every committed change of an object selected for Change
Data Capture, on ``/data/<Object>ChangeEvent`` and on the standard channel ``/data/ChangeEvents``
(the channels the subscriber follows are ``settings.SALESFORCE["CHANGE_EVENT_CHANNELS"]``). Each
event is an Avro record: a ``ChangeEventHeader`` and the object's fields, all nullable. Over the
Pub/Sub API the header's ``changedFields``/``nulledFields``/``diffFields`` are **bitmaps** (hex
strings whose bit *i* stands for field *i* of the event schema), decoded here into field names.
See the Change Data Capture developer guide, "Change Event Header Fields" and "Gap Events".

What this module does, and no more (STYLE.md rule 8: the listener holds no business logic):

- decode each event into a :class:`ChangeEvent`: its header and the values it carries, in the
  shapes the REST API returns (DateTime ``2026-12-06T10:00:00.000+0000``, Date ``2026-12-06``),
  so a domain app can apply an event with the same code as a record its reconciliation read;
- drop the portal's own changes (echo suppression): the gateway sends
  ``Sforce-Call-Options: client=<CLIENT_NAME>`` and Salesforce reports it in ``changeOrigin``.
  The portal mirrored those changes when it made them (write-through), and applying them again
  could undo a newer local change still on its way;
- dispatch, per object, to the handlers the owning app registered in its ``event_handlers``
  module with :func:`change_event_handler`, in the order received; ``GAP_*`` events (a change
  Salesforce cannot describe) and ``GAP_OVERFLOW`` (too many changes in one transaction) go to
  the app's :func:`change_gap_handler`, which must re-read the records (or, for an overflow, the
  whole object) after commit: no network call inside the event's transaction.

It runs inside :func:`apps.integrations.salesforce.events.process_events`, so an event's work and
its replay ID commit together (exactly once in effect).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from apps.integrations.salesforce.gateway import CLIENT_NAME
from apps.integrations.salesforce.pubsub.subscriber import DecodedEvent

logger = logging.getLogger(__name__)

HEADER_FIELD = "ChangeEventHeader"
GAP_PREFIX = "GAP_"
GAP_OVERFLOW = "GAP_OVERFLOW"


@dataclass(frozen=True)
class ChangeEventHeader:
    entity_name: str
    record_ids: tuple[str, ...]
    change_type: str
    changed_fields: tuple[str, ...] = ()
    nulled_fields: tuple[str, ...] = ()
    diff_fields: tuple[str, ...] = ()
    change_origin: str = ""
    transaction_key: str = ""
    sequence_number: int = 0
    commit_timestamp: datetime | None = None
    commit_number: int = 0
    commit_user: str = ""

    @property
    def is_gap(self) -> bool:
        """A ``GAP_*`` event (``GAP_OVERFLOW`` included): the records must be read again."""
        return self.change_type.startswith(GAP_PREFIX)

    @property
    def is_overflow(self) -> bool:
        return self.change_type == GAP_OVERFLOW


@dataclass(frozen=True)
class ChangeEvent:
    """One decoded change event: the header, and the field values it carries (a CREATE every
    field with a value, an UPDATE the changed ones, nulled fields as None; none for DELETE and
    gap events), keyed by Salesforce field name in REST shapes."""

    header: ChangeEventHeader
    values: dict[str, Any] = field(default_factory=dict)
    replay_id: bytes = b""

    def records(self) -> list[dict[str, Any]]:
        """The event as partial records, one per ID: ``{"Id": ..., **values}``."""
        return [{"Id": record_id, **self.values} for record_id in self.header.record_ids]


ChangeHandler = Callable[[Sequence[ChangeEvent]], None]
GapHandler = Callable[[Sequence[str] | None], None]
"""Called with the record IDs to read again, or None to reconcile the whole object (overflow)."""


class ChangeHandlers:
    """Per object (``Opportunity``): the handlers of its changes and of its gaps."""

    def __init__(self) -> None:
        self._changes: dict[str, list[ChangeHandler]] = defaultdict(list)
        self._gaps: dict[str, list[GapHandler]] = defaultdict(list)
        self._lock = threading.Lock()

    def register(self, entity: str, handler: ChangeHandler) -> None:
        with self._lock:
            if handler not in self._changes[entity]:
                self._changes[entity].append(handler)

    def register_gap(self, entity: str, handler: GapHandler) -> None:
        with self._lock:
            if handler not in self._gaps[entity]:
                self._gaps[entity].append(handler)

    def gap_entities(self) -> list[str]:
        with self._lock:
            return [entity for entity, handlers in self._gaps.items() if handlers]

    def change_handlers(self, entity: str) -> list[ChangeHandler]:
        with self._lock:
            return list(self._changes.get(entity, []))

    def gap_handlers(self, entity: str) -> list[GapHandler]:
        with self._lock:
            return list(self._gaps.get(entity, []))


change_handlers = ChangeHandlers()


def change_event_handler(entity: str) -> Callable[[ChangeHandler], ChangeHandler]:
    """Register the decorated function for the change events of ``entity`` (``Opportunity``);
    it receives the events of one fetched batch, in order, own changes left out."""

    def decorator(handler: ChangeHandler) -> ChangeHandler:
        change_handlers.register(entity, handler)
        return handler

    return decorator


def change_gap_handler(entity: str) -> Callable[[GapHandler], GapHandler]:
    """Register the decorated function for the gap events of ``entity``: it receives the record
    IDs to read again, or None after a ``GAP_OVERFLOW``. It must defer the reading until after
    commit (``transaction.on_commit``)."""

    def decorator(handler: GapHandler) -> GapHandler:
        change_handlers.register_gap(entity, handler)
        return handler

    return decorator


# --- Decoding ---------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _schema_fields(schema_json: str) -> tuple[tuple[str, frozenset[str], bool], ...]:
    """``(name, Avro types, is a Date)`` per top-level field of an event schema, in order."""
    fields = []
    for item in json.loads(schema_json)["fields"]:
        declared = item["type"] if isinstance(item["type"], list) else [item["type"]]
        types = set()
        is_date = False
        for member in declared:
            if isinstance(member, dict):
                types.add(str(member.get("type")))
                is_date = is_date or member.get("logicalType") == "date"
            else:
                types.add(str(member))
        fields.append((item["name"], frozenset(types), is_date))
    return tuple(fields)


def field_names_from_bitmap(schema_json: str, bitmaps: Sequence[str]) -> tuple[str, ...]:
    """The field names a Pub/Sub field-list bitmap stands for (bit *i*: field *i* of the schema).

    An entry ``"<parent>-0x…"`` names fields inside the compound field at position ``parent``;
    it is reported as the compound field itself."""
    fields = _schema_fields(schema_json)
    names: list[str] = []
    for entry in bitmaps:
        parent, dash, bits = entry.rpartition("-")
        if dash:
            position = int(parent)
            if position < len(fields) and fields[position][0] not in names:
                names.append(fields[position][0])
            continue
        value = int(bits, 16)
        position = 0
        while value:
            if value & 1 and position < len(fields) and fields[position][0] not in names:
                names.append(fields[position][0])
            value >>= 1
            position += 1
    return tuple(names)


def _field_list(schema_json: str, entries: Sequence[str]) -> tuple[str, ...]:
    """Bitmaps over the Pub/Sub API; names as CometD clients get them, accepted as they are."""
    if all(entry.startswith("0x") or "-0x" in entry for entry in entries):
        return field_names_from_bitmap(schema_json, entries)
    return tuple(entries)


def _rest_value(value: Any, types: frozenset[str], is_date: bool) -> Any:
    if value is None:
        return None
    if is_date and isinstance(value, date):
        return value.isoformat()
    if "long" in types and isinstance(value, int):
        moment = datetime.fromtimestamp(value / 1000, tz=UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"
    return value


def decode_change_event(event: DecodedEvent) -> ChangeEvent:
    """The :class:`ChangeEvent` of a received event (``schema_json`` is its writer schema)."""
    payload = event.payload
    raw = payload.get(HEADER_FIELD) or {}
    schema_json = event.schema_json
    committed = raw.get("commitTimestamp")
    header = ChangeEventHeader(
        entity_name=str(raw.get("entityName") or ""),
        record_ids=tuple(raw.get("recordIds") or ()),
        change_type=str(raw.get("changeType") or ""),
        changed_fields=_field_list(schema_json, raw.get("changedFields") or ()),
        nulled_fields=_field_list(schema_json, raw.get("nulledFields") or ()),
        diff_fields=_field_list(schema_json, raw.get("diffFields") or ()),
        change_origin=str(raw.get("changeOrigin") or ""),
        transaction_key=str(raw.get("transactionKey") or ""),
        sequence_number=int(raw.get("sequenceNumber") or 0),
        commit_timestamp=datetime.fromtimestamp(committed / 1000, tz=UTC) if committed else None,
        commit_number=int(raw.get("commitNumber") or 0),
        commit_user=str(raw.get("commitUser") or ""),
    )
    values: dict[str, Any] = {}
    if not header.is_gap and header.change_type != "DELETE":
        kinds = {name: (types, is_date) for name, types, is_date in _schema_fields(schema_json)}
        if header.change_type == "UPDATE":
            carried = [name for name in header.changed_fields if name != HEADER_FIELD]
        else:
            carried = [name for name, value in payload.items() if name != HEADER_FIELD and value is not None]
        for name in carried:
            types, is_date = kinds.get(name, (frozenset(), False))
            values[name] = _rest_value(payload.get(name), types, is_date)
    return ChangeEvent(header=header, values=values, replay_id=event.replay_id)


def is_own_change(header: ChangeEventHeader, client_name: str = CLIENT_NAME) -> bool:
    """Whether the portal's own API call made the change (``changeOrigin`` names its client)."""
    return any(part.strip() == f"client={client_name}" for part in header.change_origin.split(";"))


# --- Dispatch ---------------------------------------------------------------------------------


def dispatch_change_events(events: Sequence[DecodedEvent], *, handlers: ChangeHandlers | None = None) -> None:
    """The batch handler of a change event channel: decode, drop own changes, hand each object's
    events to its handlers (in order) and each gap to its gap handlers."""
    handlers = handlers or change_handlers
    decoded = [decode_change_event(event) for event in events]
    by_entity: dict[str, list[ChangeEvent]] = defaultdict(list)
    gaps: dict[str, set[str] | None] = {}
    for change in decoded:
        header = change.header
        if header.is_gap:
            entity = header.entity_name
            if header.is_overflow:
                gaps[entity] = None
            elif gaps.get(entity, set()) is not None:
                gaps.setdefault(entity, set()).update(header.record_ids)  # type: ignore[union-attr]
            continue
        if is_own_change(header):
            logger.debug("Skipping the portal's own change to %s %s", header.entity_name, header.record_ids)
            continue
        by_entity[header.entity_name].append(change)
    for entity, changes in by_entity.items():
        for handler in handlers.change_handlers(entity):
            handler(changes)
    for entity, record_ids in gaps.items():
        for gap_handler in handlers.gap_handlers(entity):
            gap_handler(sorted(record_ids) if record_ids is not None else None)


def channel_entity(channel: str) -> str | None:
    """``Opportunity`` for ``/data/OpportunityChangeEvent`` (``Employee__c`` for
    ``/data/Employee__ChangeEvent``); None for the standard channel ``/data/ChangeEvents``."""
    name = channel.removeprefix("/data/")
    if not channel.startswith("/data/") or name == "ChangeEvents" or not name.endswith("ChangeEvent"):
        return None
    entity = name.removesuffix("ChangeEvent")
    return f"{entity.removesuffix('__')}__c" if entity.endswith("__") else entity


def channel_replay_lost(channel: str, *, handlers: ChangeHandlers | None = None) -> None:
    """Events of ``channel`` may have been lost (its replay ID was refused, e.g. after a stop
    longer than the retention): reconcile the objects it carries, as after ``GAP_OVERFLOW``."""
    if not channel.startswith("/data/"):
        return
    handlers = handlers or change_handlers
    entity = channel_entity(channel)
    for name in [entity] if entity else handlers.gap_entities():
        for gap_handler in handlers.gap_handlers(name):
            logger.warning("%s: events may be lost; reconciling %s", channel, name)
            gap_handler(None)
