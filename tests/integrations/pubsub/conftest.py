"""Fixtures for the Pub/Sub tests: an event bus, the gRPC emulator on a free loopback port, and
small fakes for the pieces other packages own (token validation, the session, the record store)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import grpc
import pytest

from apps.integrations.retry import Backoff
from apps.integrations.salesforce.pubsub.subscriber import AuthMetadata, PubSubSubscriber
from emulators.salesforce.eventbus import EventBus
from emulators.salesforce.grpc_server import PubSubEmulator
from salesforce_pubsub import pubsub_api_pb2, pubsub_api_pb2_grpc

ACCOUNT_TOPIC = "/event/Account_Internet_Eligibility_Update__e"
ORDER_TOPIC = "/event/OrderProvisionRequested__e"
ORG_ID = "00D000000000001AAA"
INSTANCE_URL = "https://sonixnet.my.salesforce.example"
GOOD_TOKEN = "00D000000000001!good-token"
KEEPALIVE_SECONDS = 0.3
FAST_BACKOFF = Backoff(initial=0.01, maximum=0.05)


class TokenValidator:
    """Stands in for the REST emulator's ``validate_token``."""

    def __init__(self, *valid: str) -> None:
        self.valid = set(valid)

    def __call__(self, token: str) -> bool:
        return token in self.valid


class FakeAuth:
    """Stands in for ``auth.get_session``: hands out ``tokens`` in turn, a new one on each refresh."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens) or [GOOD_TOKEN]
        self.calls: list[bool] = []
        self._index = 0

    def __call__(self, *, force_refresh: bool = False) -> AuthMetadata:
        self.calls.append(force_refresh)
        if force_refresh and self._index < len(self.tokens) - 1:
            self._index += 1
        return AuthMetadata(
            access_token=self.tokens[self._index], instance_url=INSTANCE_URL, tenant_id=ORG_ID
        )


class FakeStore:
    """The part of the REST emulator's record store the flows use: records, updates, listeners."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        self.listeners: list[Callable[[str, str, dict[str, Any] | None, dict[str, Any]], None]] = []
        self.updates: list[tuple[str, str, dict[str, Any]]] = []

    def add_listener(
        self, callback: Callable[[str, str, dict[str, Any] | None, dict[str, Any]], None]
    ) -> None:
        self.listeners.append(callback)

    def create_record(self, sobject: str, record_id: str, fields: Mapping[str, Any]) -> None:
        self.records[sobject, record_id] = {"Id": record_id, **fields}
        self._notify(sobject, record_id, None)

    def update_record(self, sobject: str, record_id: str, fields: Mapping[str, Any]) -> None:
        before = dict(self.records[sobject, record_id])
        self.records[sobject, record_id].update(fields)
        self.updates.append((sobject, record_id, dict(fields)))
        self._notify(sobject, record_id, before)

    def _notify(self, sobject: str, record_id: str, before: dict[str, Any] | None) -> None:
        after = dict(self.records[sobject, record_id])
        for listener in list(self.listeners):
            listener(sobject, record_id, before, after)


def metadata(token: str = GOOD_TOKEN) -> tuple[tuple[str, str], ...]:
    return AuthMetadata(access_token=token, instance_url=INSTANCE_URL, tenant_id=ORG_ID).grpc_metadata()


def publish_numbered(bus: EventBus, topic: str, count: int, start: int = 1) -> list[str]:
    """Publish ``count`` order events whose event IDs are ``evt-<n>``; returns the IDs."""
    ids = []
    for n in range(start, start + count):
        event_id = f"evt-{n:03d}"
        bus.publish(topic, {"OrderId__c": f"801{n:015d}", "Version__c": 1.0}, event_id=event_id)
        ids.append(event_id)
    return ids


@pytest.fixture
def bus() -> EventBus:
    return EventBus(start_sequence=1_000)


@pytest.fixture
def token_validator() -> TokenValidator:
    return TokenValidator(GOOD_TOKEN)


@pytest.fixture
def emulator(bus: EventBus, token_validator: TokenValidator) -> Iterator[PubSubEmulator]:
    server = PubSubEmulator(
        bus, token_validator, "127.0.0.1", 0, org_id=ORG_ID, keepalive_interval=KEEPALIVE_SECONDS
    )
    server.start()
    yield server
    server.stop(grace=0)


@pytest.fixture
def channel(emulator: PubSubEmulator) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(emulator.address) as opened:
        yield opened


@pytest.fixture
def stub(channel: grpc.Channel) -> Any:
    return pubsub_api_pb2_grpc.PubSubStub(channel)


@pytest.fixture
def pb2() -> Any:
    return pubsub_api_pb2


@pytest.fixture
def make_subscriber(emulator: PubSubEmulator) -> Iterator[Callable[..., PubSubSubscriber]]:
    created: list[PubSubSubscriber] = []

    def make(topic: str = ORDER_TOPIC, auth: FakeAuth | None = None, **options: Any) -> PubSubSubscriber:
        options.setdefault("plaintext", True)
        options.setdefault("backoff", FAST_BACKOFF)
        options.setdefault("keepalive_timeout", 10.0)
        subscriber = PubSubSubscriber(emulator.address, topic, auth or FakeAuth(), **options)
        created.append(subscriber)
        return subscriber

    yield make
    for subscriber in created:
        subscriber.close()
