"""Billed as quoted, fulfillment side: WHMCS AddOrder carries each item's quoted unit price
(``priceoverride``), so the invoice is what the customer was quoted even where WHMCS's own
catalog prices the product differently; a lost AddOrder answer is still found, not resent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.checkout.fulfillment import FulfillmentRetry, fulfillment_request, fulfillment_run_execute
from apps.checkout.models import FulfillmentRun
from emulators import EmulatorSuite
from tests.scenarios import ORDER_TOPIC, ApprovedOrderScenario, seed_order

pytestmark = pytest.mark.django_db

QUOTED_PLAN = 5280  # Salesforce's price; WHMCS's own: ¥5,500 + ¥550 for the router option


def quoted_run(systems: EmulatorSuite) -> tuple[ApprovedOrderScenario, FulfillmentRun]:
    """The seeded internet order quoted at ¥5,280 + ¥22,000, approved in Salesforce."""
    scenario = seed_order(systems)
    store = systems.salesforce.store
    store.update_record("OrderItem", scenario.item_ids[0], {"UnitPrice": QUOTED_PLAN})
    store.update_record("Order", scenario.order_id, {"Status": "Approved"})
    payload = systems.bus.decode(systems.bus.events(ORDER_TOPIC)[-1])
    run = fulfillment_request(payload=payload, event_id="evt-quoted")
    assert run is not None
    return scenario, run


def billed(systems: EmulatorSuite) -> tuple[list[tuple[int, str, str]], str]:
    services = sorted(systems.whmcs.state.services, key=lambda service: service["id"])
    [invoice] = systems.whmcs.state.invoices
    return [(s["pid"], s["firstpaymentamount"], s["recurringamount"]) for s in services], invoice["total"]


def test_whmcs_bills_the_quoted_prices(systems: EmulatorSuite) -> None:
    # given
    scenario, run = quoted_run(systems)

    # when
    fulfillment_run_execute(run_id=run.pk)

    # then
    run.refresh_from_db()
    assert run.status == FulfillmentRun.Status.SUCCEEDED
    assert billed(systems) == ([(1, "5280.00", "5280.00"), (3, "22000.00", "0.00")], "27280.00")
    assert scenario.order.items.get(product=scenario.plan).unit_price == Decimal("5280.00")


def test_a_lost_add_order_answer_is_found_with_the_quoted_prices_and_not_placed_again(
    systems: EmulatorSuite,
) -> None:
    # given: WHMCS places the order, then the answer is lost
    _, run = quoted_run(systems)
    systems.whmcs.inject_fault(action="AddOrder", kind="lose_answer")

    # when: the first attempt cannot tell; the retry looks before sending again
    with pytest.raises(FulfillmentRetry):
        fulfillment_run_execute(run_id=run.pk)
    fulfillment_run_execute(run_id=run.pk)

    # then
    run.refresh_from_db()
    [whmcs_order] = systems.whmcs.state.orders
    assert (run.status, run.whmcs_order_id) == (FulfillmentRun.Status.SUCCEEDED, whmcs_order["id"])
    assert systems.whmcs.call_count("AddOrder") == 1
    assert billed(systems) == ([(1, "5280.00", "5280.00"), (3, "22000.00", "0.00")], "27280.00")
    assert [step for step in run.steps if step["step"] == "whmcs_add_order"][-1]["found_existing"] is True
