"""The order approval checklist's billing lines: a payment method on file, and what WHMCS will
bill against what the customer was quoted."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.catalog.models import Product
from apps.catalog.sync import sync_catalog
from apps.checkout.models import Order, OrderStatus
from apps.integrations.models import OutboxEntry
from emulators import EmulatorSuite
from tests.factories import OrderFactory, OrderItemFactory, ProductFactory, WhmcsPaymentMethodFactory
from tests.helpers import add_product
from tests.scenarios import customer_without_a_card

pytestmark = pytest.mark.django_db


def approval_url(name: str, order: Order) -> str:
    return reverse(f"admin:console_orderapprovalqueueitem_{name}", args=[order.pk])


def pending_internet_order(systems: EmulatorSuite, user: User, *, items: bool = True) -> Order:
    sf_order = systems.salesforce.store.create_record(
        "Order",
        {
            "AccountId": user.id_mapping.salesforce_account_id,
            "EffectiveDate": timezone.localdate().isoformat(),
            "Status": "Pending Review",
        },
    )
    order = OrderFactory(user=user, salesforce_id=sf_order["Id"])
    if items:
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


def quoted_order(systems: EmulatorSuite, user: User, *, installation_pid: str = "3") -> Order:
    """Home 1G quoted ¥5,280 and the installation ¥22,000, from the synced catalog (WHMCS's own
    price for Home 1G is ¥5,500)."""
    add_product(systems, Name="Home 1G", price="5280")
    add_product(
        systems,
        Name="Installation",
        price="22000",
        Item_Class__c="Installation",
        Billing_Cycle__c="One-time",
        WHMCS_Product_Id__c=installation_pid,
    )
    sync_catalog()
    order = pending_internet_order(systems, user, items=False)
    for product in Product.objects.order_by("pk"):
        OrderItemFactory(order=order, product=product, unit_price=product.price)
    Order.objects.filter(pk=order.pk).update(total_amount=Decimal("27280.00"))
    return order


def test_the_checklist_shows_quote_against_whmcs_and_the_order_is_approved(
    systems: EmulatorSuite, agent_client: Client
) -> None:
    # given
    user = customer_without_a_card(systems)
    WhmcsPaymentMethodFactory(user=user)
    order = quoted_order(systems, user)

    # when
    page = agent_client.get(approval_url("change", order)).content.decode()
    response = agent_client.post(approval_url("approve", order), {"approve-items_checked": "on"})

    # then
    assert "WHMCS bills the quoted prices" in page
    assert (
        "Quote ¥27,280, WHMCS list price ¥27,500: billed as quoted. Home 1G: quoted ¥5,280, WHMCS ¥5,500"
        in page
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.APPROVED


def test_an_item_whmcs_cannot_bill_blocks_the_approval(systems: EmulatorSuite, agent_client: Client) -> None:
    # given: the installation's Product2 names a WHMCS product that does not exist
    user = customer_without_a_card(systems)
    WhmcsPaymentMethodFactory(user=user)
    order = quoted_order(systems, user, installation_pid="99")

    # when
    response = agent_client.post(approval_url("approve", order), {"approve-items_checked": "on"})

    # then
    assert "Installation: No such WHMCS product" in response.content.decode()
    assert "The order cannot be approved yet: WHMCS bills the quoted prices." in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_REVIEW
