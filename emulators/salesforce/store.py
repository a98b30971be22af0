"""The emulated org's state: records, sessions, API usage, change listeners and persistence.

Everything that changes records goes through ``atomic()``: a re-entrant lock plus an undo journal,
so a Composite or sObject Collections request with ``allOrNone`` can roll back as one Salesforce
transaction would. Listeners (the emulator's "flows", which publish platform events) run only
after the outermost transaction commits, outside the lock, so they may call back into the store.

The agent methods (``create_record``, ``update_record``, ``find_records``...) act as a person in
Salesforce would: they do not count as API calls and may set system fields for test set-up.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import logging
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from . import soql
from .objects import (
    CONTENT_DOCUMENT_PREFIX,
    ORG_PREFIX,
    USER_PREFIX,
    canonical_object_name,
    make_id,
    normalize_id,
    now_string,
    object_for_id,
)
from .schema import (
    CASE_STATUSES,
    CHANGE_EVENT_ENTITIES,
    FIELD_TYPES,
    OBJECT_TYPES,
    ORDER_STATUSES,
    PLATFORM_EVENTS,
    STAGES_BY_NAME,
    SYSTEM_FIELDS,
    Field,
    ObjectType,
)

logger = logging.getLogger(__name__)

Record = dict[str, Any]
ChangeListener = Callable[[str, str, "Record | None", Record], None]
"""``callback(sobject, record_id, before, after)``; ``before`` is None for a create."""

API_CALL_KINDS = ("query", "sobject", "composite", "collections", "limits", "other")
"""Kinds that count against the daily API limit; ``token`` (OAuth) is counted but not limited."""

DEFAULT_API_DAILY_MAX = 15_000
DEFAULT_TOKEN_LIFETIME = timedelta(hours=2)
STATE_VERSION = 1


class RestError(Exception):
    """A Salesforce error response: status plus ``[{"message", "errorCode", "fields"}]``."""

    def __init__(
        self, status: int, error_code: str, message: str, fields: Sequence[str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = list(fields) if fields is not None else None

    def as_json(self) -> list[dict[str, Any]]:
        item: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            item["fields"] = self.fields
        return [item]

    def as_save_error(self) -> dict[str, Any]:
        """The sObject Collections shape, which names the code ``statusCode``."""
        return {"statusCode": self.error_code, "message": self.message, "fields": self.fields or []}


def not_found() -> RestError:
    return RestError(404, "NOT_FOUND", "The requested resource does not exist")


@dataclass(frozen=True)
class Change:
    sobject: str
    record_id: str
    before: Record | None
    after: Record
    kind: str = "UPDATE"
    """``CREATE``, ``UPDATE`` or ``DELETE``."""
    origin: str = ""
    """Who made the change, as Change Data Capture's ``changeOrigin`` reports it (empty for a
    change made in the Salesforce UI)."""
    gap: bool = False
    """Made outside the application server (e.g. a data fix in the database), so Change Data
    Capture can only report that it happened (a ``GAP_*`` event)."""


CommitListener = Callable[[Sequence[Change]], None]
"""``callback(changes)`` with every change of one committed transaction, deletes included."""


@dataclass
class Transaction:
    """Undo journal of one ``atomic()`` block; ``rollback()`` discards it at exit."""

    journal: dict[tuple[str, str], tuple[Record | None, Record | None]] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    rollback_only: bool = False

    def rollback(self) -> None:
        self.rollback_only = True


class SalesforceStore:
    """In-memory org state, optionally persisted to a JSON file after every committed change."""

    def __init__(
        self,
        *,
        state_file: str | Path | None = None,
        token_lifetime: timedelta = DEFAULT_TOKEN_LIFETIME,
        api_daily_max: int = DEFAULT_API_DAILY_MAX,
        org_id: str | None = None,
        user_id: str | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._tx: Transaction | None = None
        self._listeners: list[ChangeListener] = []
        self._commit_listeners: list[CommitListener] = []
        self._context = threading.local()
        self.state_file = Path(state_file) if state_file else None
        self.token_lifetime = token_lifetime
        self.org_id = org_id or make_id(ORG_PREFIX, 9_100_001)
        self.user_id = user_id or make_id(USER_PREFIX, 9_100_001)
        self._tokens: dict[str, float] = {}
        self._unique_fields: dict[str, set[str]] = {}
        self._added_fields: dict[str, dict[str, Field]] = {}
        self._added_values: dict[tuple[str, str], list[str]] = {}
        self._removed_fields: dict[str, set[str]] = {}
        self._removed_values: dict[tuple[str, str], set[str]] = {}
        self._removed_platform_events: set[str] = set()
        self._change_events_off: set[str] = set()
        self._duplicate_rules: dict[str, list[tuple[str, ...]]] = {}
        self._api_daily_max = api_daily_max
        self._clear_state()
        if self.state_file and self.state_file.is_file():
            self._load()
        else:
            self._seed()

    # --- state ----------------------------------------------------------------------------------

    def _clear_state(self) -> None:
        self._records: dict[str, dict[str, Record]] = {name: {} for name in OBJECT_TYPES}
        self._deleted: dict[str, dict[str, Record]] = {name: {} for name in OBJECT_TYPES}
        self._sequence = 1_000_000
        self._auto_numbers: dict[str, int] = {}
        self._counters: dict[str, int] = dict.fromkeys((*API_CALL_KINDS, "token"), 0)
        self._api_used = 0
        self._api_max = self._api_daily_max

    def _seed(self) -> None:
        """Every org has a standard price book."""
        with self.atomic():
            self._insert(
                "Pricebook2",
                {"Name": "Standard Price Book", "IsActive": True, "IsStandard": True},
                agent=True,
            )

    def reset(self) -> None:
        """Forget records, counters, API usage, unique fields, duplicate rules and schema changes.

        Issued sessions stay valid, so a running portal keeps working across a reset.
        """
        with self._lock:
            self._clear_state()
            self._unique_fields.clear()
            self._added_fields.clear()
            self._added_values.clear()
            self._removed_fields.clear()
            self._removed_values.clear()
            self._removed_platform_events.clear()
            self._change_events_off.clear()
            self._duplicate_rules.clear()
            self._seed()
            self._persist()

    def _next_id(self, prefix: str) -> str:
        self._sequence += 1
        return make_id(prefix, self._sequence)

    # --- sessions -------------------------------------------------------------------------------

    def issue_token(self) -> str:
        """A new access token, shaped like Salesforce's ``<orgId>!<opaque>``."""
        token = f"{self.org_id[:15]}!{secrets.token_urlsafe(48)}"
        with self._lock:
            self._counters["token"] += 1
            self._tokens[token] = time.time() + self.token_lifetime.total_seconds()
            self._persist()
        return token

    def validate_token(self, token: str) -> bool:
        """True while ``token`` was issued by this org and is neither expired nor revoked.

        The Pub/Sub emulator checks its ``accesstoken`` gRPC metadata with this.
        """
        with self._lock:
            expires_at = self._tokens.get(token)
            return expires_at is not None and expires_at > time.time()

    def expire_sessions(self) -> None:
        """Invalidate every issued token: the next API call answers 401 ``INVALID_SESSION_ID``."""
        with self._lock:
            self._tokens.clear()
            self._persist()

    # --- API usage ------------------------------------------------------------------------------

    def count_call(self, kind: str) -> None:
        """Record one API call of ``kind`` (see ``API_CALL_KINDS``)."""
        with self._lock:
            self._counters[kind] = self._counters.get(kind, 0) + 1
            self._api_used += 1

    @property
    def api_usage(self) -> tuple[int, int]:
        with self._lock:
            return self._api_used, self._api_max

    @property
    def api_limit_exhausted(self) -> bool:
        with self._lock:
            return self._api_used >= self._api_max

    def exhaust_api_limit(self) -> None:
        """Use up the daily allowance: every API call answers 403 ``REQUEST_LIMIT_EXCEEDED``."""
        with self._lock:
            self._api_used = max(self._api_used, self._api_max)

    def set_api_limit(self, daily_max: int, used: int | None = None) -> None:
        with self._lock:
            self._api_max = daily_max
            if used is not None:
                self._api_used = used

    def restore_api_limit(self) -> None:
        """Undo ``exhaust_api_limit`` (used by ``clear_faults``)."""
        with self._lock:
            self._api_max = self._api_daily_max
            self._api_used = min(self._api_used, sum(self._counters[kind] for kind in API_CALL_KINDS))

    def counters(self) -> dict[str, int]:
        """API calls by kind (``query``, ``sobject``, ``composite``, ``collections``, ``limits``, ``token``)."""
        with self._lock:
            return {**self._counters, "total": sum(self._counters[kind] for kind in API_CALL_KINDS)}

    # --- rules ----------------------------------------------------------------------------------

    def add_unique_field(self, sobject: str, field_name: str) -> None:
        """Make ``field_name`` unique (an external id): a clash answers ``DUPLICATE_VALUE``."""
        with self._lock:
            self._unique_fields.setdefault(self._object(sobject).name, set()).add(field_name)

    def add_duplicate_rule(self, sobject: str, *field_names: str) -> None:
        """A duplicate rule on these fields together: a match answers ``DUPLICATES_DETECTED``."""
        with self._lock:
            self._duplicate_rules.setdefault(self._object(sobject).name, []).append(tuple(field_names))

    def add_field(
        self,
        sobject: str,
        name: str,
        type: str = "string",
        *,
        picklist: Sequence[str] = (),
        restricted: bool = False,
        reference_to: Sequence[str] | None = None,
    ) -> Field:
        """Add a field to the org's schema, as an administrator would in Setup (until ``reset``).

        For tests that need a field the org does not have; existing records read it as null.
        """
        if type not in FIELD_TYPES:
            raise ValueError(f"Unknown field type {type!r}")
        with self._lock:
            obj = self._object(sobject)
            if name.lower() in {known.lower() for known in self._field_names(obj)}:
                raise ValueError(f"{obj.name} already has a field {name}")
            added = Field(
                name,
                type,
                picklist=tuple(picklist),
                restricted=restricted,
                reference_to=tuple(reference_to) if reference_to is not None else None,
            )
            self._added_fields.setdefault(obj.name, {})[name.lower()] = added
            self._removed_fields.get(obj.name, set()).discard(name.lower())
            return added

    def remove_field(self, sobject: str, name: str) -> None:
        """Delete a field from the org's schema, as an administrator would in Setup (until ``reset``):
        describe no longer lists it and reading or writing it answers ``INVALID_FIELD``."""
        with self._lock:
            obj = self._object(sobject)
            canonical = self.canonical_field(obj.name, name)
            if canonical in SYSTEM_FIELDS:
                raise ValueError(f"{canonical} is a system field")
            self._removed_fields.setdefault(obj.name, set()).add(canonical.lower())

    def remove_picklist_value(self, sobject: str, field_name: str, value: str) -> None:
        """Delete a value from a picklist (until ``reset``)."""
        with self._lock:
            obj = self._object(sobject)
            definition = self._definition(obj, self.canonical_field(obj.name, field_name))
            if definition is None or value not in self._values_of(obj, definition):
                raise ValueError(f"{obj.name}.{field_name} has no picklist value {value!r}")
            self._removed_values.setdefault((obj.name, definition.name), set()).add(value)

    def platform_events(self) -> dict[str, tuple[Field, ...]]:
        """The org's platform events (``Name__e``) and their custom fields."""
        with self._lock:
            return {
                name: fields
                for name, fields in PLATFORM_EVENTS.items()
                if name not in self._removed_platform_events
            }

    def remove_platform_event(self, name: str) -> None:
        """Delete a platform event definition from the org (until ``reset``)."""
        with self._lock:
            if name not in PLATFORM_EVENTS:
                raise ValueError(f"The org has no platform event {name}")
            self._removed_platform_events.add(name)

    def change_event_entities(self) -> tuple[str, ...]:
        """The objects selected for Change Data Capture (Setup > Change Data Capture)."""
        with self._lock:
            return tuple(name for name in CHANGE_EVENT_ENTITIES if name not in self._change_events_off)

    def deselect_change_events(self, sobject: str) -> None:
        """Take an object out of the Change Data Capture selection (until ``reset``)."""
        with self._lock:
            self._change_events_off.add(self._object(sobject).name)

    def _values_of(self, obj: ObjectType, definition: Field) -> tuple[str, ...]:
        removed = self._removed_values.get((obj.name, definition.name), set())
        values = definition.picklist + tuple(self._added_values.get((obj.name, definition.name), ()))
        return tuple(value for value in values if value not in removed)

    def _declared(self, obj: ObjectType) -> list[Field]:
        """The declared and added fields of ``obj`` that were not removed."""
        removed = self._removed_fields.get(obj.name, set())
        added = self._added_fields.get(obj.name, {})
        # A declared field removed and added again (with another type) is the added one.
        declared = [item for item in obj.declared if item.name.lower() not in added]
        return [item for item in (*declared, *added.values()) if item.name.lower() not in removed]

    # --- listeners ------------------------------------------------------------------------------

    def add_listener(self, callback: ChangeListener) -> None:
        """Call ``callback(sobject, record_id, before, after)`` after each committed create/update."""
        with self._lock:
            self._listeners.append(callback)

    def remove_listener(self, callback: ChangeListener) -> None:
        with self._lock:
            if callback in self._listeners:
                self._listeners.remove(callback)

    def add_commit_listener(self, callback: CommitListener) -> None:
        """Call ``callback(changes)`` after each committed transaction (Change Data Capture)."""
        with self._lock:
            self._commit_listeners.append(callback)

    def remove_commit_listener(self, callback: CommitListener) -> None:
        with self._lock:
            if callback in self._commit_listeners:
                self._commit_listeners.remove(callback)

    @contextmanager
    def change_context(self, *, origin: str | None = None, gap: bool | None = None) -> Iterator[None]:
        """Changes made in this thread within the block carry ``origin`` (the API client, for
        ``changeOrigin``) and/or ``gap`` (made outside the application server)."""
        previous = (getattr(self._context, "origin", ""), getattr(self._context, "gap", False))
        if origin is not None:
            self._context.origin = origin
        if gap is not None:
            self._context.gap = gap
        try:
            yield
        finally:
            self._context.origin, self._context.gap = previous

    def _notify(self, changes: Sequence[Change]) -> None:
        with self._lock:
            listeners = list(self._listeners)
            commit_listeners = list(self._commit_listeners)
        for commit_listener in commit_listeners:
            try:
                commit_listener([copy.deepcopy(change) for change in changes])
            except Exception:
                logger.exception("Salesforce emulator commit listener %r failed", commit_listener)
        for change in changes:
            if change.kind == "DELETE":
                continue
            for listener in listeners:
                try:
                    listener(
                        change.sobject,
                        change.record_id,
                        copy.deepcopy(change.before),
                        copy.deepcopy(change.after),
                    )
                except Exception:
                    logger.exception("Salesforce emulator change listener %r failed", listener)

    # --- transactions ---------------------------------------------------------------------------

    @contextmanager
    def atomic(self) -> Iterator[Transaction]:
        """One Salesforce transaction: all changes commit, or ``tx.rollback()`` / an exception undoes them."""
        committed: list[Change] = []
        with self._lock:
            outer = self._tx
            tx = Transaction()
            self._tx = tx
            try:
                yield tx
            except BaseException:
                tx.rollback_only = True
                raise
            finally:
                self._tx = outer
                if tx.rollback_only:
                    self._undo(tx)
                elif outer is not None:
                    for key, previous in tx.journal.items():
                        outer.journal.setdefault(key, previous)
                    outer.changes.extend(tx.changes)
                else:
                    committed = tx.changes
                    if tx.journal:
                        self._persist()
        if committed:
            self._notify(committed)

    def _undo(self, tx: Transaction) -> None:
        for (sobject, record_id), (live, deleted) in tx.journal.items():
            for table, previous in ((self._records[sobject], live), (self._deleted[sobject], deleted)):
                if previous is None:
                    table.pop(record_id, None)
                else:
                    table[record_id] = previous

    def _journal(self, sobject: str, record_id: str) -> None:
        if self._tx is None:
            raise RuntimeError("record changes must happen inside SalesforceStore.atomic()")
        key = (sobject, record_id)
        if key not in self._tx.journal:
            live = self._records[sobject].get(record_id)
            deleted = self._deleted[sobject].get(record_id)
            self._tx.journal[key] = (
                copy.deepcopy(live) if live is not None else None,
                copy.deepcopy(deleted) if deleted is not None else None,
            )

    # --- objects and fields ---------------------------------------------------------------------

    def _object(self, sobject: str) -> ObjectType:
        name = canonical_object_name(sobject)
        if name is None:
            raise not_found()
        return OBJECT_TYPES[name]

    def add_picklist_value(self, sobject: str, field_name: str, value: str) -> None:
        """Add a value to a picklist, as an administrator would in Setup (until ``reset``)."""
        with self._lock:
            obj = self._object(sobject)
            definition = self._definition(obj, self.canonical_field(obj.name, field_name))
            if definition is None or definition.type != "picklist":
                raise ValueError(f"{obj.name}.{field_name} is not a picklist")
            values = self._added_values.setdefault((obj.name, definition.name), [])
            if value not in definition.picklist and value not in values:
                values.append(value)

    def picklist_values(self, sobject: str, field_name: str) -> tuple[str, ...]:
        """The values of a picklist field, declared and added."""
        obj = self._object(sobject)
        with self._lock:
            definition = self._definition(obj, self.canonical_field(obj.name, field_name))
            if definition is None:
                return ()
            return self._values_of(obj, definition)

    def _field_names(self, obj: ObjectType) -> tuple[str, ...]:
        """Every field of ``obj``: system, declared and added ones."""
        return SYSTEM_FIELDS + tuple(item.name for item in self._declared(obj))

    def field_definitions(self, sobject: str) -> list[Field]:
        """The declared and added fields of ``sobject`` (the describe call's list, minus system fields)."""
        obj = self._object(sobject)
        with self._lock:
            return self._declared(obj)

    def _definition(self, obj: ObjectType, canonical: str) -> Field | None:
        return self._added_fields.get(obj.name, {}).get(canonical.lower()) or obj.field(canonical)

    def canonical_field(self, sobject: str, name: str) -> str:
        """The API name of ``name`` on ``sobject`` (field names are case-insensitive).

        Only the org's schema counts: a name it does not have, custom (``__c``) or standard,
        raises ``INVALID_FIELD`` as in a real org.
        """
        obj = self._object(sobject)
        lower = name.lower()
        for known in self._field_names(obj):
            if known.lower() == lower:
                return known
        raise RestError(
            400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}", [name]
        )

    def _query_field_resolver(self, obj: ObjectType) -> Callable[[str], str]:
        def resolve(name: str) -> str:
            try:
                return self.canonical_field(obj.name, name)
            except RestError:
                raise soql.SoqlError(
                    "INVALID_FIELD",
                    f"No such column '{name}' on entity '{obj.name}'. If you are attempting to use a custom "
                    "field, be sure to append the '__c' after the custom field name. Please reference your "
                    "WSDL or the describe call for the appropriate names.",
                ) from None

        return resolve

    # --- writes ---------------------------------------------------------------------------------

    def _clean_fields(self, obj: ObjectType, fields: Mapping[str, Any], *, agent: bool) -> Record:
        cleaned: Record = {}
        read_only = obj.writable_check
        for name, value in fields.items():
            if name == "attributes":
                continue
            if not isinstance(name, str) or not name:
                raise RestError(400, "JSON_PARSER_ERROR", "Field names must be strings")
            canonical = self.canonical_field(obj.name, name)
            if not agent and canonical.lower() in read_only:
                raise RestError(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {canonical}. Please check the security settings of this "
                    "field and verify that it is read/write for your profile or permission set.",
                    [canonical],
                )
            if isinstance(value, dict | list):
                raise RestError(
                    400, "JSON_PARSER_ERROR", f"Cannot deserialize a JSON object or array into {canonical}"
                )
            definition = self._definition(obj, canonical)
            if (
                definition is not None
                and definition.restricted
                and value is not None
                and value not in self._values_of(obj, definition)
            ):
                raise RestError(
                    400,
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{definition.display_label}: bad value for restricted picklist field: {value}",
                    [canonical],
                )
            cleaned[canonical] = value
        return cleaned

    def _check_lookups(self, obj: ObjectType, values: Record) -> None:
        lookups = dict(obj.lookups)
        for added in self._added_fields.get(obj.name, {}).values():
            if added.reference_to is not None and all(
                target in OBJECT_TYPES for target in added.reference_to
            ):
                lookups[added.name] = added.reference_to
        for field_name, targets in lookups.items():
            if field_name not in values:
                continue
            value = values[field_name]
            if value in (None, ""):
                values[field_name] = None
                continue
            record_id = normalize_id(value)
            target = object_for_id(record_id) if record_id else None
            if record_id is None or target is None or (targets and target not in targets):
                raise RestError(
                    400, "MALFORMED_ID", f"{field_name}: id value of incorrect type: {value}", [field_name]
                )
            if record_id not in self._records[target]:
                raise RestError(
                    400,
                    "INVALID_CROSS_REFERENCE_KEY",
                    f"invalid cross reference id: {field_name} {value}",
                    [field_name],
                )
            values[field_name] = record_id

    def _check_required(self, obj: ObjectType, record: Record) -> None:
        missing = [name for name in obj.required if record.get(name) in (None, "")]
        if missing:
            raise RestError(
                400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
            )

    def _check_duplicates(self, obj: ObjectType, record: Record, record_id: str | None) -> None:
        def same(left: Any, right: Any) -> bool:
            if isinstance(left, str) and isinstance(right, str):
                return left.casefold() == right.casefold()
            return bool(left == right)

        if not self._unique_fields.get(obj.name) and not self._duplicate_rules.get(obj.name):
            return  # no rule for this object: nothing to compare, so writes stay O(1)
        others = [(rid, other) for rid, other in self._records[obj.name].items() if rid != record_id]
        for field_name in sorted(self._unique_fields.get(obj.name, ())):
            value = record.get(field_name)
            if value is None:
                continue
            for other_id, other in others:
                if same(other.get(field_name), value):
                    raise RestError(
                        400,
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {field_name} duplicates value on record with id: {other_id}",
                        [field_name],
                    )
        for rule in self._duplicate_rules.get(obj.name, ()):
            if any(record.get(name) in (None, "") for name in rule):
                continue
            for _other_id, other in others:
                if all(same(other.get(name), record.get(name)) for name in rule):
                    raise RestError(
                        400,
                        "DUPLICATES_DETECTED",
                        "Use one of these records?",
                        [],
                    )

    def _derive(self, obj: ObjectType, record: Record, changed: Record, *, creating: bool) -> None:
        """Formula-like and automatic fields a real org computes."""
        if obj.name == "Contact":
            record["Name"] = " ".join(
                str(part) for part in (record.get("FirstName"), record.get("LastName")) if part
            )
        elif obj.name == "Opportunity" and "StageName" in changed:
            stage = STAGES_BY_NAME.get(str(record.get("StageName") or ""))
            if stage is not None:
                record["IsClosed"] = stage.closed
                record["IsWon"] = stage.won
                record["ForecastCategoryName"] = stage.forecast_category
                if "Probability" not in changed:
                    record["Probability"] = stage.probability
        elif obj.name == "Case" and "Status" in changed:
            closed = CASE_STATUSES.get(str(record.get("Status") or ""), False)
            if closed and not record.get("IsClosed"):
                record["ClosedDate"] = now_string()
            record["IsClosed"] = closed
        elif obj.name == "Order" and ("Status" in changed or creating):
            record["StatusCode"] = ORDER_STATUSES.get(str(record.get("Status") or ""), "Draft")
            if record["StatusCode"] == "Activated" and not record.get("ActivatedDate"):
                record["ActivatedDate"] = now_string()
        elif obj.name == "OrderItem":
            if creating:
                self._link_price_book_entry(record)
            try:
                record["TotalPrice"] = float(
                    Decimal(str(record["Quantity"])) * Decimal(str(record["UnitPrice"]))
                )
            except (KeyError, InvalidOperation, TypeError):
                record["TotalPrice"] = None
        elif obj.name == "ContentVersion" and creating:
            self._derive_content_version(record)

    def _link_price_book_entry(self, item: Record) -> None:
        """An order product needs a price book entry; given only Product2Id, use the standard one."""
        if item.get("PricebookEntryId"):
            entry = self._records["PricebookEntry"].get(item["PricebookEntryId"], {})
            item["Product2Id"] = item.get("Product2Id") or entry.get("Product2Id")
            return
        if not item.get("Product2Id"):
            raise RestError(
                400,
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [PricebookEntryId]",
                ["PricebookEntryId"],
            )
        standard_books = {pid for pid, book in self._records["Pricebook2"].items() if book.get("IsStandard")}
        entry_id = next(
            (
                entry_id
                for entry_id, entry in self._records["PricebookEntry"].items()
                if entry.get("Product2Id") == item["Product2Id"]
                and entry.get("Pricebook2Id") in standard_books
            ),
            None,
        )
        if entry_id is None:
            raise RestError(
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                "field integrity exception: PricebookEntryId (no standard price book entry for this product)",
                ["PricebookEntryId"],
            )
        item["PricebookEntryId"] = entry_id

    def _derive_content_version(self, record: Record) -> None:
        try:
            data = base64.b64decode(str(record.get("VersionData") or ""), validate=True)
        except (binascii.Error, ValueError):
            raise RestError(
                400, "INVALID_FIELD", "VersionData is not valid base64", ["VersionData"]
            ) from None
        path = str(record.get("PathOnClient") or "")
        stem, _, extension = path.rpartition(".") if "." in path else (path, "", "")
        record.setdefault("Title", None)
        record["Title"] = record["Title"] or stem or path
        record["ContentDocumentId"] = self._next_id(CONTENT_DOCUMENT_PREFIX)
        record["ContentSize"] = len(data)
        record["FileExtension"] = extension.lower() or None
        record["FileType"] = extension.upper() or "UNKNOWN"
        record["IsLatest"] = True
        record["VersionNumber"] = "1"
        record["ContentLocation"] = "S"

    def _recalculate_order_total(self, order_id: str | None) -> None:
        if not order_id or order_id not in self._records["Order"]:
            return
        total = sum(
            Decimal(str(item.get("TotalPrice") or 0))
            for item in self._records["OrderItem"].values()
            if item.get("OrderId") == order_id
        )
        self._journal("Order", order_id)
        self._records["Order"][order_id]["TotalAmount"] = float(total)

    def _insert(self, sobject: str, fields: Mapping[str, Any], *, agent: bool) -> Record:
        obj = self._object(sobject)
        values = self._clean_fields(obj, fields, agent=agent)
        if "Id" in values and not agent:
            raise RestError(
                400, "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"]
            )
        self._check_lookups(obj, values)
        now = now_string()
        record_id = normalize_id(values.get("Id")) or self._next_id(obj.key_prefix)
        declared = self._declared(obj)
        # Every field reads as null until set, except checkboxes, which are never null.
        record: Record = {item.name: False if item.type == "boolean" else None for item in declared}
        record.update(obj.defaults)
        if "OwnerId" in obj.fields:
            record["OwnerId"] = self.user_id
        if obj.auto_number:
            number_field, start = obj.auto_number
            number = self._auto_numbers.get(number_field, start - 1) + 1
            self._auto_numbers[number_field] = number
            record[number_field] = f"{number:08d}"
        record.update(
            {
                "Id": record_id,
                "IsDeleted": False,
                "CreatedDate": now,
                "CreatedById": self.user_id,
                "LastModifiedDate": now,
                "LastModifiedById": self.user_id,
                "SystemModstamp": now,
            }
        )
        record.update(values)
        self._derive(obj, record, values, creating=True)
        self._check_required(obj, record)
        self._check_duplicates(obj, record, None)
        self._journal(obj.name, record_id)
        self._records[obj.name][record_id] = record
        if obj.name == "OrderItem":
            self._recalculate_order_total(record.get("OrderId"))
        self._change(obj.name, record_id, None, record)
        return copy.deepcopy(record)

    def _update(self, sobject: str, record_id: str, fields: Mapping[str, Any], *, agent: bool) -> Record:
        obj = self._object(sobject)
        current = self._live(obj, record_id)
        values = self._clean_fields(obj, fields, agent=agent)
        if "Id" in values and normalize_id(values.pop("Id")) != current["Id"]:
            raise RestError(
                400, "INVALID_ID_FIELD", "The Id in the body does not match the Id in the URL", ["Id"]
            )
        self._check_lookups(obj, values)
        before = copy.deepcopy(current)
        updated = {**current, **values}
        now = now_string()
        if not ({"LastModifiedDate", "SystemModstamp"} & values.keys()):
            updated["LastModifiedDate"] = now
            updated["SystemModstamp"] = now
            updated["LastModifiedById"] = self.user_id
        self._derive(obj, updated, values, creating=False)
        self._check_required(obj, updated)
        self._check_duplicates(obj, updated, current["Id"])
        self._journal(obj.name, current["Id"])
        self._records[obj.name][current["Id"]] = updated
        if obj.name == "OrderItem":
            self._recalculate_order_total(updated.get("OrderId"))
            if before.get("OrderId") != updated.get("OrderId"):
                self._recalculate_order_total(before.get("OrderId"))
        self._change(obj.name, current["Id"], before, updated)
        return copy.deepcopy(updated)

    def _delete(self, sobject: str, record_id: str) -> None:
        obj = self._object(sobject)
        current = self._live(obj, record_id)
        if obj.name == "Account":
            # As in Salesforce, an Account's Contacts are deleted with it, in the same transaction.
            # (Salesforce also deletes its Opportunities and Cases; that is not emulated.)
            for contact_id in [
                contact_id
                for contact_id, contact in self._records["Contact"].items()
                if contact.get("AccountId") == current["Id"]
            ]:
                self._delete("Contact", contact_id)
        self._journal(obj.name, current["Id"])
        deleted = {
            **self._records[obj.name].pop(current["Id"]),
            "IsDeleted": True,
            "SystemModstamp": now_string(),
        }
        self._deleted[obj.name][current["Id"]] = deleted
        if obj.name == "OrderItem":
            self._recalculate_order_total(deleted.get("OrderId"))
        self._change(obj.name, current["Id"], copy.deepcopy(current), deleted, kind="DELETE")

    def _change(
        self, sobject: str, record_id: str, before: Record | None, after: Record, *, kind: str | None = None
    ) -> None:
        assert self._tx is not None
        self._tx.changes.append(
            Change(
                sobject,
                record_id,
                before,
                copy.deepcopy(after),
                kind=kind or ("CREATE" if before is None else "UPDATE"),
                origin=getattr(self._context, "origin", ""),
                gap=getattr(self._context, "gap", False),
            )
        )

    def _live(self, obj: ObjectType, record_id: str) -> Record:
        """The live record or 404: ``ENTITY_IS_DELETED`` for deleted ones, ``NOT_FOUND`` otherwise."""
        normalized = normalize_id(record_id)
        if normalized is None or object_for_id(normalized) != obj.name:
            raise not_found()
        record = self._records[obj.name].get(normalized)
        if record is None:
            if normalized in self._deleted[obj.name]:
                raise RestError(404, "ENTITY_IS_DELETED", "entity is deleted", [])
            raise not_found()
        return record

    # --- API-facing record operations (used by the REST layer) ----------------------------------

    def insert(self, sobject: str, fields: Mapping[str, Any]) -> Record:
        with self.atomic():
            return self._insert(sobject, fields, agent=False)

    def update(self, sobject: str, record_id: str, fields: Mapping[str, Any]) -> Record:
        with self.atomic():
            return self._update(sobject, record_id, fields, agent=False)

    def delete(self, sobject: str, record_id: str) -> None:
        with self.atomic():
            self._delete(sobject, record_id)

    def delete_by_id(self, record_id: str) -> None:
        """Delete whatever object ``record_id`` belongs to (sObject Collections DELETE)."""
        normalized = normalize_id(record_id)
        sobject = object_for_id(normalized) if normalized else None
        if sobject is None:
            raise RestError(400, "MALFORMED_ID", f"malformed id {record_id}", [])
        self.delete(sobject, record_id)

    def fetch(self, sobject: str, record_id: str) -> tuple[str, Record]:
        """(canonical object name, record copy) or a 404 ``RestError``."""
        obj = self._object(sobject)
        with self._lock:
            return obj.name, copy.deepcopy(self._live(obj, record_id))

    def object_name(self, sobject: str) -> str:
        return self._object(sobject).name

    def select(
        self, query: soql.Query, *, include_deleted: bool = False
    ) -> tuple[str, tuple[str, ...], list[Record]]:
        """Run a parsed query: (object name, canonical selected fields, matching record copies)."""
        name = canonical_object_name(query.sobject)
        if name is None:
            raise soql.SoqlError(
                "INVALID_TYPE",
                f"sObject type '{query.sobject}' is not supported. If you are attempting to use a custom object, "
                "be sure to append the '__c' after the entity name. Please reference your WSDL or the describe "
                "call for the appropriate names.",
            )
        obj = OBJECT_TYPES[name]
        resolve = self._query_field_resolver(obj)
        fields = tuple(resolve(field_name) for field_name in query.fields)
        predicate = soql.compile_condition(query.where, resolve) if query.where else None
        with self._lock:
            candidates = list(self._records[name].values())
            if include_deleted:
                candidates += list(self._deleted[name].values())
            rows = [record for record in candidates if predicate is None or predicate(record)]
            rows = list(soql.order_records(rows, query.order_by, resolve)) if query.order_by else rows
            start = query.offset or 0
            end = start + query.limit if query.limit is not None else None
            return name, fields, [copy.deepcopy(record) for record in rows[start:end]]

    # --- agent API (no API calls counted) -------------------------------------------------------

    def create_record(self, sobject: str, fields: Mapping[str, Any] | None = None, **more: Any) -> Record:
        """Create a record as an agent would in the Salesforce UI (system fields may be preset)."""
        with self.atomic():
            return self._insert(sobject, {**(fields or {}), **more}, agent=True)

    def create_records(self, sobject: str, rows: Sequence[Mapping[str, Any]]) -> list[Record]:
        """Create many records in one transaction (fast seeding for tests and demos)."""
        with self.atomic():
            return [self._insert(sobject, row, agent=True) for row in rows]

    def update_record(
        self, sobject: str, record_id: str, fields: Mapping[str, Any] | None = None, **more: Any
    ) -> Record:
        """Change a record as an agent would; listeners (flows) see the change."""
        with self.atomic():
            return self._update(sobject, record_id, {**(fields or {}), **more}, agent=True)

    def delete_record(self, sobject: str, record_id: str) -> None:
        self.delete(sobject, record_id)

    def get_record(self, sobject: str, record_id: str) -> Record | None:
        """The live record (with raw ``VersionData``), or None."""
        try:
            return self.fetch(sobject, record_id)[1]
        except RestError:
            return None

    def find_records(self, sobject: str, **equals: Any) -> list[Record]:
        """Live records whose fields equal ``equals`` exactly (names case-insensitive), oldest first."""
        obj = self._object(sobject)
        criteria = {self.canonical_field(obj.name, name): value for name, value in equals.items()}
        with self._lock:
            return [
                copy.deepcopy(record)
                for record in self._records[obj.name].values()
                if all(record.get(name) == value for name, value in criteria.items())
            ]

    def snapshot(self) -> dict[str, Any]:
        """The whole org as JSON-able data (also the persisted state file's content)."""
        with self._lock:
            return copy.deepcopy(
                {
                    "version": STATE_VERSION,
                    "org_id": self.org_id,
                    "user_id": self.user_id,
                    "sequence": self._sequence,
                    "auto_numbers": self._auto_numbers,
                    "records": self._records,
                    "deleted": self._deleted,
                    "counters": self._counters,
                    "api_used": self._api_used,
                    "api_max": self._api_max,
                    "tokens": self._tokens,
                }
            )

    # --- persistence ----------------------------------------------------------------------------

    def _persist(self) -> None:
        if self.state_file is None:
            return
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(self.snapshot(), indent=1, sort_keys=True)
        handle, temp_path = tempfile.mkstemp(dir=self.state_file.parent, prefix=".sf-state-", suffix=".json")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(data)
            os.replace(temp_path, self.state_file)
        except BaseException:
            Path(temp_path).unlink(missing_ok=True)
            raise

    def _load(self) -> None:
        assert self.state_file is not None
        data = json.loads(self.state_file.read_text(encoding="utf-8"))
        if data.get("version") != STATE_VERSION:
            logger.warning("Ignoring Salesforce emulator state file %s with another version", self.state_file)
            self._seed()
            return
        self.org_id = data["org_id"]
        self.user_id = data["user_id"]
        self._sequence = int(data["sequence"])
        self._auto_numbers = {key: int(value) for key, value in data["auto_numbers"].items()}
        for name in OBJECT_TYPES:
            self._records[name] = data["records"].get(name, {})
            self._deleted[name] = data["deleted"].get(name, {})
        self._counters.update(data.get("counters", {}))
        self._api_used = int(data.get("api_used", 0))
        self._api_max = int(data.get("api_max", self._api_daily_max))
        now = time.time()
        self._tokens = {
            token: float(expiry) for token, expiry in data.get("tokens", {}).items() if expiry > now
        }
