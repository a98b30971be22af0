"""Helpers for the worker tests: eager Celery, the events subscriber against the emulators, and
an approved-order scenario seeded in the Salesforce emulator, WHMCS emulator and portal mirror."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command

from apps.accounts.models import User
from apps.accounts.registration import WHMCS_CLIENT_NOTE
from apps.catalog.models import BillingCycle, ItemClass, Product
from apps.checkout.models import Order, OrderStatus
from apps.integrations.models import EventReplayCursor
from apps.integrations.whmcs.client import get_whmcs_client
from apps.opportunities.models import Opportunity, OpportunityStage
from emulators import EmulatorSuite
from tests.factories import (
    CustomerFactory,
    OpportunityFactory,
    OrderFactory,
    OrderItemFactory,
    ProductFactory,
)

ACCOUNT_TOPIC = "/event/Account_Internet_Eligibility_Update__e"
ORDER_TOPIC = "/event/OrderProvisionRequested__e"


def seed_cursor(systems: EmulatorSuite, topic: str) -> None:
    """Start the topic after every event already on the session's bus."""
    EventReplayCursor.objects.update_or_create(
        topic=topic, defaults={"replay_id": systems.bus.latest_replay_id()}
    )


def run_subscriber(topic: str, events: int) -> str:
    """``manage.py run_events_subscriber`` for ``events`` events of one topic (TLS, real auth)."""
    stdout = io.StringIO()
    call_command(
        "run_events_subscriber",
        "--topic",
        topic,
        "--max-events",
        str(events),
        "--owner",
        "worker-tests",
        "--lease-ttl",
        "60",
        stdout=stdout,
        stderr=io.StringIO(),
    )
    return stdout.getvalue()


def republish_last(systems: EmulatorSuite, topic: str) -> None:
    """Deliver the last event of ``topic`` once more, as the bus may redeliver it."""
    systems.bus.publish(topic, systems.bus.decode(systems.bus.events(topic)[-1]))


def whmcs_client(*, email: str, notes: str = "") -> int:
    return get_whmcs_client().add_client(
        first_name="Taro",
        last_name="Yamada",
        email=email,
        address1="2-21-1 Shibuya",
        city="Shibuya-ku",
        state="Tokyo",
        postcode="150-0002",
        country="JP",
        phone_number="090-1234-5678",
        password="not-used-by-the-portal",
        notes=notes,
    )


@dataclass
class ApprovedOrderScenario:
    customer: User
    account_id: str
    opportunity_id: str
    order_id: str
    order_number: str
    item_ids: list[str]
    whmcs_client_id: int
    plan: Product
    installation: Product
    order: Order
    opportunity: Opportunity


def seed_order(systems: EmulatorSuite) -> ApprovedOrderScenario:
    """An Internet order awaiting review: a plan (WHMCS pid 1, Wi-Fi router option) and the
    one-time installation (pid 3), in Salesforce, WHMCS (the client) and the portal mirror."""
    store = systems.salesforce.store
    account = store.create_record("Account", {"Name": "Yamada Taro"})
    standard = store.find_records("Pricebook2", IsStandard=True)[0]
    products: dict[str, dict[str, Any]] = {}
    for key, fields, price in (
        (
            "plan",
            {"Name": "SonixNet Home 1G", "Item_Class__c": "Service", "Billing_Cycle__c": "Monthly"},
            5500,
        ),
        (
            "installation",
            {
                "Name": "Internet installation",
                "Item_Class__c": "Installation",
                "Billing_Cycle__c": "One-time",
            },
            22000,
        ),
    ):
        products[key] = store.create_record(
            "Product2", {"IsActive": True, "Product_Type__c": "Internet", **fields}
        )
        store.create_record(
            "PricebookEntry",
            {
                "Pricebook2Id": standard["Id"],
                "Product2Id": products[key]["Id"],
                "UnitPrice": price,
                "IsActive": True,
            },
        )
    opportunity = store.create_record(
        "Opportunity",
        {
            "AccountId": account["Id"],
            "Name": "Yamada Internet",
            "StageName": "Post Processing",
            "CloseDate": "2026-12-31",
        },
    )
    order = store.create_record(
        "Order",
        {
            "AccountId": account["Id"],
            "OpportunityId": opportunity["Id"],
            "EffectiveDate": "2026-11-20",
            "Status": "Pending Review",
            "Pricebook2Id": standard["Id"],
        },
    )
    items = [
        store.create_record(
            "OrderItem",
            {"OrderId": order["Id"], "Product2Id": products[key]["Id"], "Quantity": 1, "UnitPrice": price},
        )
        for key, price in (("plan", 5500), ("installation", 22000))
    ]

    client_id = whmcs_client(
        email="yamada@example.com", notes=f"{WHMCS_CLIENT_NOTE}; Salesforce Account {account['Id']}"
    )
    customer = CustomerFactory(
        email="yamada@example.com",
        id_mapping__salesforce_account_id=account["Id"],
        id_mapping__whmcs_client_id=client_id,
    )
    plan = ProductFactory(
        salesforce_id=products["plan"]["Id"],
        name="SonixNet Home 1G",
        item_class=ItemClass.PLAN,
        billing_cycle=BillingCycle.MONTHLY,
        whmcs_product_id=1,
        config_options={"1": 2},
        price=5500,
    )
    installation = ProductFactory(
        salesforce_id=products["installation"]["Id"],
        name="Internet installation",
        item_class=ItemClass.INSTALLATION,
        billing_cycle=BillingCycle.ONE_TIME,
        whmcs_product_id=3,
        price=22000,
    )
    local_opportunity = OpportunityFactory(
        user=customer, salesforce_id=opportunity["Id"], stage=OpportunityStage.POST_PROCESSING
    )
    local_order = OrderFactory(
        user=customer,
        opportunity=local_opportunity,
        salesforce_id=order["Id"],
        order_number=order["OrderNumber"],
        status=OrderStatus.PENDING_REVIEW,
    )
    OrderItemFactory(order=local_order, product=plan, salesforce_id=items[0]["Id"])
    OrderItemFactory(order=local_order, product=installation, salesforce_id=items[1]["Id"])
    assert settings.WHMCS["PAYMENT_METHOD"] == "mailin"
    return ApprovedOrderScenario(
        customer=customer,
        account_id=account["Id"],
        opportunity_id=opportunity["Id"],
        order_id=order["Id"],
        order_number=order["OrderNumber"],
        item_ids=[item["Id"] for item in items],
        whmcs_client_id=client_id,
        plan=plan,
        installation=installation,
        order=local_order,
        opportunity=local_opportunity,
    )


@pytest.fixture
def approved_order_scenario(systems: EmulatorSuite) -> ApprovedOrderScenario:
    return seed_order(systems)
