"""The emulated org's Change Data Capture, read with the portal's decoder: the header as the Change
Data Capture guide documents it, field bitmaps, merged changes, gaps, overflow, the change origin
and the retention window."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from apps.integrations.salesforce.change_events import (
    ChangeEvent,
    ChangeHandlers,
    decode_change_event,
    dispatch_change_events,
    field_names_from_bitmap,
)
from apps.integrations.salesforce.pubsub.subscriber import DecodedEvent
from emulators import EmulatorSuite
from emulators.salesforce.eventbus import InvalidReplayIdError, ReplayPreset

TOPIC = "/data/OpportunityChangeEvent"


def received(systems: EmulatorSuite, topic: str = TOPIC, after: int = 0) -> list[ChangeEvent]:
    """The topic's events as the subscriber decodes them."""
    bus = systems.bus
    return [
        decode_change_event(
            DecodedEvent(
                topic=topic,
                replay_id=event.replay_id,
                event_id=event.event_id,
                schema_id=event.schema_id,
                payload=bus.decode(event),
                schema_json=bus.schema(event.schema_id),
            )
        )
        for event in bus.events(topic)
        if event.sequence > after
    ]


def opportunity(systems: EmulatorSuite, **fields: Any) -> str:
    account = systems.salesforce.store.create_record("Account", Name="Sato Hana")
    record = systems.salesforce.store.create_record(
        "Opportunity",
        {
            "AccountId": account["Id"],
            "Name": "Home",
            "StageName": "Active",
            "CloseDate": "2026-12-31",
            **fields,
        },
    )
    return str(record["Id"])


def position(systems: EmulatorSuite) -> int:
    return int.from_bytes(systems.bus.latest_replay_id(), "big")


def test_an_update_carries_the_changed_fields_and_the_header(systems: EmulatorSuite) -> None:
    record_id = opportunity(systems, LineReturn__c="NotYet")
    start = position(systems)

    systems.salesforce.store.update_record(
        "Opportunity", record_id, {"StageName": "〇Cancelled", "LineReturn__c": None}
    )

    [event] = received(systems, after=start)
    header = event.header
    assert (header.entity_name, header.record_ids, header.change_type, header.sequence_number) == (
        "Opportunity",
        (record_id,),
        "UPDATE",
        1,
    )
    # (The stage also sets the derived IsClosed, IsWon, Probability and ForecastCategoryName.)
    assert {"StageName", "LineReturn__c", "LastModifiedDate", "IsClosed"} <= set(header.changed_fields)
    assert "Name" not in header.changed_fields
    assert header.nulled_fields == ("LineReturn__c",)
    assert header.transaction_key
    assert header.commit_timestamp is not None
    assert header.commit_user == systems.salesforce.store.user_id
    assert event.values["StageName"] == "〇Cancelled"
    assert event.values["LineReturn__c"] is None
    assert set(event.values) == set(header.changed_fields)


def test_a_create_carries_every_field_with_a_value_and_dates_in_rest_shapes(systems: EmulatorSuite) -> None:
    start = position(systems)
    record_id = opportunity(systems)

    [event] = received(systems, after=start)
    assert event.header.change_type == "CREATE"
    assert event.header.record_ids == (record_id,)
    assert event.values["CloseDate"] == "2026-12-31"
    assert event.values["CreatedDate"].endswith("+0000")


def test_the_bitmap_names_fields_by_schema_position(systems: EmulatorSuite) -> None:
    schema = systems.bus.topic(TOPIC).schema_json
    # Field 0 is the header; 1..4 the system fields CreatedDate, CreatedById, LastModifiedDate, ...
    assert field_names_from_bitmap(schema, ["0x6"]) == ("CreatedDate", "CreatedById")
    assert field_names_from_bitmap(schema, ["3-0x1"]) == ("LastModifiedDate",)


def test_identical_changes_in_one_transaction_are_one_event_with_both_ids(systems: EmulatorSuite) -> None:
    first, second = opportunity(systems), opportunity(systems)
    store = systems.salesforce.store
    start = position(systems)

    with store.atomic():
        store._update(
            "Opportunity",
            first,
            {"StageName": "Void", "LastModifiedDate": "2026-12-01T00:00:00.000+0000"},
            agent=True,
        )
        store._update(
            "Opportunity",
            second,
            {"StageName": "Void", "LastModifiedDate": "2026-12-01T00:00:00.000+0000"},
            agent=True,
        )

    [event] = received(systems, after=start)
    assert event.header.record_ids == (first, second)


def test_too_many_changes_in_one_transaction_end_in_an_overflow_event(systems: EmulatorSuite) -> None:
    ids = [opportunity(systems) for _ in range(3)]
    store = systems.salesforce.store
    systems.cdc.overflow_threshold = 2
    start = position(systems)

    with store.atomic():
        for number, record_id in enumerate(ids):
            store._update("Opportunity", record_id, {"Name": f"Home {number}"}, agent=True)

    events = received(systems, after=start)
    assert [event.header.change_type for event in events] == ["UPDATE", "UPDATE", "GAP_OVERFLOW"]
    assert [event.header.sequence_number for event in events] == [1, 2, 3]
    assert events[-1].values == {}


def test_a_delete_and_a_data_fix_carry_no_fields(systems: EmulatorSuite) -> None:
    record_id = opportunity(systems)
    store = systems.salesforce.store
    start = position(systems)

    with store.change_context(gap=True):
        store.update_record("Opportunity", record_id, {"Name": "Fixed"})
    store.delete_record("Opportunity", record_id)

    events = received(systems, after=start)
    assert [(event.header.change_type, event.values) for event in events] == [
        ("GAP_UPDATE", {}),
        ("DELETE", {}),
    ]


def test_the_change_origin_names_the_api_client(systems: EmulatorSuite) -> None:
    record_id = opportunity(systems)
    start = position(systems)

    with systems.salesforce.store.change_context(
        origin="com/salesforce/api/rest/59.0;client=sonixnet-portal"
    ):
        systems.salesforce.store.update_record("Opportunity", record_id, {"Name": "By the portal"})
    systems.salesforce.store.update_record("Opportunity", record_id, {"Name": "By an agent"})

    handlers = ChangeHandlers()
    applied: list[ChangeEvent] = []
    handlers.register("Opportunity", applied.extend)
    bus = systems.bus
    dispatch_change_events(
        [
            DecodedEvent(TOPIC, e.replay_id, e.event_id, e.schema_id, bus.decode(e), bus.schema(e.schema_id))
            for e in bus.events(TOPIC)
            if e.sequence > start
        ],
        handlers=handlers,
    )
    assert [event.values["Name"] for event in applied] == ["By an agent"]


def test_every_change_is_also_on_the_standard_channel_and_deselected_objects_publish_none(
    systems: EmulatorSuite,
) -> None:
    record_id = opportunity(systems)
    start = position(systems)
    systems.salesforce.store.update_record("Opportunity", record_id, {"Name": "Renamed"})
    assert [event.header.entity_name for event in received(systems, "/data/ChangeEvents", after=start)] == [
        "Opportunity"
    ]

    systems.salesforce.store.deselect_change_events("Opportunity")
    later = position(systems)
    systems.salesforce.store.update_record("Opportunity", record_id, {"Name": "Renamed again"})
    assert received(systems, after=later) == []


def test_a_replay_id_past_the_retention_window_is_refused(systems: EmulatorSuite) -> None:
    record_id = opportunity(systems)
    bus = systems.bus
    cursor = bus.latest_replay_id()
    systems.salesforce.store.update_record("Opportunity", record_id, {"Name": "Renamed"})
    assert bus.start_position(TOPIC, ReplayPreset.CUSTOM, cursor) == int.from_bytes(cursor, "big")

    bus.set_retention(timedelta(0))

    assert bus.events(TOPIC) == []
    with pytest.raises(InvalidReplayIdError):
        bus.start_position(TOPIC, ReplayPreset.CUSTOM, cursor)


def test_gaps_go_to_the_gap_handlers_and_an_overflow_asks_for_the_whole_object(
    systems: EmulatorSuite,
) -> None:
    first, second = opportunity(systems), opportunity(systems)
    store = systems.salesforce.store
    start = position(systems)
    with store.change_context(gap=True):
        store.update_record("Opportunity", first, {"Name": "Fixed"})
        store.update_record("Opportunity", second, {"Name": "Fixed too"})

    handlers = ChangeHandlers()
    gaps: list[list[str] | None] = []
    changes: list[ChangeEvent] = []
    handlers.register("Opportunity", changes.extend)
    handlers.register_gap("Opportunity", lambda ids: gaps.append(None if ids is None else list(ids)))
    bus = systems.bus
    batch = [
        DecodedEvent(TOPIC, e.replay_id, e.event_id, e.schema_id, bus.decode(e), bus.schema(e.schema_id))
        for e in bus.events(TOPIC)
        if e.sequence > start
    ]
    dispatch_change_events(batch, handlers=handlers)
    assert (changes, gaps) == ([], [sorted([first, second])])

    systems.cdc.overflow_threshold = 1
    later = position(systems)
    with store.atomic():
        store._update("Opportunity", first, {"Name": "One"}, agent=True)
        store._update("Opportunity", second, {"Name": "Two"}, agent=True)
    batch = [
        DecodedEvent(TOPIC, e.replay_id, e.event_id, e.schema_id, bus.decode(e), bus.schema(e.schema_id))
        for e in bus.events(TOPIC)
        if e.sequence > later
    ]
    dispatch_change_events(batch, handlers=handlers)
    assert [event.values["Name"] for event in changes] == ["One"]
    assert gaps[-1] is None
