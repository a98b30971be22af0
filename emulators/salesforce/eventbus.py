"""The emulator's event bus: an append-only, retained log of platform events per topic.

It mirrors what a Pub/Sub client can observe of the real bus: replay IDs are opaque bytes (here
an 8-byte big-endian sequence number shared by all topics, so one topic's IDs are not
contiguous), events older than the retention window disappear, payloads are schemaless Avro
encoded with the topic's schema, and ``CreatedDate``/``CreatedById`` are always present.

The sequence starts at the current time in microseconds unless told otherwise, so replay IDs
stay increasing across emulator restarts: a cursor saved before a restart is still a valid (if
empty-handed) starting point instead of a "corrupted" one.
"""

from __future__ import annotations

import bisect
import enum
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from salesforce_pubsub import avro

SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"
REPLAY_ID_LENGTH = 8
DEFAULT_RETENTION = timedelta(hours=72)
# The integration user the emulator's flows run as.
DEFAULT_CREATED_BY_ID = "005000000000001AAA"


class ReplayPreset(enum.IntEnum):
    """Where a subscription starts; the values are those of ``eventbus.v1.ReplayPreset``."""

    LATEST = 0
    EARLIEST = 1
    CUSTOM = 2


class EventBusError(Exception):
    """Base class of the bus's errors; the gRPC layer maps each to a status code."""


class UnknownTopicError(EventBusError):
    pass


class UnknownSchemaError(EventBusError):
    pass


class InvalidReplayIdError(EventBusError):
    """The replay ID is malformed or points past the end of the log."""


class InvalidEventError(EventBusError):
    """A published event does not match its topic's schema or lacks the required system fields."""


def encode_replay_id(sequence: int) -> bytes:
    return sequence.to_bytes(REPLAY_ID_LENGTH, "big")


def decode_replay_id(replay_id: bytes) -> int:
    if len(replay_id) != REPLAY_ID_LENGTH:
        raise InvalidReplayIdError("The replay ID is not one this bus issued")
    return int.from_bytes(replay_id, "big")


@dataclass(frozen=True)
class TopicInfo:
    name: str
    schema_id: str
    schema_json: str


@dataclass(frozen=True)
class StoredEvent:
    """One event as the bus keeps it: already encoded, as subscribers receive it."""

    sequence: int
    event_id: str
    schema_id: str
    payload: bytes
    published_at: float  # Epoch seconds, for retention.

    @property
    def replay_id(self) -> bytes:
        return encode_replay_id(self.sequence)


@dataclass
class _Topic:
    info: TopicInfo
    events: list[StoredEvent] = field(default_factory=list)
    expired_through: int = 0
    """The sequence of the newest event dropped by retention: resuming before it would miss events."""


def load_default_schemas() -> dict[str, str]:
    """``{topic: schema_json}`` for every ``schemas/<EventName>.avsc`` (topic ``/event/<EventName>``)."""
    return {f"/event/{path.stem}": path.read_text() for path in sorted(SCHEMAS_DIR.glob("*.avsc"))}


class EventBus:
    """A thread-safe in-memory event log; subscribers wait on it for new events."""

    def __init__(
        self,
        topics: Mapping[str, str] | None = None,
        *,
        retention: timedelta = DEFAULT_RETENTION,
        start_sequence: int | None = None,
        created_by_id: str = DEFAULT_CREATED_BY_ID,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._condition = threading.Condition()
        self._topics: dict[str, _Topic] = {}
        self._schemas: dict[str, str] = {}
        self._retention_seconds = retention.total_seconds()
        self._sequence = time.time_ns() // 1000 if start_sequence is None else start_sequence
        self._version = 0  # Bumped on every publish and wake, so waiters never miss a change.
        self._created_by_id = created_by_id
        self._clock = clock
        for name, schema_json in (load_default_schemas() if topics is None else topics).items():
            self.register_topic(name, schema_json)

    # --- Topics and schemas -------------------------------------------------------------------

    def register_topic(self, name: str, schema_json: str) -> TopicInfo:
        """Add a topic, or give an existing one a new current schema (older events keep theirs)."""
        schema_id = avro.schema_fingerprint(schema_json)
        with self._condition:
            self._schemas[schema_id] = schema_json
            info = TopicInfo(name=name, schema_id=schema_id, schema_json=schema_json)
            if name in self._topics:
                self._topics[name].info = info
            else:
                self._topics[name] = _Topic(info=info)
            return info

    def topic(self, name: str) -> TopicInfo:
        with self._condition:
            try:
                return self._topics[name].info
            except KeyError:
                raise UnknownTopicError(name) from None

    def schema(self, schema_id: str) -> str:
        with self._condition:
            try:
                return self._schemas[schema_id]
            except KeyError:
                raise UnknownSchemaError(schema_id) from None

    # --- Publishing ---------------------------------------------------------------------------

    def publish(
        self,
        topic: str,
        payload: Mapping[str, Any],
        *,
        event_id: str | None = None,
        schema_json: str | None = None,
    ) -> bytes:
        """Encode ``payload`` with the topic's schema and append it; returns the replay ID.

        Adds ``CreatedDate`` (epoch ms) and ``CreatedById`` to a platform event as the platform
        does; missing custom fields are published as null. ``schema_json`` encodes with another
        schema than the topic's (the ``/data/ChangeEvents`` channel carries every object's
        change events, each with its own schema); change events have no event ID.
        """
        info = self.topic(topic)
        record = dict(payload)
        if not topic.startswith("/data/"):
            record.setdefault("CreatedDate", int(self._clock() * 1000))
            record.setdefault("CreatedById", self._created_by_id)
        schema_id = info.schema_id
        if schema_json is not None:
            schema_id = avro.schema_fingerprint(schema_json)
            with self._condition:
                self._schemas.setdefault(schema_id, schema_json)
        try:
            encoded = avro.encode(schema_json or info.schema_json, record)
        except (ValueError, TypeError) as exc:
            raise InvalidEventError(f"The event does not match the schema of {topic}: {exc}") from exc
        if event_id is None:
            event_id = "" if topic.startswith("/data/") else str(uuid.uuid4())
        return self._append(topic, schema_id, encoded, event_id)

    def publish_encoded(self, topic: str, *, schema_id: str, payload: bytes, event_id: str = "") -> bytes:
        """Append an event a client encoded itself (the ``Publish`` RPC), after validating it."""
        self.topic(topic)
        try:
            record = avro.decode(self.schema(schema_id), payload)
        except UnknownSchemaError:
            raise InvalidEventError(f"Unknown schema ID {schema_id}") from None
        except Exception as exc:  # fastavro raises assorted errors for a malformed payload.
            raise InvalidEventError(f"The payload cannot be decoded: {exc}") from exc
        missing = [name for name in ("CreatedDate", "CreatedById") if record.get(name) in (None, "")]
        if missing:
            raise InvalidEventError(f"Required fields are missing: {', '.join(missing)}")
        return self._append(topic, schema_id, payload, event_id or str(uuid.uuid4()))

    def _append(self, topic: str, schema_id: str, payload: bytes, event_id: str) -> bytes:
        with self._condition:
            self._sequence += 1
            now = self._clock()
            event = StoredEvent(self._sequence, event_id, schema_id, payload, now)
            self._topics[topic].events.append(event)
            self._expire(self._topics[topic], now)
            self._version += 1
            self._condition.notify_all()
            return event.replay_id

    def _expire(self, entry: _Topic, now: float) -> None:
        events = entry.events
        expired = bisect.bisect_left(events, now - self._retention_seconds, key=lambda e: e.published_at)
        if expired:
            entry.expired_through = events[expired - 1].sequence
            del events[:expired]

    def set_retention(self, retention: timedelta) -> None:
        """Keep events for ``retention`` from now on, dropping older ones at once (tests: a
        subscriber that stays away longer than the retention window)."""
        with self._condition:
            self._retention_seconds = retention.total_seconds()
            now = self._clock()
            for entry in self._topics.values():
                self._expire(entry, now)

    # --- Subscribing --------------------------------------------------------------------------

    def start_position(self, topic: str, preset: ReplayPreset, replay_id: bytes = b"") -> int:
        """The sequence after which a new subscription delivers events."""
        self.topic(topic)
        with self._condition:
            if preset == ReplayPreset.LATEST:
                return self._sequence
            if preset == ReplayPreset.EARLIEST:
                return 0
            sequence = decode_replay_id(replay_id)
            if sequence > self._sequence:
                raise InvalidReplayIdError("The replay ID is ahead of the stream")
            entry = self._topics[topic]
            self._expire(entry, self._clock())
            if sequence < entry.expired_through:
                raise InvalidReplayIdError("The replay ID is outside the retention window")
            return sequence

    def poll(self, topic: str, after: int, limit: int) -> tuple[list[StoredEvent], bytes, int]:
        """Up to ``limit`` events with a sequence above ``after``, the bus's latest replay ID, and
        a version to pass to :meth:`wait`. Read under one lock, so when no events are returned
        the latest replay ID is safe to resume after."""
        with self._condition:
            events = self._topics[topic].events
            start = bisect.bisect_right(events, after, key=lambda e: e.sequence)
            return events[start : start + limit], encode_replay_id(self._sequence), self._version

    def wait(self, version: int, timeout: float) -> None:
        """Block until something is published (or :meth:`wake` is called) after ``version`` was read."""
        with self._condition:
            self._condition.wait_for(lambda: self._version != version, timeout)

    def wake(self) -> None:
        """Wake every waiting subscriber, e.g. to make them notice a fault or shutdown."""
        with self._condition:
            self._version += 1
            self._condition.notify_all()

    def latest_replay_id(self) -> bytes:
        with self._condition:
            return encode_replay_id(self._sequence)

    # --- Inspection (tests and tooling) -------------------------------------------------------

    def events(self, topic: str) -> list[StoredEvent]:
        with self._condition:
            return list(self._topics[topic].events)

    def decode(self, event: StoredEvent) -> dict[str, Any]:
        return avro.decode(self.schema(event.schema_id), event.payload)

    def decoded_events(self, topic: str) -> list[dict[str, Any]]:
        return [self.decode(event) for event in self.events(topic)]
