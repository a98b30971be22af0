"""The portal's subscriber against the emulator: decoding, flow control, reconnects, auth refresh."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest

from apps.integrations.salesforce.pubsub.subscriber import (
    DecodedEvent,
    PubSubSubscriber,
    SubscriptionError,
)
from emulators.salesforce.eventbus import EventBus
from emulators.salesforce.grpc_server import PubSubEmulator
from tests.helpers import Background, wait_until

from .conftest import (
    ACCOUNT_TOPIC,
    GOOD_TOKEN,
    ORDER_TOPIC,
    FakeAuth,
    publish_numbered,
)


class Cursor:
    """An in-memory stand-in for the durable cursor: the last replay ID handled."""

    def __init__(self, replay_id: bytes | None = None) -> None:
        self.replay_id = replay_id
        self.events: list[DecodedEvent] = []
        self.keepalives: list[bytes] = []

    def on_event(self, event: DecodedEvent) -> None:
        self.events.append(event)
        self.replay_id = event.replay_id

    def on_events(self, events: list[DecodedEvent]) -> None:
        for event in events:
            self.on_event(event)

    def on_keepalive(self, replay_id: bytes) -> None:
        self.keepalives.append(replay_id)
        self.replay_id = replay_id

    def ids(self) -> list[str]:
        return [event.event_id for event in self.events]


def each(on_event: Callable[[DecodedEvent], None]) -> Callable[[list[DecodedEvent]], None]:
    """A batch callback that handles the batch's events one by one, stopping at the first failure."""

    def on_events(events: list[DecodedEvent]) -> None:
        for event in events:
            on_event(event)

    return on_events


def _run(subscriber: PubSubSubscriber, cursor: Cursor, stop: threading.Event, **overrides: Any) -> Background:
    options: dict[str, Any] = {
        "on_events": cursor.on_events,
        "on_keepalive": cursor.on_keepalive,
        "get_start_replay_id": lambda: cursor.replay_id,
        "stop_event": stop,
        **overrides,
    }
    return Background(lambda: subscriber.run(**options), name="subscriber")


class _Recorder(grpc.StreamStreamClientInterceptor):
    """Records what the client asks for and what each response holds."""

    def __init__(self) -> None:
        self.requested: list[int] = []
        self.delivered: list[int] = []

    def intercept_stream_stream(
        self, continuation: Any, details: Any, request_iterator: Iterator[Any]
    ) -> Any:
        def requests() -> Iterator[Any]:
            for request in request_iterator:
                self.requested.append(request.num_requested)
                yield request

        responses = continuation(details, requests())
        recorder = self

        class _Responses:
            def __iter__(self) -> Iterator[Any]:
                return self

            def __next__(self) -> Any:
                response = next(responses)
                if response.events:
                    recorder.delivered.append(len(response.events))
                return response

            def cancel(self) -> bool:
                return bool(responses.cancel())

        return _Responses()


def test_both_event_types_are_decoded_with_their_schemas(
    make_subscriber: Callable[..., PubSubSubscriber], bus: EventBus
) -> None:
    # Given one event of each type, published after the stored position
    account_cursor, order_cursor = Cursor(bus.latest_replay_id()), Cursor(bus.latest_replay_id())
    bus.publish(
        ACCOUNT_TOPIC,
        {
            "CreatedDate": 1_767_600_000_000,
            "AccountId__c": "001000000000001AAA",
            "Internet_Eligibility__c": "Home 1G",
            "Internet_Eligibility_Status__c": "Eligible",
            "Internet_Eligibility_Checked_Date_Time__c": 1_767_599_000_000,
        },
        event_id="acc-1",
    )
    bus.publish(
        ORDER_TOPIC,
        {
            "CreatedDate": 1_767_600_000_001,
            "OrderId__c": "801000000000001AAA",
            "IdemKey__c": "801000000000001AAA-2026-01-05T08:00:00.000Z",
            "Version__c": 1.0,
        },
        event_id="ord-1",
    )
    stop = threading.Event()

    # When a subscriber per topic runs until it has its event
    runs = [
        _run(make_subscriber(ACCOUNT_TOPIC), account_cursor, stop),
        _run(make_subscriber(ORDER_TOPIC), order_cursor, stop),
    ]
    wait_until(lambda: account_cursor.events and order_cursor.events, message="both events")
    stop.set()
    for run in runs:
        run.join()

    # Then each payload is decoded exactly
    [account_event], [order_event] = account_cursor.events, order_cursor.events
    assert (account_event.topic, account_event.event_id, account_event.replay_id) == (
        ACCOUNT_TOPIC,
        "acc-1",
        bus.events(ACCOUNT_TOPIC)[0].replay_id,
    )
    assert account_event.schema_id == bus.topic(ACCOUNT_TOPIC).schema_id
    assert account_event.payload == {
        "CreatedDate": 1_767_600_000_000,
        "CreatedById": "005000000000001AAA",
        "AccountId__c": "001000000000001AAA",
        "Internet_Eligibility__c": "Home 1G",
        "Internet_Eligibility_Status__c": "Eligible",
        "Internet_Eligibility_Request_Date_Time__c": None,
        "Internet_Eligibility_Checked_Date_Time__c": 1_767_599_000_000,
        "Internet_Eligibility_Notes__c": None,
        "Internet_Eligibility_Case_Id__c": None,
        "Id_Verification_Status__c": None,
        "Id_Verification_Rejection_Message__c": None,
    }
    assert (order_event.topic, order_event.event_id) == (ORDER_TOPIC, "ord-1")
    assert order_event.payload == {
        "CreatedDate": 1_767_600_000_001,
        "CreatedById": "005000000000001AAA",
        "OrderId__c": "801000000000001AAA",
        "IdemKey__c": "801000000000001AAA-2026-01-05T08:00:00.000Z",
        "CorrelationId__c": None,
        "RequestedBy__c": None,
        "Version__c": 1.0,
    }


def test_more_events_than_the_batch_size_arrive_in_order_with_flow_control(
    make_subscriber: Callable[..., PubSubSubscriber], bus: EventBus, emulator: PubSubEmulator
) -> None:
    # Given 23 events after the stored position and a batch size of 5
    cursor = Cursor(bus.latest_replay_id())
    expected = publish_numbered(bus, ORDER_TOPIC, 23)
    recorder = _Recorder()
    subscriber = make_subscriber(
        batch_size=5,
        channel_factory=lambda target: grpc.intercept_channel(grpc.insecure_channel(target), recorder),
    )
    stop = threading.Event()

    # When the subscriber runs until it has them all
    run = _run(subscriber, cursor, stop)
    wait_until(lambda: len(cursor.events) >= 23, message="23 events")
    stop.set()
    run.join()

    # Then they came in order, 5 per request, with a new request each time the 5 were used up
    assert cursor.ids() == expected
    assert recorder.delivered == [5, 5, 5, 5, 3]
    assert recorder.requested == [5, 5, 5, 5, 5]


def test_the_fetches_waiting_while_a_batch_is_handled_come_together_and_no_more_is_asked_for(
    make_subscriber: Callable[..., PubSubSubscriber], bus: EventBus, emulator: PubSubEmulator
) -> None:
    # Given 23 events after the stored position, a batch size of 5 and at most 3 responses read ahead
    cursor = Cursor(bus.latest_replay_id())
    expected = publish_numbered(bus, ORDER_TOPIC, 23)
    recorder = _Recorder()
    subscriber = make_subscriber(
        batch_size=5,
        prefetch=3,
        channel_factory=lambda target: grpc.intercept_channel(grpc.insecure_channel(target), recorder),
    )
    calls: list[int] = []

    def slow_first(events: list[DecodedEvent]) -> None:
        if not calls:  # The first batch is handled while the next fetches arrive and wait
            wait_until(lambda: len(recorder.delivered) >= 4, message="three more responses read ahead")
        calls.append(len(events))
        cursor.on_events(events)

    stop = threading.Event()

    # When the subscriber runs until it has them all
    run = _run(subscriber, cursor, stop, on_events=slow_first)
    wait_until(lambda: len(cursor.events) >= 23, message="23 events")
    stop.set()
    run.join()

    # Then the responses that waited were handed over together (the last one too if it was
    # queued in time), in order
    assert cursor.ids() == expected
    assert calls[0] == 5
    assert calls[1] in (15, 18)
    assert recorder.delivered == [5, 5, 5, 5, 3]


def test_latest_is_used_when_no_position_is_stored(
    make_subscriber: Callable[..., PubSubSubscriber], bus: EventBus, emulator: PubSubEmulator
) -> None:
    # Given events published before the first subscription
    publish_numbered(bus, ORDER_TOPIC, 3)
    cursor = Cursor()
    stop = threading.Event()
    run = _run(make_subscriber(), cursor, stop)
    wait_until(lambda: emulator.active_streams() == 1, message="the stream")

    # When one more is published
    publish_numbered(bus, ORDER_TOPIC, 1, start=4)
    wait_until(lambda: cursor.events, message="the new event")
    stop.set()
    run.join()

    # Then only the new one is received
    assert cursor.ids() == ["evt-004"]


@pytest.mark.parametrize("fault", ["drop_streams", "drop_after"])
def test_a_dropped_stream_resumes_with_nothing_lost_or_repeated(
    make_subscriber: Callable[..., PubSubSubscriber], bus: EventBus, emulator: PubSubEmulator, fault: str
) -> None:
    # Given 25 events and a batch size of 10
    cursor = Cursor(bus.latest_replay_id())
    expected = publish_numbered(bus, ORDER_TOPIC, 25)
    handled: Counter[str] = Counter()

    def on_event(event: DecodedEvent) -> None:
        handled[event.event_id] += 1
        cursor.on_event(event)
        # When the stream drops in the middle of a batch
        if fault == "drop_streams" and event.event_id == "evt-014" and handled[event.event_id] == 1:
            emulator.drop_streams()

    if fault == "drop_after":
        emulator.drop_after(7)
    stop = threading.Event()
    run = _run(make_subscriber(batch_size=10), cursor, stop, on_events=each(on_event))
    wait_until(lambda: len(cursor.events) >= 25, message="25 events")
    stop.set()
    run.join()

    # Then every event was handled exactly once, in order
    assert cursor.ids() == expected
    assert set(handled.values()) == {1}


def test_a_failing_callback_gets_the_event_again(
    make_subscriber: Callable[..., PubSubSubscriber], bus: EventBus
) -> None:
    # Given a callback that fails once on the second event (and so does not record it)
    cursor = Cursor(bus.latest_replay_id())
    publish_numbered(bus, ORDER_TOPIC, 3)
    attempts: Counter[str] = Counter()

    def on_event(event: DecodedEvent) -> None:
        attempts[event.event_id] += 1
        if event.event_id == "evt-002" and attempts[event.event_id] == 1:
            raise RuntimeError("handler failed")
        cursor.on_event(event)

    stop = threading.Event()
    run = _run(make_subscriber(), cursor, stop, on_events=each(on_event))
    wait_until(lambda: len(cursor.events) >= 3, message="3 events")
    stop.set()
    run.join()

    # Then it is delivered again after a reconnect, and nothing after it was skipped
    assert cursor.ids() == ["evt-001", "evt-002", "evt-003"]
    assert attempts == {"evt-001": 1, "evt-002": 2, "evt-003": 1}


def test_unauthenticated_refreshes_the_session_and_recovers(
    make_subscriber: Callable[..., PubSubSubscriber], bus: EventBus
) -> None:
    # Given a cached session whose token the org no longer accepts
    auth = FakeAuth("expired-token", GOOD_TOKEN)
    cursor = Cursor(bus.latest_replay_id())
    publish_numbered(bus, ORDER_TOPIC, 2)
    stop = threading.Event()

    # When the subscriber starts
    run = _run(make_subscriber(auth=auth), cursor, stop)
    wait_until(lambda: len(cursor.events) >= 2, message="2 events")
    stop.set()
    run.join()

    # Then it was refused once, asked for a new session, and received the events
    assert auth.calls == [False, True]
    assert cursor.ids() == ["evt-001", "evt-002"]


def test_keepalives_report_the_latest_replay_id(
    make_subscriber: Callable[..., PubSubSubscriber], bus: EventBus
) -> None:
    # Given a quiet topic while another topic moves on
    cursor = Cursor(bus.latest_replay_id())
    bus.publish(ACCOUNT_TOPIC, {"AccountId__c": "001000000000001AAA"})
    stop = threading.Event()

    # When the subscriber idles past the keepalive interval
    run = _run(make_subscriber(), cursor, stop)
    wait_until(lambda: cursor.keepalives, message="a keepalive")
    stop.set()
    run.join()

    # Then the keepalive's replay ID was handed over
    assert cursor.keepalives[0] == bus.latest_replay_id()
    assert cursor.events == []


def test_a_corrupted_replay_id_falls_back_to_earliest(
    make_subscriber: Callable[..., PubSubSubscriber], bus: EventBus
) -> None:
    # Given a stored replay ID the bus never issued
    cursor = Cursor(b"garbage")
    publish_numbered(bus, ORDER_TOPIC, 2)
    stop = threading.Event()

    # When the subscriber starts
    run = _run(make_subscriber(), cursor, stop)
    wait_until(lambda: len(cursor.events) >= 2, message="2 events")
    stop.set()
    run.join()

    # Then it replays what is retained rather than stalling
    assert cursor.ids() == ["evt-001", "evt-002"]


def test_an_unknown_topic_is_a_terminal_error(make_subscriber: Callable[..., PubSubSubscriber]) -> None:
    subscriber = make_subscriber("/event/Nope__e")

    with pytest.raises(SubscriptionError, match="NOT_FOUND"):
        subscriber.run(
            on_events=lambda events: None, get_start_replay_id=lambda: None, stop_event=threading.Event()
        )


def test_a_silent_stream_is_reconnected(
    make_subscriber: Callable[..., PubSubSubscriber], bus: EventBus, emulator: PubSubEmulator
) -> None:
    # Given a server whose keepalives come far later than the client's patience
    emulator.keepalive_interval = 60.0
    auth = FakeAuth()
    cursor = Cursor(bus.latest_replay_id())
    stop = threading.Event()
    run = _run(make_subscriber(auth=auth, keepalive_timeout=0.2), cursor, stop)

    # When the client gives up on the silent stream and an event is published afterwards
    wait_until(lambda: len(auth.calls) >= 2, timeout=5, message="a reconnect")
    publish_numbered(bus, ORDER_TOPIC, 1)
    wait_until(lambda: cursor.events, message="the event")
    stop.set()
    run.join()

    # Then a new stream delivers it
    assert cursor.ids() == ["evt-001"]
    assert auth.calls[:2] == [False, False]
