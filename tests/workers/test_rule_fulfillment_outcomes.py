"""Seed rules on fulfillment's outcome (flow review, journey step 10 and the Opportunity stage
machine): a provisioned Order is ``Status=Completed`` with ``Activation_Status__c=Activated``; a
failed provisioning sets the Opportunity to Void, which the org closes at 0 %. Driven as an
agent in Salesforce would: the Order approved in the emulated org, its platform event handled."""

from __future__ import annotations

from typing import Any

import pytest

from apps.checkout.fulfillment import fulfillment_request, fulfillment_run_execute
from apps.checkout.models import ActivationStatus, FulfillmentRun, Order, OrderStatus
from apps.integrations.outbox import outbox_deliver_due
from apps.opportunities.models import Opportunity, OpportunityStage
from emulators import EmulatorSuite
from tests.scenarios import ORDER_TOPIC, ApprovedOrderScenario, seed_order

pytestmark = pytest.mark.django_db


def approve_and_fulfil(systems: EmulatorSuite) -> ApprovedOrderScenario:
    scenario = seed_order(systems)
    systems.salesforce.store.update_record("Order", scenario.order_id, {"Status": "Approved"})
    run = fulfillment_request(
        payload=systems.bus.decode(systems.bus.events(ORDER_TOPIC)[-1]), event_id="evt-1"
    )
    assert run is not None
    try:
        fulfillment_run_execute(run_id=run.pk)
    finally:
        report = outbox_deliver_due()
        assert report.failed == []
    return scenario


def sf(systems: EmulatorSuite, sobject: str, record_id: str) -> dict[str, Any]:
    record = systems.salesforce.store.get_record(sobject, record_id)
    assert record is not None
    return record


def test_rule_order_status_completed_after_provisioning(systems: EmulatorSuite) -> None:
    scenario = approve_and_fulfil(systems)

    order = sf(systems, "Order", scenario.order_id)
    assert (order["Status"], order["Activation_Status__c"]) == ("Completed", "Activated")
    local = Order.objects.get(pk=scenario.order.pk)
    assert (local.status, local.activation_status) == (OrderStatus.COMPLETED, ActivationStatus.ACTIVATED)
    assert sf(systems, "Opportunity", scenario.opportunity_id)["StageName"] == "Active"


def test_rule_failed_provisioning_sets_the_opportunity_void(systems: EmulatorSuite) -> None:
    # Given WHMCS refuses to provision the order (a terminal error)
    systems.whmcs.inject_fault(action="AcceptOrder", kind="error", message="Provisioning module refused")

    # When the approved order is fulfilled
    scenario = approve_and_fulfil(systems)

    # Then the order failed and its Opportunity is Void, closed at 0 %, in Salesforce and the portal
    assert (
        FulfillmentRun.objects.get(salesforce_order_id=scenario.order_id).status
        == FulfillmentRun.Status.FAILED
    )
    assert sf(systems, "Order", scenario.order_id)["Activation_Status__c"] == "Failed"
    opportunity = sf(systems, "Opportunity", scenario.opportunity_id)
    assert (
        opportunity["StageName"],
        opportunity["IsClosed"],
        opportunity["IsWon"],
        opportunity["Probability"],
    ) == (
        "Void",
        True,
        False,
        0,
    )
    assert Opportunity.objects.get(pk=scenario.opportunity.pk).stage == OpportunityStage.VOID


def test_rule_cancelled_is_closed_won_and_void_closed_at_0_percent_in_the_org(systems: EmulatorSuite) -> None:
    """The emulated org's stages: 〇Cancelled closes as won, Void as lost at 0 % (the flow review's
    stage machine), whoever sets them."""
    store = systems.salesforce.store
    account = store.create_record("Account", {"Name": "Sato Hana"})
    flags = {}
    for stage in ("〇Cancelled", "Void"):
        record = store.create_record(
            "Opportunity",
            {
                "AccountId": account["Id"],
                "Name": "Sato Hana - SIM",
                "StageName": "Active",
                "CloseDate": "2026-12-31",
            },
        )
        store.update_record("Opportunity", record["Id"], {"StageName": stage})
        updated = sf(systems, "Opportunity", record["Id"])
        flags[stage] = (updated["IsClosed"], updated["IsWon"], updated["Probability"])

    assert flags == {"〇Cancelled": (True, True, 100), "Void": (True, False, 0)}
