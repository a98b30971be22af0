"""The emulated org's record-triggered flows publish the platform events the portal consumes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from emulators.salesforce.eventbus import EventBus
from emulators.salesforce.flows import RecordTriggeredFlows, install_flows

from .conftest import ACCOUNT_TOPIC, ORDER_TOPIC, FakeStore

ACCOUNT_ID = "001000000000001AAA"
ORDER_ID = "801000000000001AAA"
AGENT_ID = "005000000000009AAA"
NOW = datetime(2026, 1, 5, 8, 8, 33, 123000, tzinfo=UTC)


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def flows(store: FakeStore, bus: EventBus) -> RecordTriggeredFlows:
    return install_flows(store, bus, clock=lambda: NOW)


@pytest.fixture
def account(store: FakeStore, flows: RecordTriggeredFlows) -> None:
    store.create_record(
        "Account",
        ACCOUNT_ID,
        {
            "Name": "Yamada Taro",
            "Internet_Eligibility__c": None,
            "Internet_Eligibility_Status__c": "Pending",
            "Internet_Eligibility_Request_Date_Time__c": "2026-01-02T01:00:00.000+0000",
            "Internet_Eligibility_Checked_Date_Time__c": None,
            "Internet_Eligibility_Notes__c": None,
            "Internet_Eligibility_Case_Id__c": "500000000000001AAA",
            "Id_Verification_Status__c": "Submitted",
            "Id_Verification_Rejection_Message__c": None,
        },
    )


@pytest.fixture
def order(store: FakeStore, flows: RecordTriggeredFlows) -> None:
    store.create_record(
        "Order",
        ORDER_ID,
        {
            "AccountId": ACCOUNT_ID,
            "Status": "Pending Review",
            "Activation_Status__c": None,
            "Activation_Error_Code__c": "WHMCS_TIMEOUT",
            "Activation_Error_Message__c": "WHMCS did not answer",
            "Activation_Error_DateTime__c": "2026-01-04T00:00:00.000+0000",
        },
    )


@pytest.mark.usefixtures("account")
def test_an_eligibility_decision_publishes_one_event_with_only_the_changed_status(
    store: FakeStore, bus: EventBus
) -> None:
    # When an agent records the eligibility result (the verification status is unchanged)
    store.update_record(
        "Account",
        ACCOUNT_ID,
        {
            "Internet_Eligibility__c": "Home 1G",
            "Internet_Eligibility_Status__c": "Eligible",
            "Internet_Eligibility_Checked_Date_Time__c": "2026-01-05T08:00:00.000+0000",
            "Internet_Eligibility_Notes__c": "NTT confirmed",
        },
    )

    # Then exactly one event carries the Account's fields, without the unchanged verification status
    [event] = bus.decoded_events(ACCOUNT_TOPIC)
    assert event == {
        "CreatedDate": event["CreatedDate"],
        "CreatedById": "005000000000001AAA",
        "AccountId__c": ACCOUNT_ID,
        "Internet_Eligibility__c": "Home 1G",
        "Internet_Eligibility_Status__c": "Eligible",
        "Internet_Eligibility_Request_Date_Time__c": int(
            datetime(2026, 1, 2, 1, tzinfo=UTC).timestamp() * 1000
        ),
        "Internet_Eligibility_Checked_Date_Time__c": int(
            datetime(2026, 1, 5, 8, tzinfo=UTC).timestamp() * 1000
        ),
        "Internet_Eligibility_Notes__c": "NTT confirmed",
        "Internet_Eligibility_Case_Id__c": "500000000000001AAA",
        "Id_Verification_Status__c": None,
        "Id_Verification_Rejection_Message__c": None,
    }
    assert bus.events(ORDER_TOPIC) == []


@pytest.mark.usefixtures("account")
def test_a_verification_decision_sends_only_the_verification_status(store: FakeStore, bus: EventBus) -> None:
    store.update_record(
        "Account",
        ACCOUNT_ID,
        {"Id_Verification_Status__c": "Rejected", "Id_Verification_Rejection_Message__c": "Blurry photo"},
    )

    [event] = bus.decoded_events(ACCOUNT_TOPIC)
    assert (
        event["Internet_Eligibility_Status__c"],
        event["Id_Verification_Status__c"],
        event["Id_Verification_Rejection_Message__c"],
    ) == (None, "Rejected", "Blurry photo")


@pytest.mark.usefixtures("account")
def test_both_statuses_changing_together_publish_one_event_with_both(store: FakeStore, bus: EventBus) -> None:
    store.update_record(
        "Account",
        ACCOUNT_ID,
        {"Internet_Eligibility_Status__c": "Ineligible", "Id_Verification_Status__c": "Verified"},
    )

    [event] = bus.decoded_events(ACCOUNT_TOPIC)
    assert (event["Internet_Eligibility_Status__c"], event["Id_Verification_Status__c"]) == (
        "Ineligible",
        "Verified",
    )


@pytest.mark.usefixtures("account")
def test_account_updates_without_a_status_change_publish_nothing(store: FakeStore, bus: EventBus) -> None:
    store.update_record("Account", ACCOUNT_ID, {"Internet_Eligibility_Notes__c": "called the customer"})
    store.update_record("Account", ACCOUNT_ID, {"Internet_Eligibility_Status__c": "Pending"})  # Same value.

    assert bus.events(ACCOUNT_TOPIC) == []


@pytest.mark.usefixtures("order")
def test_approving_an_order_sets_activating_and_publishes_the_provision_request(
    store: FakeStore, bus: EventBus
) -> None:
    # When an agent approves the order
    store.update_record("Order", ORDER_ID, {"Status": "Approved", "LastModifiedById": AGENT_ID})

    # Then the flow marks it Activating, clears the last error, and publishes exactly one event
    assert store.updates[-1] == (
        "Order",
        ORDER_ID,
        {
            "Activation_Status__c": "Activating",
            "Activation_Error_Code__c": None,
            "Activation_Error_Message__c": None,
            "Activation_Error_DateTime__c": None,
        },
    )
    assert len(store.updates) == 2
    assert store.records["Order", ORDER_ID]["Activation_Status__c"] == "Activating"
    [event] = bus.decoded_events(ORDER_TOPIC)
    assert event == {
        "CreatedDate": event["CreatedDate"],
        "CreatedById": "005000000000001AAA",
        "OrderId__c": ORDER_ID,
        "IdemKey__c": f"{ORDER_ID}-2026-01-05T08:08:33.123Z",
        "CorrelationId__c": event["CorrelationId__c"],
        "RequestedBy__c": AGENT_ID,
        "Version__c": 1.0,
    }
    assert str(uuid.UUID(event["CorrelationId__c"])) == event["CorrelationId__c"]
    assert bus.events(ACCOUNT_TOPIC) == []


@pytest.mark.usefixtures("order")
def test_an_agent_retry_publishes_again(store: FakeStore, bus: EventBus) -> None:
    # Given an approved order whose activation failed
    store.update_record("Order", ORDER_ID, {"Status": "Approved"})
    store.update_record(
        "Order", ORDER_ID, {"Activation_Status__c": "Failed", "Activation_Error_Code__c": "WHMCS_ERROR"}
    )
    assert len(bus.events(ORDER_TOPIC)) == 1

    # When the agent sets it back to Activating
    store.update_record("Order", ORDER_ID, {"Activation_Status__c": "Activating"})

    # Then a second provision request is published and the error is cleared
    assert len(bus.events(ORDER_TOPIC)) == 2
    assert store.records["Order", ORDER_ID]["Activation_Error_Code__c"] is None
    assert [event["OrderId__c"] for event in bus.decoded_events(ORDER_TOPIC)] == [ORDER_ID, ORDER_ID]


@pytest.mark.usefixtures("order")
def test_other_order_updates_publish_nothing(store: FakeStore, bus: EventBus) -> None:
    store.update_record("Order", ORDER_ID, {"Status": "Draft"})
    store.update_record("Order", ORDER_ID, {"Activation_Status__c": "Failed"})

    assert bus.events(ORDER_TOPIC) == []
    assert len(store.updates) == 2
