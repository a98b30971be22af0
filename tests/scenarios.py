"""Whole setups that tests of several packages share: a signed-up customer's details, an address,
a residence card photo, catalog plans and orders, a customer with a cancellable service, and an
Internet order awaiting review in every system (with the events subscriber to drive it)."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from apps.accounts.models import EligibilityStatus, IdVerificationStatus, RegistrationAttempt, User
from apps.accounts.registration import WHMCS_CLIENT_NOTE
from apps.billing.models import WhmcsService
from apps.catalog.models import BillingCycle, ItemClass, Product, ProductType
from apps.checkout.models import Order, OrderStatus
from apps.integrations.models import EventReplayCursor
from apps.integrations.whmcs.client import get_whmcs_client
from apps.opportunities.models import CommodityType, Opportunity, OpportunityStage
from emulators import EmulatorSuite
from tests.factories import (
    CustomerFactory,
    OpportunityFactory,
    OrderFactory,
    OrderItemFactory,
    ProductFactory,
    WhmcsServiceFactory,
)
from tests.helpers import account_id_of, make_customer

# --- Sign-up, addresses, files ----------------------------------------------------------------

SIGNUP = {
    "email": "Hana.Sato@Example.com",
    "password": "violet-harbor-1987",
    "first_name": "Hana",
    "last_name": "Sato",
    "first_name_kana": "ハナ",
    "last_name_kana": "サトウ",
    "phone_number": "090-1234-5678",
    "postal_code": "1500002",
    "prefecture": "東京都",
    "city": "Shibuya-ku",
    "address_line1": "2-21-1 Shibuya",
    "prefecture_ja": "東京都",
    "city_ja": "渋谷区",
    "address_line1_ja": "渋谷2-21-1",
    "birth_date": "1990-04-01",
}
"""A complete sign-up (``POST /api/auth/signup``) as the web portal sends it."""

ADDRESS = {
    "postal_code": "1500002",
    "prefecture": "東京都",
    "city": "Shibuya-ku",
    "address_line1": "2-21-1 Shibuya",
    "address_line2": "Room 1203",
    "prefecture_ja": "東京都",
    "city_ja": "渋谷区",
    "address_line1_ja": "渋谷2-21-1",
    "address_line2_ja": "1203号室",
    "housing_type": "apartment",
    "notes": "Fibre socket in the living room.",
}
"""An address for an eligibility check (``POST /api/eligibility-request``)."""


def png_bytes(size: tuple[int, int] = (32, 24)) -> bytes:
    """A sound PNG photo of random pixels."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(buffer, "PNG")
    return buffer.getvalue()


def upload(content: bytes, name: str = "card.png", content_type: str = "image/png") -> SimpleUploadedFile:
    """``content`` as a browser uploads it, under the name and type it declares."""
    return SimpleUploadedFile(name, content, content_type=content_type)


# --- Catalog and orders -----------------------------------------------------------------------

ORDERS_URL = "/api/orders"


def eligible_customer(systems: EmulatorSuite, **profile: Any) -> User:
    """A customer whose address is eligible for Home 1G."""
    return make_customer(
        systems,
        internet_eligibility_status=EligibilityStatus.ELIGIBLE,
        internet_eligibility="Home 1G",
        **profile,
    )


def verified_customer(systems: EmulatorSuite, **profile: Any) -> User:
    """A customer whose residence card is verified."""
    return make_customer(systems, id_verification_status=IdVerificationStatus.VERIFIED, **profile)


def catalog_product(
    systems: EmulatorSuite,
    *,
    name: str,
    product_type: str = ProductType.INTERNET,
    item_class: str = ItemClass.PLAN,
    price: str = "4980.00",
    billing_cycle: str = BillingCycle.MONTHLY,
    **fields: Any,
) -> Product:
    """A Product2 with its standard price book entry in the emulator, and its portal mirror."""
    store = systems.salesforce.store
    product2 = store.create_record("Product2", {"Name": name, "IsActive": True})
    standard = store.find_records("Pricebook2", IsStandard=True)[0]
    store.create_record(
        "PricebookEntry",
        {
            "Pricebook2Id": standard["Id"],
            "Product2Id": product2["Id"],
            "UnitPrice": float(price),
            "IsActive": True,
        },
    )
    return ProductFactory.create(
        salesforce_id=product2["Id"],
        name=name,
        sku=name.upper().replace(" ", "-"),
        product_type=product_type,
        item_class=item_class,
        price=Decimal(price),
        billing_cycle=billing_cycle,
        **fields,
    )


def internet_plan(systems: EmulatorSuite, **fields: Any) -> Product:
    fields.setdefault("eligibility_offering", "Home 1G")
    return catalog_product(systems, name="Home 1G", **fields)


def sim_plan(systems: EmulatorSuite, **fields: Any) -> Product:
    return catalog_product(systems, name="SIM 20GB", product_type=ProductType.SIM, price="2980.00", **fields)


def place(
    api: APIClient,
    product_type: str,
    items: list[tuple[Product | int, int]],
    *,
    key: str | None = "key-1",
    **extra: Any,
) -> Any:
    """``POST /api/orders`` of ``items`` (product, quantity) under the idempotency ``key``."""
    body = {
        "product_type": product_type,
        "items": [
            {"product_id": product.pk if isinstance(product, Product) else product, "quantity": quantity}
            for product, quantity in items
        ],
        **extra,
    }
    headers = {} if key is None else {"Idempotency-Key": key}
    return api.post(ORDERS_URL, body, format="json", headers=headers)


def pending_order(systems: EmulatorSuite, user: User, *, product_type: str = ProductType.INTERNET) -> Order:
    """An order of ``user`` waiting for an agent's review, in Salesforce (Pending Review) and the
    mirror: a plan (¥4,980) and an installation (¥23,000), ¥27,980 in all."""
    sf_order = systems.salesforce.store.create_record(
        "Order",
        {
            "AccountId": account_id_of(user),
            "EffectiveDate": timezone.localdate().isoformat(),
            "Status": "Pending Review",
        },
    )
    order = OrderFactory(
        user=user, salesforce_id=sf_order["Id"], product_type=product_type, total_amount=Decimal("27980.00")
    )
    plan = ProductFactory(name="SonixNet Home 1G", product_type=product_type, price=Decimal("4980.00"))
    install = ProductFactory(
        name="Installation", product_type=product_type, item_class="installation", price=Decimal("23000.00")
    )
    OrderItemFactory(order=order, product=plan)
    OrderItemFactory(order=order, product=install)
    return order


def customer_without_a_card(systems: EmulatorSuite) -> User:
    """An internet-eligible customer whose WHMCS client exists in the emulator, with no card."""
    user = make_customer(
        systems,
        payment_method=False,
        internet_eligibility_status=EligibilityStatus.ELIGIBLE,
        internet_eligibility="Home 1G",
    )
    user.id_mapping.whmcs_client_id = whmcs_client(email=user.email)
    user.id_mapping.save()
    return user


# --- A service to cancel ----------------------------------------------------------------------


def cancellation_url(service: WhmcsService | int) -> str:
    service_id = service.pk if isinstance(service, WhmcsService) else service
    return f"/api/subscriptions/{service_id}/cancellation"


def customer_with_service(
    systems: EmulatorSuite,
    *,
    product_type: str = ProductType.INTERNET,
    name: str = "SonixNet Home 1G",
    status: str = WhmcsService.Status.ACTIVE,
    stage: str = OpportunityStage.ACTIVE,
    whmcs_id: int = 5001,
) -> tuple[User, WhmcsService, Opportunity]:
    """A customer with an Active service and its Active Opportunity, in the portal and in Salesforce."""
    user = make_customer(systems)
    remote = systems.salesforce.store.create_record(
        "Opportunity",
        {
            "AccountId": account_id_of(user),
            "Name": f"Sato Hana - {name}",
            "StageName": "Active",
            "CloseDate": "2024-04-01",
        },
    )
    opportunity = OpportunityFactory.create(
        user=user,
        salesforce_id=remote["Id"],
        product_type=product_type,
        commodity_type=CommodityType.SIM
        if product_type == ProductType.SIM
        else CommodityType.PERSONAL_INTERNET,
        stage=stage,
        whmcs_service_id=whmcs_id,
    )
    service = WhmcsServiceFactory.create(
        user=user, whmcs_id=whmcs_id, name=name, product_type=product_type, status=status
    )
    return user, service, opportunity


def cancel(api: APIClient, service: WhmcsService | int, **body: Any) -> Any:
    """``POST /api/subscriptions/{id}/cancellation``, confirmed."""
    return api.post(cancellation_url(service), {"confirm": True, **body}, format="json")


# --- An Internet order awaiting review, and the events subscriber -------------------------------

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


def stuck_registration(systems: EmulatorSuite, **signup: Any) -> RegistrationAttempt:
    """A sign-up (``SIGNUP`` with ``signup`` changed) that WHMCS refused for good, a business
    rule rather than an outage: the attempt needs attention, with the portal user signed in and
    the Salesforce Account and Contact created, and no WHMCS client."""
    systems.whmcs.inject_fault(action="AddClient", kind="error", message="Invalid phone number")
    response = APIClient().post("/api/auth/signup", {**SIGNUP, **signup}, format="json")
    assert response.status_code == 201, response.json()
    attempt = RegistrationAttempt.objects.get(user_id=response.json()["id"])
    assert attempt.status == RegistrationAttempt.Status.NEEDS_ATTENTION, attempt.steps
    return attempt


def whmcs_client(*, email: str, notes: str = "") -> int:
    """A client added to WHMCS through the portal's own client; returns its id."""
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
