"""``manage.py run_events_subscriber`` end to end against the emulator."""

from __future__ import annotations

import io
import os
import signal
import threading
from collections import Counter
from typing import Any

import pytest
from django.core.management import call_command
from pytest_django import Settings

from apps.integrations.models import EventReplayCursor
from apps.integrations.salesforce import events
from apps.integrations.salesforce.events import HandlerRegistry
from apps.integrations.salesforce.pubsub.subscriber import DecodedEvent
from emulators.salesforce.eventbus import EventBus
from emulators.salesforce.grpc_server import PubSubEmulator
from tests.helpers import wait_until

from .conftest import ACCOUNT_TOPIC, ORDER_TOPIC, FakeAuth, publish_numbered

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def handled(
    settings: Settings, emulator: PubSubEmulator, monkeypatch: pytest.MonkeyPatch
) -> Counter[tuple[str, str]]:
    """Point the command at the emulator with a fake session and a private handler registry."""
    settings.SALESFORCE = {**settings.SALESFORCE, "PUBSUB_ENDPOINT": emulator.address}
    monkeypatch.setattr(events, "session_auth", FakeAuth())
    monkeypatch.setattr(
        "apps.integrations.management.commands.run_events_subscriber.autodiscover_handlers", lambda: None
    )
    counts: Counter[tuple[str, str]] = Counter()
    handlers = HandlerRegistry()

    def count(payload: dict[str, Any], event: DecodedEvent) -> None:
        counts[event.topic, event.event_id] += 1

    handlers.register(ORDER_TOPIC, count)
    handlers.register(ACCOUNT_TOPIC, count)
    monkeypatch.setattr(events, "registry", handlers)
    return counts


def _seed_cursors(bus: EventBus, *topics: str) -> None:
    for topic in topics:
        EventReplayCursor.objects.create(topic=topic, replay_id=bus.latest_replay_id())


def test_max_events_processes_that_many_and_exits(bus: EventBus, handled: Counter[tuple[str, str]]) -> None:
    # Given five events after the stored position
    _seed_cursors(bus, ORDER_TOPIC)
    publish_numbered(bus, ORDER_TOPIC, 5)
    stdout = io.StringIO()

    # When the command runs for three
    call_command(
        "run_events_subscriber",
        "--topic",
        ORDER_TOPIC,
        "--max-events",
        "3",
        "--plaintext",
        "--owner",
        "cmd-1",
        stdout=stdout,
    )

    # Then it handled the first three, committed them, and released the lease
    assert handled == {(ORDER_TOPIC, "evt-001"): 1, (ORDER_TOPIC, "evt-002"): 1, (ORDER_TOPIC, "evt-003"): 1}
    cursor = EventReplayCursor.objects.get(topic=ORDER_TOPIC)
    assert (cursor.events_processed, bytes(cursor.replay_id or b""), cursor.lease_owner) == (
        3,
        bus.events(ORDER_TOPIC)[2].replay_id,
        "",
    )
    assert stdout.getvalue().splitlines() == [
        f"Subscribing to {ORDER_TOPIC} as cmd-1",
        f"Stopped: {ORDER_TOPIC} handled 3 events",
    ]


def test_sigterm_finishes_releases_the_leases_and_exits_cleanly(
    bus: EventBus, emulator: PubSubEmulator, handled: Counter[tuple[str, str]], settings: Settings
) -> None:
    # Given the command subscribed to both platform event channels (the default, with no Change
    # Data Capture channels configured: this bus has none)
    settings.SALESFORCE = {**settings.SALESFORCE, "CHANGE_EVENT_CHANNELS": []}
    _seed_cursors(bus, ORDER_TOPIC, ACCOUNT_TOPIC)

    def drive() -> None:
        wait_until(lambda: emulator.active_streams() == 2, message="both streams")
        publish_numbered(bus, ORDER_TOPIC, 2)
        bus.publish(ACCOUNT_TOPIC, {"AccountId__c": "001000000000001AAA"}, event_id="acc-1")
        wait_until(lambda: sum(handled.values()) == 3, message="three events")
        # When the process is told to stop
        os.kill(os.getpid(), signal.SIGTERM)

    driver = threading.Thread(target=drive, daemon=True)
    driver.start()
    previous = signal.getsignal(signal.SIGTERM)
    call_command(
        "run_events_subscriber", "--plaintext", "--owner", "cmd-2", stdout=io.StringIO(), stderr=io.StringIO()
    )
    driver.join(5)

    # Then every event was handled once, both leases are free, and the handler is restored
    assert handled == {(ORDER_TOPIC, "evt-001"): 1, (ORDER_TOPIC, "evt-002"): 1, (ACCOUNT_TOPIC, "acc-1"): 1}
    assert list(
        EventReplayCursor.objects.order_by("topic").values_list("topic", "events_processed", "lease_owner")
    ) == [
        (ACCOUNT_TOPIC, 1, ""),
        (ORDER_TOPIC, 2, ""),
    ]
    assert signal.getsignal(signal.SIGTERM) == previous
