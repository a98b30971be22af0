"""Order approval in the console: prerequisites, items and prices, and the approval written to
Salesforce, whose Order Approval Flow then requests provisioning as for an approval made there."""

from __future__ import annotations

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from apps.accounts.models import EligibilityStatus, IdVerificationStatus, User
from apps.catalog.models import ProductType
from apps.checkout.models import Order, OrderStatus
from apps.console.models import AgentDecision, DecisionAction
from apps.integrations.models import OutboxEntry
from emulators import EmulatorSuite
from tests.console.conftest import order_url
from tests.helpers import MakeCustomer, deliver_all
from tests.scenarios import pending_order

pytestmark = pytest.mark.django_db

ORDER_TOPIC = "/event/OrderProvisionRequested__e"


def test_the_checklist_shows_prerequisites_items_and_prices(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    user = make_customer(
        internet_eligibility_status=EligibilityStatus.ELIGIBLE, internet_eligibility="Home 1G"
    )
    order = pending_order(systems, user)

    page = agent_client.get(order_url("change", order.pk)).content.decode()

    assert "Internet eligibility is set (Eligible)" in page
    assert '<span class="console-met">✔</span>' in page
    assert "SonixNet Home 1G" in page
    assert "¥4,980" in page
    assert "¥23,000" in page
    assert "¥27,980" in page
    assert 'id="console-form-approve"' in page


def test_approve_writes_approved_to_salesforce_and_the_flow_requests_provisioning(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent: User, agent_client: Client
) -> None:
    user = make_customer(
        internet_eligibility_status=EligibilityStatus.ELIGIBLE, internet_eligibility="Home 1G"
    )
    order = pending_order(systems, user)
    events_before = len(systems.bus.events(ORDER_TOPIC))

    response = agent_client.post(order_url("approve", order.pk), {"approve-items_checked": "on"})

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.APPROVED
    decision = AgentDecision.objects.get()
    assert (decision.agent, decision.action, decision.before, decision.after) == (
        agent,
        DecisionAction.APPROVE_ORDER,
        {"status": "pending_review"},
        {"status": "approved"},
    )
    assert deliver_all().delivered == [OutboxEntry.objects.get().pk]
    sf_order = systems.salesforce.store.get_record("Order", order.salesforce_id)
    assert sf_order["Status"] == "Approved"
    assert sf_order["Activation_Status__c"] == "Activating"
    (event,) = systems.bus.decoded_events(ORDER_TOPIC)[events_before:]
    assert event["OrderId__c"] == order.salesforce_id


def test_an_internet_order_without_an_eligibility_result_is_not_approved(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    user = make_customer(internet_eligibility_status=EligibilityStatus.PENDING)
    order = pending_order(systems, user)

    page = agent_client.get(order_url("change", order.pk)).content.decode()
    assert '<span class="console-unmet">✘</span>' in page
    response = agent_client.post(order_url("approve", order.pk), {"approve-items_checked": "on"})

    assert response.status_code == 200
    assert (
        "The order cannot be approved yet: Internet eligibility is set (Eligible)."
        in response.content.decode()
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_REVIEW
    assert OutboxEntry.objects.count() == 0


def test_a_sim_order_needs_a_verified_id(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    unverified = make_customer(id_verification_status=IdVerificationStatus.SUBMITTED)
    verified = make_customer(id_verification_status=IdVerificationStatus.VERIFIED)
    refused = pending_order(systems, unverified, product_type=ProductType.SIM)
    accepted = pending_order(systems, verified, product_type=ProductType.SIM)

    agent_client.post(order_url("approve", refused.pk), {"approve-items_checked": "on"})
    agent_client.post(order_url("approve", accepted.pk), {"approve-items_checked": "on"})

    refused.refresh_from_db()
    accepted.refresh_from_db()
    assert refused.status == OrderStatus.PENDING_REVIEW
    assert accepted.status == OrderStatus.APPROVED


def test_internet_orders_need_a_verified_id_where_the_setting_says_so(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client, settings: SettingsWrapper
) -> None:
    settings.INTERNET_ORDERS_REQUIRE_ID_VERIFICATION = True
    user = make_customer(
        internet_eligibility_status=EligibilityStatus.ELIGIBLE, internet_eligibility="Home 1G"
    )
    order = pending_order(systems, user)

    response = agent_client.post(order_url("approve", order.pk), {"approve-items_checked": "on"})

    assert "ID verification is Verified" in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_REVIEW


def test_an_order_placed_moments_ago_waits_for_its_salesforce_id(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    user = make_customer(
        internet_eligibility_status=EligibilityStatus.ELIGIBLE, internet_eligibility="Home 1G"
    )
    order = pending_order(systems, user)
    Order.objects.filter(pk=order.pk).update(salesforce_id=None)

    agent_client.post(order_url("approve", order.pk), {"approve-items_checked": "on"})

    entry = OutboxEntry.objects.get()
    assert entry.payload["subrequests"][0]["url"] == "sobjects/Order/"
    assert entry.payload["fills"] == [
        {
            "path": [0, "url"],
            "model": "checkout.Order",
            "pk": order.pk,
            "field": "salesforce_id",
            "file_base64": False,
        }
    ]


def test_an_approved_order_is_not_approved_twice(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    user = make_customer(
        internet_eligibility_status=EligibilityStatus.ELIGIBLE, internet_eligibility="Home 1G"
    )
    order = pending_order(systems, user)
    agent_client.post(order_url("approve", order.pk), {"approve-items_checked": "on"})

    page = agent_client.get(order_url("change", order.pk)).content.decode()
    response = agent_client.post(order_url("approve", order.pk), {"approve-items_checked": "on"})

    assert 'id="console-form-approve"' not in page
    assert "This order is not waiting for approval (it is Approved)." in response.content.decode()
    assert OutboxEntry.objects.count() == 1
