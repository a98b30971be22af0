"""The emulator speaks the Pub/Sub protocol: unary RPCs, auth, replay rules, flow control, faults."""

from __future__ import annotations

import queue
import time
from typing import Any

import grpc
import pytest

from emulators.salesforce.eventbus import EventBus, decode_replay_id, encode_replay_id
from emulators.salesforce.grpc_server import (
    AUTH_ERROR_CODE,
    REPLAY_ID_CORRUPTED_ERROR_CODE,
    UNAVAILABLE_ERROR_CODE,
    PubSubEmulator,
)
from salesforce_pubsub import avro
from tests.helpers import wait_until

from .conftest import ACCOUNT_TOPIC, KEEPALIVE_SECONDS, ORDER_TOPIC, ORG_ID, metadata, publish_numbered


def _trailer(error: grpc.RpcError, key: str) -> str:
    assert isinstance(error, grpc.Call)
    return dict(error.trailing_metadata() or ())[key]


class _Requests:
    """A Subscribe request stream the test feeds by hand."""

    def __init__(self, *first: Any) -> None:
        self._queue: queue.Queue[Any] = queue.Queue()
        for request in first:
            self._queue.put(request)

    def put(self, request: Any) -> None:
        self._queue.put(request)

    def __iter__(self) -> _Requests:
        return self

    def __next__(self) -> Any:
        item = self._queue.get()
        if item is None:
            raise StopIteration
        return item


def test_get_topic_get_schema_and_publish_round_trip(stub: Any, pb2: Any, bus: EventBus) -> None:
    # Given the topic's schema, found the way a publishing client finds it
    topic = stub.GetTopic(pb2.TopicRequest(topic_name=ORDER_TOPIC), metadata=metadata())
    schema = stub.GetSchema(pb2.SchemaRequest(schema_id=topic.schema_id), metadata=metadata())
    assert (topic.topic_name, topic.tenant_guid, topic.can_publish, topic.can_subscribe) == (
        ORDER_TOPIC,
        ORG_ID,
        True,
        True,
    )
    assert schema.schema_id == topic.schema_id == avro.schema_fingerprint(schema.schema_json)
    record = {
        "CreatedDate": 1_767_600_000_000,
        "CreatedById": "005000000000002AAA",
        "OrderId__c": "801000000000001AAA",
        "IdemKey__c": "801000000000001AAA-2026-01-05T08:00:00.000Z",
        "CorrelationId__c": "corr-1",
        "RequestedBy__c": "005000000000002AAA",
        "Version__c": 1.0,
    }

    # When one valid event and one without the required CreatedDate are published
    response = stub.Publish(
        pb2.PublishRequest(
            topic_name=ORDER_TOPIC,
            events=[
                pb2.ProducerEvent(
                    id="evt-1", schema_id=topic.schema_id, payload=avro.encode(schema.schema_json, record)
                ),
                pb2.ProducerEvent(
                    id="evt-2",
                    schema_id=topic.schema_id,
                    payload=avro.encode(schema.schema_json, {**record, "CreatedById": ""}),
                ),
            ],
        ),
        metadata=metadata(),
    )

    # Then the first is stored as sent and the second is refused with its own error
    assert response.schema_id == topic.schema_id
    assert [result.correlation_key for result in response.results] == ["evt-1", "evt-2"]
    assert response.results[0].replay_id == bus.events(ORDER_TOPIC)[0].replay_id
    assert not response.results[0].HasField("error")
    assert response.results[1].error.code == pb2.ErrorCode.Value("PUBLISH")
    assert response.results[1].error.msg == "Required fields are missing: CreatedById"
    assert [event.event_id for event in bus.events(ORDER_TOPIC)] == ["evt-1"]
    assert bus.decoded_events(ORDER_TOPIC) == [record]


def test_bus_publish_adds_the_system_fields_and_nulls_missing_fields() -> None:
    bus = EventBus(start_sequence=41, clock=lambda: 1_767_600_000.123)

    replay_id = bus.publish(ACCOUNT_TOPIC, {"AccountId__c": "001000000000001AAA"}, event_id="evt-1")

    assert decode_replay_id(replay_id) == 42
    assert bus.decoded_events(ACCOUNT_TOPIC) == [
        {
            "CreatedDate": 1_767_600_000_123,
            "CreatedById": "005000000000001AAA",
            "AccountId__c": "001000000000001AAA",
            "Internet_Eligibility__c": None,
            "Internet_Eligibility_Status__c": None,
            "Internet_Eligibility_Request_Date_Time__c": None,
            "Internet_Eligibility_Checked_Date_Time__c": None,
            "Internet_Eligibility_Notes__c": None,
            "Internet_Eligibility_Case_Id__c": None,
            "Id_Verification_Status__c": None,
            "Id_Verification_Rejection_Message__c": None,
        }
    ]


def test_bus_drops_events_older_than_the_retention_window() -> None:
    from datetime import timedelta

    now = [1_000.0]
    bus = EventBus(start_sequence=0, retention=timedelta(seconds=60), clock=lambda: now[0])
    publish_numbered(bus, ORDER_TOPIC, 2)
    now[0] += 61

    publish_numbered(bus, ORDER_TOPIC, 1, start=3)

    assert [event.event_id for event in bus.events(ORDER_TOPIC)] == ["evt-003"]


@pytest.mark.parametrize("token", ["", "expired-token"])
def test_calls_without_a_valid_token_are_unauthenticated(stub: Any, pb2: Any, token: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetTopic(pb2.TopicRequest(topic_name=ORDER_TOPIC), metadata=metadata(token))

    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert _trailer(caught.value, "error-code") == AUTH_ERROR_CODE
    assert "rpcId: " in caught.value.details()


def test_a_tenant_other_than_the_org_is_unauthenticated(stub: Any, pb2: Any) -> None:
    wrong_tenant = (("accesstoken", metadata()[0][1]), ("instanceurl", "https://x"), ("tenantid", "00DOTHER"))

    with pytest.raises(grpc.RpcError) as caught:
        stub.GetTopic(pb2.TopicRequest(topic_name=ORDER_TOPIC), metadata=wrong_tenant)

    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_the_first_fetch_request_must_name_the_topic(stub: Any, pb2: Any) -> None:
    responses = stub.Subscribe(iter([pb2.FetchRequest(num_requested=1)]), metadata=metadata())

    with pytest.raises(grpc.RpcError) as caught:
        next(responses)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("replay_id", [b"\x01\x02", encode_replay_id(10**12)], ids=["malformed", "ahead"])
def test_an_unknown_replay_id_is_corrupted(stub: Any, pb2: Any, replay_id: bytes) -> None:
    first = pb2.FetchRequest(
        topic_name=ORDER_TOPIC,
        replay_preset=pb2.ReplayPreset.Value("CUSTOM"),
        replay_id=replay_id,
        num_requested=1,
    )
    responses = stub.Subscribe(iter([first]), metadata=metadata())

    with pytest.raises(grpc.RpcError) as caught:
        next(responses)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _trailer(caught.value, "error-code") == REPLAY_ID_CORRUPTED_ERROR_CODE


def test_replay_presets_apply_only_to_the_first_request(stub: Any, pb2: Any, bus: EventBus) -> None:
    # Given six events, and a stream starting after the second with 2 events requested
    publish_numbered(bus, ORDER_TOPIC, 6)
    second = bus.events(ORDER_TOPIC)[1].replay_id
    requests = _Requests(
        pb2.FetchRequest(
            topic_name=ORDER_TOPIC,
            replay_preset=pb2.ReplayPreset.Value("CUSTOM"),
            replay_id=second,
            num_requested=2,
        )
    )
    responses = stub.Subscribe(requests, metadata=metadata())

    first = next(responses)
    # When a later request asks for EARLIEST
    requests.put(pb2.FetchRequest(replay_preset=pb2.ReplayPreset.Value("EARLIEST"), num_requested=2))
    later = next(responses)
    responses.cancel()

    # Then it only adds to the number requested; delivery continues where it was
    assert [event.event.id for event in first.events] == ["evt-003", "evt-004"]
    assert first.pending_num_requested == 0
    assert first.latest_replay_id == bus.events(ORDER_TOPIC)[3].replay_id
    assert [event.event.id for event in later.events] == ["evt-005", "evt-006"]


def test_earliest_replays_everything_retained(stub: Any, pb2: Any, bus: EventBus) -> None:
    publish_numbered(bus, ORDER_TOPIC, 3)
    first = pb2.FetchRequest(
        topic_name=ORDER_TOPIC, replay_preset=pb2.ReplayPreset.Value("EARLIEST"), num_requested=10
    )
    responses = stub.Subscribe(_Requests(first), metadata=metadata())

    response = next(responses)
    responses.cancel()

    assert [event.event.id for event in response.events] == ["evt-001", "evt-002", "evt-003"]
    assert response.pending_num_requested == 7


def test_outstanding_requests_are_capped_at_100(stub: Any, pb2: Any, bus: EventBus) -> None:
    # Given 150 retained events and a first request for all of them
    publish_numbered(bus, ORDER_TOPIC, 150)
    requests = _Requests(
        pb2.FetchRequest(
            topic_name=ORDER_TOPIC, replay_preset=pb2.ReplayPreset.Value("EARLIEST"), num_requested=150
        )
    )
    responses = stub.Subscribe(requests, metadata=metadata())

    # When the client takes what it gets, then asks for 30 more
    capped = next(responses)
    requests.put(pb2.FetchRequest(num_requested=30))
    topped_up = next(responses)
    responses.cancel()

    # Then only 100 were outstanding at first, and the next request continues after them
    assert (len(capped.events), capped.pending_num_requested) == (100, 0)
    assert (len(topped_up.events), topped_up.pending_num_requested) == (30, 0)
    assert topped_up.events[0].event.id == "evt-101"


def test_keepalive_carries_the_latest_replay_id_when_idle(stub: Any, pb2: Any, bus: EventBus) -> None:
    # Given a stream owed events on a quiet topic while another topic moves on
    first = pb2.FetchRequest(topic_name=ORDER_TOPIC, num_requested=5)
    responses = stub.Subscribe(_Requests(first), metadata=metadata())
    bus.publish(ACCOUNT_TOPIC, {"AccountId__c": "001000000000001AAA"})
    started = time.monotonic()

    # When no event arrives within the keepalive interval
    response = next(responses)
    waited = time.monotonic() - started
    responses.cancel()

    # Then an empty response carries the bus's latest replay ID
    assert list(response.events) == []
    assert response.latest_replay_id == bus.latest_replay_id()
    assert response.pending_num_requested == 5
    assert waited >= KEEPALIVE_SECONDS * 0.8


def test_drop_streams_and_fail_next_inject_unavailable(
    stub: Any, pb2: Any, bus: EventBus, emulator: PubSubEmulator
) -> None:
    first = pb2.FetchRequest(topic_name=ORDER_TOPIC, num_requested=5)
    responses = stub.Subscribe(_Requests(first), metadata=metadata())
    wait_until(lambda: emulator.active_streams() == 1, timeout=5, message="the stream")

    assert emulator.drop_streams() == 1
    with pytest.raises(grpc.RpcError) as dropped:
        next(responses)
    assert dropped.value.code() == grpc.StatusCode.UNAVAILABLE
    assert _trailer(dropped.value, "error-code") == UNAVAILABLE_ERROR_CODE

    emulator.fail_next("GetTopic", grpc.StatusCode.RESOURCE_EXHAUSTED)
    with pytest.raises(grpc.RpcError) as failed:
        stub.GetTopic(pb2.TopicRequest(topic_name=ORDER_TOPIC), metadata=metadata())
    assert failed.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert (
        stub.GetTopic(pb2.TopicRequest(topic_name=ORDER_TOPIC), metadata=metadata()).topic_name == ORDER_TOPIC
    )


def test_drop_after_cuts_a_batch_short(stub: Any, pb2: Any, bus: EventBus, emulator: PubSubEmulator) -> None:
    publish_numbered(bus, ORDER_TOPIC, 10)
    emulator.drop_after(3)
    first = pb2.FetchRequest(
        topic_name=ORDER_TOPIC, replay_preset=pb2.ReplayPreset.Value("EARLIEST"), num_requested=10
    )
    responses = stub.Subscribe(_Requests(first), metadata=metadata())

    response = next(responses)
    with pytest.raises(grpc.RpcError) as dropped:
        next(responses)

    assert [event.event.id for event in response.events] == ["evt-001", "evt-002", "evt-003"]
    assert dropped.value.code() == grpc.StatusCode.UNAVAILABLE
