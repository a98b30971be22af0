"""The order approval checklist's billing lines: a payment method on file, and what WHMCS will
bill against what the customer was quoted."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.checkout.models import Order, OrderStatus
from apps.integrations.models import OutboxEntry
from emulators import EmulatorSuite
from tests.factories import OrderFactory, OrderItemFactory, ProductFactory, WhmcsPaymentMethodFactory
from tests.scenarios import customer_without_a_card

pytestmark = pytest.mark.django_db


def approval_url(name: str, order: Order) -> str:
    return reverse(f"admin:console_orderapprovalqueueitem_{name}", args=[order.pk])


def pending_internet_order(systems: EmulatorSuite, user: User) -> Order:
    sf_order = systems.salesforce.store.create_record(
        "Order",
        {
            "AccountId": user.id_mapping.salesforce_account_id,
            "EffectiveDate": timezone.localdate().isoformat(),
            "Status": "Pending Review",
        },
    )
    order = OrderFactory(user=user, salesforce_id=sf_order["Id"])
    OrderItemFactory(order=order, product=ProductFactory(name="SonixNet Home 1G"))
    return order


def test_the_approval_checklist_shows_the_payment_method(
    systems: EmulatorSuite, agent_client: Client
) -> None:
    # given
    user = customer_without_a_card(systems)
    WhmcsPaymentMethodFactory(user=user, description="Visa ending 4242")
    order = pending_internet_order(systems, user)

    # when
    page = agent_client.get(approval_url("change", order)).content.decode()

    # then
    assert "A payment method is on file" in page
    assert "Visa ending 4242" in page


def test_an_order_of_a_customer_without_a_payment_method_is_not_approved(
    systems: EmulatorSuite, agent_client: Client
) -> None:
    # given
    user = customer_without_a_card(systems)
    order = pending_internet_order(systems, user)

    # when
    page = agent_client.get(approval_url("change", order)).content.decode()
    response = agent_client.post(approval_url("approve", order), {"approve-items_checked": "on"})

    # then
    assert "None in WHMCS" in page
    assert "The order cannot be approved yet: A payment method is on file." in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_REVIEW
    assert not OutboxEntry.objects.exists()
