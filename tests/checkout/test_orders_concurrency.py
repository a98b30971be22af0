"""Concurrent order requests of one customer: one Opportunity per product type, one order per key."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from apps.accounts.models import User
from apps.catalog.models import Product
from apps.checkout.models import Order
from apps.integrations.models import OutboxEntry
from apps.opportunities.models import Opportunity
from emulators import EmulatorSuite
from tests.helpers import api_for
from tests.scenarios import eligible_customer, internet_plan, place, sim_plan, verified_customer

pytestmark = pytest.mark.django_db(transaction=True)


def at_once(*requests: Callable[[], Any]) -> list[Any]:
    """Run the requests in threads released together; return their responses in order."""
    barrier = threading.Barrier(len(requests), timeout=10)
    responses: list[Any] = [None] * len(requests)
    errors: list[BaseException] = []

    def run(index: int, request: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            responses[index] = request()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return responses


def order_request(user: User, product_type: str, plan: Product, key: str) -> Callable[[], Any]:
    return lambda: place(api_for(user), product_type, [(plan, 1)], key=key)


def test_two_internet_orders_at_once_open_one_opportunity(systems: EmulatorSuite) -> None:
    # Given an eligible customer with no Opportunity yet
    user = eligible_customer(systems)
    plan = internet_plan(systems)

    # When two internet orders with different keys arrive at the same moment
    responses = at_once(
        order_request(user, "internet", plan, "key-a"), order_request(user, "internet", plan, "key-b")
    )

    # Then one opens the Opportunity and the other is told an order is already in progress
    assert sorted(r.status_code for r in responses) == [201, 409]
    assert [r.json()["code"] for r in responses if r.status_code == 409] == ["order_in_progress"]
    assert Opportunity.objects.filter(user=user).count() == 1
    assert Order.objects.count() == 1
    assert OutboxEntry.objects.count() == 1


def test_two_sim_orders_at_once_share_one_opportunity(systems: EmulatorSuite) -> None:
    user = verified_customer(systems)
    plan = sim_plan(systems)

    responses = at_once(order_request(user, "sim", plan, "key-a"), order_request(user, "sim", plan, "key-b"))

    assert [r.status_code for r in responses] == [201, 201]
    opportunity = Opportunity.objects.get(user=user)
    assert {r.json()["opportunity_id"] for r in responses} == {opportunity.pk}
    assert Order.objects.count() == 2


def test_the_same_request_twice_at_once_places_one_order(systems: EmulatorSuite) -> None:
    user = eligible_customer(systems)
    plan = internet_plan(systems)

    responses = at_once(
        order_request(user, "internet", plan, "key-a"), order_request(user, "internet", plan, "key-a")
    )

    # One runs; the other is told it is still running or, if it finished already, gets its answer.
    (placed,) = [r for r in responses if r.status_code == 201 and "Idempotent-Replayed" not in r.headers]
    (other,) = [r for r in responses if r is not placed]
    if other.status_code == 409:
        assert other.json()["code"] == "idempotency_key_in_progress"
    else:
        assert (other.status_code, other.headers["Idempotent-Replayed"]) == (201, "true")
        assert other.json() == placed.json()
    assert Order.objects.count() == 1
    assert OutboxEntry.objects.count() == 1
