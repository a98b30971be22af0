"""Durable processing: the replay ID is committed with the handlers' work, one subscriber holds a
topic, standbys take over, and a restart resumes exactly after the last committed event."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.integrations.models import EventReplayCursor, OutboxEntry, TargetSystem
from apps.integrations.salesforce import events
from apps.integrations.salesforce.events import (
    HandlerRegistry,
    LeaseLostError,
    TopicConsumer,
    acquire_lease,
    event_handler,
    process_event,
    release_lease,
    renew_lease,
)
from apps.integrations.salesforce.pubsub.subscriber import DecodedEvent, PubSubSubscriber
from emulators.salesforce.eventbus import EventBus
from emulators.salesforce.grpc_server import PubSubEmulator
from tests.helpers import Background, wait_until

from .conftest import (
    ACCOUNT_TOPIC,
    FAST_BACKOFF,
    ORDER_TOPIC,
    FakeAuth,
    publish_numbered,
)

pytestmark = pytest.mark.django_db(transaction=True)


class RecordingHandler:
    """A handler that writes one row per event (so rollbacks are visible) and counts its calls."""

    def __init__(self, fail_once_on: str | None = None, on_call: Any = None, failures: int = 1) -> None:
        self.calls: Counter[str] = Counter()
        self.fail_once_on = fail_once_on
        self.failures = failures
        self.on_call = on_call

    def __call__(self, payload: dict[str, Any], event: DecodedEvent) -> None:
        self.calls[event.event_id] += 1
        OutboxEntry.objects.create(
            target_system=TargetSystem.SALESFORCE,
            operation="test_event",
            record_key=event.event_id,
            payload={"order_id": payload["OrderId__c"]},
        )
        if self.on_call is not None:
            self.on_call(event, self.calls[event.event_id])
        if event.event_id == self.fail_once_on and self.calls[event.event_id] <= self.failures:
            raise RuntimeError("the handler failed")

    def committed(self) -> list[str]:
        return list(OutboxEntry.objects.order_by("id").values_list("record_key", flat=True))


def _consumer(
    emulator: PubSubEmulator,
    handler: RecordingHandler | None,
    *,
    owner: str,
    topic: str = ORDER_TOPIC,
    lease_ttl: float = 5.0,
    max_events: int | None = None,
    batch_size: int = 10,
) -> TopicConsumer:
    handlers = HandlerRegistry()
    if handler is not None:
        handlers.register(topic, handler)
    return TopicConsumer(
        topic,
        lambda: PubSubSubscriber(
            emulator.address, topic, FakeAuth(), plaintext=True, batch_size=batch_size, backoff=FAST_BACKOFF
        ),
        owner=owner,
        lease_ttl=timedelta(seconds=lease_ttl),
        standby_poll_interval=0.05,
        max_events=max_events,
        handlers=handlers,
    )


def _start(consumer: TopicConsumer, stop: threading.Event) -> Background:
    return Background(lambda: consumer.run(stop), name=f"consumer {consumer.owner}")


@pytest.fixture
def refused_polls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many times each owner asked for the lease and was refused: a standby's polls, the
    positive marker that it kept checking while another subscriber held the topic."""
    refused: Counter[str] = Counter()
    acquire = events.acquire_lease

    def counting(topic: str, owner: str, ttl: timedelta = events.DEFAULT_LEASE_TTL) -> bool:
        taken = acquire(topic, owner, ttl)
        if not taken:
            refused[owner] += 1
        return taken

    monkeypatch.setattr(events, "acquire_lease", counting)
    return refused


def _position_cursor_at_tip(bus: EventBus, topic: str = ORDER_TOPIC) -> None:
    """Store the bus's current position, as a subscriber that ran before would have."""
    EventReplayCursor.objects.create(topic=topic, replay_id=bus.latest_replay_id())


def _cursor(topic: str = ORDER_TOPIC) -> EventReplayCursor:
    return EventReplayCursor.objects.get(topic=topic)


def test_events_commit_with_the_cursor_and_a_dropped_stream_loses_and_repeats_nothing(
    bus: EventBus, emulator: PubSubEmulator
) -> None:
    # Given 25 events after the stored position, and a stream that drops mid-batch at the 14th
    _position_cursor_at_tip(bus)
    expected = publish_numbered(bus, ORDER_TOPIC, 25)

    def drop_on_first_sight(event: DecodedEvent, call: int) -> None:
        if event.event_id == "evt-014" and call == 1:
            emulator.drop_streams()

    handler = RecordingHandler(on_call=drop_on_first_sight)
    consumer = _consumer(emulator, handler, owner="worker-a", batch_size=10)
    stop = threading.Event()

    # When the consumer runs until all are handled
    run = _start(consumer, stop)
    wait_until(lambda: consumer.events_handled >= 25, message="25 events")
    stop.set()
    run.join()

    # Then each was handled once, committed in order, and the cursor sits on the last one
    assert set(handler.calls.values()) == {1}
    assert handler.committed() == expected
    cursor = _cursor()
    assert (cursor.events_processed, bytes(cursor.replay_id or b"")) == (
        25,
        bus.events(ORDER_TOPIC)[-1].replay_id,
    )
    assert cursor.last_event_at is not None
    assert (cursor.lease_owner, cursor.lease_expires_at) == ("", None)


def test_a_restart_resumes_after_the_stored_replay_id(bus: EventBus, emulator: PubSubEmulator) -> None:
    # Given 25 events, and a first run that stops after 10
    _position_cursor_at_tip(bus)
    expected = publish_numbered(bus, ORDER_TOPIC, 25)
    handler = RecordingHandler()
    first = _consumer(emulator, handler, owner="run-1", max_events=10, batch_size=4)
    _start(first, threading.Event()).join()
    assert (first.events_handled, _cursor().events_processed) == (10, 10)

    # When a new process starts
    second = _consumer(emulator, handler, owner="run-2", batch_size=4)
    stop = threading.Event()
    run = _start(second, stop)
    wait_until(lambda: second.events_handled >= 15, message="15 more events")
    stop.set()
    run.join()

    # Then it continues with the 11th: nothing lost, nothing handled twice
    assert second.events_handled == 15
    assert set(handler.calls.values()) == {1}
    assert handler.committed() == expected
    assert _cursor().events_processed == 25


def test_a_failing_batch_commits_the_events_before_the_bad_one_and_redelivers_it(
    bus: EventBus, emulator: PubSubEmulator
) -> None:
    # Given one batch of 5 events whose 3rd fails twice: in the batch, and again on its own
    _position_cursor_at_tip(bus)
    expected = publish_numbered(bus, ORDER_TOPIC, 5)
    handler = RecordingHandler(fail_once_on="evt-003", failures=2)
    consumer = _consumer(emulator, handler, owner="worker-a")
    stop = threading.Event()

    # When the consumer runs
    run = _start(consumer, stop)
    wait_until(lambda: consumer.events_handled >= 5, message="5 events")
    stop.set()
    run.join()

    # Then the failed batch (stopped at the 3rd) left nothing; retried one by one, the 1st and 2nd
    # committed and the 3rd failed again, so the stream resumed after the 2nd with a new batch
    assert handler.calls == {"evt-001": 2, "evt-002": 2, "evt-003": 3, "evt-004": 1, "evt-005": 1}
    assert handler.committed() == expected
    assert _cursor().events_processed == 5


def test_a_batch_handler_gets_each_fetched_batch_in_one_transaction(
    bus: EventBus, emulator: PubSubEmulator
) -> None:
    # Given a batch handler that writes a row per event and fails on the first batch it sees
    _position_cursor_at_tip(bus)
    expected = publish_numbered(bus, ORDER_TOPIC, 7)
    batches: list[list[str]] = []
    per_event = RecordingHandler()

    def handle(events_in_batch: Sequence[DecodedEvent]) -> None:
        batches.append([event.event_id for event in events_in_batch])
        for event in events_in_batch:
            per_event(event.payload, event)
        if len(batches) == 1:
            raise RuntimeError("the batch handler failed")

    handlers = HandlerRegistry()
    handlers.register(ORDER_TOPIC, handle, batch=True)
    consumer = _consumer(emulator, None, owner="worker-a", batch_size=5)
    consumer._handlers = handlers
    stop = threading.Event()

    # When the consumer runs
    run = _start(consumer, stop)
    wait_until(lambda: consumer.events_handled >= 7, message="7 events")
    stop.set()
    run.join()

    # Then the failed batch was rolled back and retried one event at a time, later batches whole
    assert batches[0] == ["evt-001", "evt-002", "evt-003", "evt-004", "evt-005"]
    assert batches[1:6] == [["evt-001"], ["evt-002"], ["evt-003"], ["evt-004"], ["evt-005"]]
    assert batches[6:] == [["evt-006", "evt-007"]]
    assert per_event.committed() == expected
    cursor = _cursor()
    assert (cursor.events_processed, bytes(cursor.replay_id or b"")) == (
        7,
        bus.events(ORDER_TOPIC)[-1].replay_id,
    )


def test_process_event_rolls_back_when_a_handler_fails(bus: EventBus) -> None:
    # Given a held lease and a failing handler
    assert acquire_lease(ORDER_TOPIC, "worker-a", timedelta(seconds=30))
    handlers = HandlerRegistry()
    handlers.register(ORDER_TOPIC, RecordingHandler(fail_once_on="evt-1"))
    event = DecodedEvent(ORDER_TOPIC, b"\x00" * 7 + b"\x05", "evt-1", "schema", {"OrderId__c": "801"})

    # When the event is processed
    with pytest.raises(RuntimeError, match="the handler failed"):
        process_event(ORDER_TOPIC, event, owner="worker-a", handlers=handlers)

    # Then neither the handler's row nor the cursor changed
    assert OutboxEntry.objects.count() == 0
    cursor = _cursor()
    assert (cursor.replay_id, cursor.events_processed, cursor.last_event_at) == (None, 0, None)


def test_only_the_lease_holder_can_commit_an_event() -> None:
    assert acquire_lease(ORDER_TOPIC, "worker-a", timedelta(seconds=30))
    handlers = HandlerRegistry()
    handler = RecordingHandler()
    handlers.register(ORDER_TOPIC, handler)
    event = DecodedEvent(ORDER_TOPIC, b"\x00" * 7 + b"\x05", "evt-1", "schema", {"OrderId__c": "801"})

    with pytest.raises(LeaseLostError):
        process_event(ORDER_TOPIC, event, owner="worker-b", handlers=handlers)

    assert handler.calls == {}
    assert _cursor().events_processed == 0


def test_lease_acquire_renew_and_release() -> None:
    ttl = timedelta(seconds=30)

    assert acquire_lease(ORDER_TOPIC, "worker-a", ttl) is True
    assert acquire_lease(ORDER_TOPIC, "worker-b", ttl) is False
    assert acquire_lease(ORDER_TOPIC, "worker-a", ttl) is True  # Re-acquiring our own lease is a renewal.
    assert renew_lease(ORDER_TOPIC, "worker-b", ttl) is False
    assert renew_lease(ORDER_TOPIC, "worker-a", ttl) is True
    assert _cursor().lease_owner == "worker-a"

    assert release_lease(ORDER_TOPIC, "worker-b") is False
    assert release_lease(ORDER_TOPIC, "worker-a") is True
    assert acquire_lease(ORDER_TOPIC, "worker-b", ttl) is True

    EventReplayCursor.objects.filter(topic=ORDER_TOPIC).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert acquire_lease(ORDER_TOPIC, "worker-a", ttl) is True
    assert renew_lease(ORDER_TOPIC, "worker-b", ttl) is False
    assert _cursor().lease_owner == "worker-a"


def test_keepalive_moves_the_cursor_of_an_idle_topic(bus: EventBus, emulator: PubSubEmulator) -> None:
    # Given a consumer of a quiet topic while another topic moves on
    _position_cursor_at_tip(bus)
    consumer = _consumer(emulator, RecordingHandler(), owner="worker-a")
    stop = threading.Event()
    run = _start(consumer, stop)
    wait_until(lambda: emulator.active_streams() == 1, message="the stream")
    bus.publish(ACCOUNT_TOPIC, {"AccountId__c": "001000000000001AAA"})
    tip = bus.latest_replay_id()

    # When the keepalive interval passes
    wait_until(lambda: bytes(_cursor().replay_id or b"") == tip, message="the keepalive to be stored")

    # Then the cursor holds the keepalive's replay ID, without counting an event, and new events still arrive
    assert _cursor().events_processed == 0
    publish_numbered(bus, ORDER_TOPIC, 1)
    wait_until(lambda: consumer.events_handled == 1, message="the event")
    stop.set()
    run.join()
    assert _cursor().events_processed == 1


def test_a_standby_takes_over_when_the_leader_stops(
    bus: EventBus, emulator: PubSubEmulator, refused_polls: Counter[str]
) -> None:
    # Given a leader and a standby
    _position_cursor_at_tip(bus)
    handler = RecordingHandler()
    leader = _consumer(emulator, handler, owner="worker-a")
    standby = _consumer(emulator, handler, owner="worker-b")
    stop_leader, stop_standby = threading.Event(), threading.Event()
    leader_run = _start(leader, stop_leader)
    leader.is_leader.wait(5)
    standby_run = _start(standby, stop_standby)
    publish_numbered(bus, ORDER_TOPIC, 3)
    wait_until(lambda: leader.events_handled == 3, message="the leader's events")
    polls = refused_polls["worker-b"]
    wait_until(lambda: refused_polls["worker-b"] >= polls + 3, message="three more polls of the standby")
    assert not standby.is_leader.is_set()

    # When the leader stops (releasing the lease) and more events come
    stop_leader.set()
    leader_run.join()
    assert standby.is_leader.wait(5)
    publish_numbered(bus, ORDER_TOPIC, 3, start=4)
    wait_until(lambda: standby.events_handled == 3, message="the standby's events")
    stop_standby.set()
    standby_run.join()

    # Then the standby continued after the leader's last event
    assert (leader.events_handled, standby.events_handled) == (3, 3)
    assert set(handler.calls.values()) == {1}
    assert handler.committed() == ["evt-001", "evt-002", "evt-003", "evt-004", "evt-005", "evt-006"]


def test_a_standby_takes_over_when_the_leaders_lease_expires(bus: EventBus, emulator: PubSubEmulator) -> None:
    # Given a lease held by a subscriber that died without releasing it
    _position_cursor_at_tip(bus)
    assert acquire_lease(ORDER_TOPIC, "dead-worker", timedelta(seconds=0.5))
    handler = RecordingHandler()
    standby = _consumer(emulator, handler, owner="worker-b")
    stop = threading.Event()
    started = time.monotonic()

    # When the standby polls past the expiry
    run = _start(standby, stop)
    assert standby.is_leader.wait(5)
    took_over_after = time.monotonic() - started
    publish_numbered(bus, ORDER_TOPIC, 2)
    wait_until(lambda: standby.events_handled == 2, message="the events")

    # Then it took over and the dead worker can no longer commit anything
    dead_event = DecodedEvent(
        ORDER_TOPIC, bus.events(ORDER_TOPIC)[0].replay_id, "evt-001", "s", {"OrderId__c": "x"}
    )
    with pytest.raises(LeaseLostError):
        process_event(ORDER_TOPIC, dead_event, owner="dead-worker", handlers=HandlerRegistry())
    stop.set()
    run.join()
    assert took_over_after >= 0.3
    assert handler.committed() == ["evt-001", "evt-002"]
    assert _cursor().events_processed == 2


def test_a_leader_whose_lease_is_taken_stops_without_committing(
    bus: EventBus, emulator: PubSubEmulator, refused_polls: Counter[str]
) -> None:
    # Given a leader with a short lease
    _position_cursor_at_tip(bus)
    handler = RecordingHandler()
    leader = _consumer(emulator, handler, owner="worker-a", lease_ttl=0.3)
    stop = threading.Event()
    run = _start(leader, stop)
    assert leader.is_leader.wait(5)

    # When another worker takes the lease over (as after a long pause of the leader)
    EventReplayCursor.objects.filter(topic=ORDER_TOPIC).update(
        lease_owner="worker-b", lease_expires_at=timezone.now() + timedelta(seconds=60)
    )
    wait_until(lambda: not leader.is_leader.is_set(), message="the leader to step down")
    polls = refused_polls["worker-a"]
    publish_numbered(bus, ORDER_TOPIC, 2)
    wait_until(lambda: refused_polls["worker-a"] >= polls + 2, message="two polls of the old leader")

    # Then the old leader handled nothing and stands by
    stop.set()
    run.join()
    assert handler.calls == {}
    assert _cursor().lease_owner == "worker-b"


def test_event_handler_registers_in_the_default_registry() -> None:
    topic = "/event/Test_Only__e"

    @event_handler(topic)
    def handle(payload: dict[str, Any], event: DecodedEvent) -> None:
        pass

    try:
        assert events.registry.handlers(topic) == [handle]
    finally:
        events.registry.unregister(topic, handle)
    assert events.registry.handlers(topic) == []
