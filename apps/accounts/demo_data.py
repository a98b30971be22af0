"""Demo data for the embedded default: a catalog, a support agent and customers in the states a
new engineer wants to click through (new sign-up, eligibility pending, active internet customer
with an invoice due, SIM customer whose ID was rejected, SIM customer awaiting review).

Idempotent: running it again updates the same records and resets the printed passwords.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import (
    CustomerProfile,
    EligibilityStatus,
    IdMapping,
    IdVerificationStatus,
    RegistrationSource,
    User,
)
from apps.catalog.models import BillingCycle, ItemClass, Product, ProductType
from apps.checkout.models import ActivationStatus, Order, OrderItem, OrderStatus
from apps.integrations.models import WhmcsInvoice, WhmcsPaymentMethod, WhmcsService
from apps.notifications.models import Notification, NotificationSource, NotificationType
from apps.opportunities.models import CommodityType, Opportunity, OpportunitySource, OpportunityStage

CATALOG: list[dict[str, Any]] = [
    # Internet: one plan per eligibility offering, plus installation and add-ons.
    {
        "sku": "NET-HOME-1G",
        "name": "SonixNet Home 1G",
        "product_type": ProductType.INTERNET,
        "item_class": ItemClass.PLAN,
        "billing_cycle": BillingCycle.MONTHLY,
        "price": "5280",
        "eligibility_offering": "Home 1G",
        "whmcs_product_id": 1,
    },
    {
        "sku": "NET-MANSION-1G",
        "name": "SonixNet Mansion 1G",
        "product_type": ProductType.INTERNET,
        "item_class": ItemClass.PLAN,
        "billing_cycle": BillingCycle.MONTHLY,
        "price": "4180",
        "eligibility_offering": "Mansion 1G",
        "whmcs_product_id": 2,
    },
    {
        "sku": "NET-HOME-10G",
        "name": "SonixNet Home 10G",
        "product_type": ProductType.INTERNET,
        "item_class": ItemClass.PLAN,
        "billing_cycle": BillingCycle.MONTHLY,
        "price": "6380",
        "eligibility_offering": "Home 10G",
        "whmcs_product_id": 3,
    },
    {
        "sku": "NET-INSTALL",
        "name": "Standard installation",
        "product_type": ProductType.INTERNET,
        "item_class": ItemClass.INSTALLATION,
        "billing_cycle": BillingCycle.ONE_TIME,
        "price": "22000",
        "whmcs_product_id": 4,
    },
    {
        "sku": "NET-ROUTER",
        "name": "Wi-Fi 6 router rental",
        "product_type": ProductType.INTERNET,
        "item_class": ItemClass.ADD_ON,
        "billing_cycle": BillingCycle.MONTHLY,
        "price": "550",
        "whmcs_product_id": 5,
    },
    # SIM: plans, the family-discount plan and the activation fee.
    {
        "sku": "SIM-5GB",
        "name": "SonixNet SIM 5GB",
        "product_type": ProductType.SIM,
        "item_class": ItemClass.PLAN,
        "billing_cycle": BillingCycle.MONTHLY,
        "price": "1650",
        "whmcs_product_id": 10,
        "config_options": {"data_gb": 5},
    },
    {
        "sku": "SIM-20GB",
        "name": "SonixNet SIM 20GB",
        "product_type": ProductType.SIM,
        "item_class": ItemClass.PLAN,
        "billing_cycle": BillingCycle.MONTHLY,
        "price": "2970",
        "whmcs_product_id": 11,
        "config_options": {"data_gb": 20},
    },
    {
        "sku": "SIM-FAMILY-5GB",
        "name": "SonixNet SIM 5GB (family)",
        "product_type": ProductType.SIM,
        "item_class": ItemClass.PLAN,
        "billing_cycle": BillingCycle.MONTHLY,
        "price": "1100",
        "whmcs_product_id": 12,
        "is_family_discount": True,
        "config_options": {"data_gb": 5},
    },
    {
        "sku": "SIM-ACTIVATION",
        "name": "SIM activation fee",
        "product_type": ProductType.SIM,
        "item_class": ItemClass.ACTIVATION,
        "billing_cycle": BillingCycle.ONE_TIME,
        "price": "3300",
        "whmcs_product_id": 13,
    },
    {
        "sku": "SIM-VOICE",
        "name": "Unlimited domestic calls",
        "product_type": ProductType.SIM,
        "item_class": ItemClass.ADD_ON,
        "billing_cycle": BillingCycle.MONTHLY,
        "price": "1430",
        "whmcs_product_id": 14,
    },
    # VPN.
    {
        "sku": "VPN-STD",
        "name": "SonixNet VPN",
        "product_type": ProductType.VPN,
        "item_class": ItemClass.PLAN,
        "billing_cycle": BillingCycle.MONTHLY,
        "price": "990",
        "whmcs_product_id": 20,
    },
]


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str


def load_demo_data() -> list[DemoLogin]:
    """Create or refresh the demo records; returns the logins to print."""
    with transaction.atomic():
        products = _load_catalog()
        logins = [_agent()]
        logins += _customers(products)
    return logins


def _load_catalog() -> dict[str, Product]:
    products = {}
    for order, item in enumerate(CATALOG):
        defaults = {**item, "price": Decimal(item["price"]), "display_order": order, "is_active": True}
        defaults.setdefault("config_options", {})
        product, _ = Product.objects.update_or_create(salesforce_id=f"01tDEMO{order:011d}", defaults=defaults)
        products[item["sku"]] = product
    return products


def _password() -> str:
    return secrets.token_urlsafe(12)


def _agent() -> DemoLogin:
    password = _password()
    agent, _ = User.objects.update_or_create(
        email="agent@sonixnet.example",
        defaults={"first_name": "Aiko", "last_name": "Support", "is_staff": True, "is_active": True},
    )
    agent.set_password(password)
    agent.save()
    # Issue-specific groups (agents, supervisors) are created by migrations when they exist.
    for name in ("Agents", "Supervisors"):
        group = Group.objects.filter(name=name).first()
        if group:
            agent.groups.add(group)
    if not agent.groups.exists():
        agent.is_superuser = True
        agent.save(update_fields=["is_superuser"])
    return DemoLogin("support agent", agent.email, password)


def _customer(
    number: int, email: str, first_name: str, last_name: str, source: str, **profile: Any
) -> tuple[User, str]:
    password = _password()
    user, _ = User.objects.update_or_create(
        email=email, defaults={"first_name": first_name, "last_name": last_name, "is_active": True}
    )
    user.set_password(password)
    user.save()
    CustomerProfile.objects.update_or_create(
        user=user,
        defaults={
            "customer_number": f"P{9000000 + number}",
            "registration_source": source,
            "phone_number": f"090-0000-{number:04d}",
            "postal_code": "150-0002",
            "prefecture": "Tokyo",
            "city": "Shibuya-ku",
            "address_line1": f"2-21-{number} Shibuya",
            **profile,
        },
    )
    IdMapping.objects.update_or_create(
        user=user,
        defaults={
            "salesforce_account_id": f"001DEMO{number:011d}",
            "salesforce_contact_id": f"003DEMO{number:011d}",
            "whmcs_client_id": 9000 + number,
        },
    )
    return user, password


def _customers(products: dict[str, Product]) -> list[DemoLogin]:
    now = timezone.now()
    today = timezone.localdate()
    logins = []

    user, password = _customer(1, "hana.sato@example.com", "Hana", "Sato", RegistrationSource.PORTAL_SIGNUP)
    logins.append(DemoLogin("new customer, nothing requested yet", user.email, password))

    user, password = _customer(
        2,
        "kenji.tanaka@example.com",
        "Kenji",
        "Tanaka",
        RegistrationSource.PORTAL_SIGNUP,
        internet_eligibility_status=EligibilityStatus.PENDING,
        internet_eligibility_requested_at=now - timedelta(days=1),
    )
    logins.append(DemoLogin("internet eligibility pending", user.email, password))

    user, password = _customer(
        3,
        "yui.suzuki@example.com",
        "Yui",
        "Suzuki",
        RegistrationSource.PORTAL_CHECKOUT,
        internet_eligibility="Home 1G",
        internet_eligibility_status=EligibilityStatus.ELIGIBLE,
        internet_eligibility_requested_at=now - timedelta(days=40),
        internet_eligibility_checked_at=now - timedelta(days=39),
        id_verification_status=IdVerificationStatus.VERIFIED,
        id_verification_submitted_at=now - timedelta(days=40),
        id_verification_verified_at=now - timedelta(days=39),
    )
    plan = products["NET-HOME-1G"]
    opportunity, _ = Opportunity.objects.update_or_create(
        salesforce_id="006DEMO00000000003",
        defaults={
            "user": user,
            "name": "Yui Suzuki - Internet",
            "product_type": ProductType.INTERNET,
            "stage": OpportunityStage.ACTIVE,
            "commodity_type": CommodityType.PERSONAL_INTERNET,
            "source": OpportunitySource.ORDER_PLACEMENT,
            "whmcs_service_id": 93001,
        },
    )
    order, _ = Order.objects.update_or_create(
        user=user,
        idempotency_key="demo-yui-internet",
        defaults={
            "opportunity": opportunity,
            "salesforce_id": "801DEMO00000000003",
            "order_number": "00000103",
            "product_type": ProductType.INTERNET,
            "status": OrderStatus.ACTIVATED,
            "activation_status": ActivationStatus.ACTIVATED,
            "whmcs_order_id": 93001,
            "effective_date": today - timedelta(days=35),
            "total_amount": plan.price,
        },
    )
    OrderItem.objects.get_or_create(
        order=order, product=plan, defaults={"unit_price": plan.price, "billing_cycle": plan.billing_cycle}
    )
    WhmcsService.objects.update_or_create(
        whmcs_id=93001,
        defaults={
            "user": user,
            "product": plan,
            "whmcs_product_id": plan.whmcs_product_id or 0,
            "name": plan.name,
            "product_type": ProductType.INTERNET,
            "status": WhmcsService.Status.ACTIVE,
            "billing_cycle": "Monthly",
            "recurring_amount": plan.price,
            "registered_on": today - timedelta(days=35),
            "next_due_on": today + timedelta(days=5),
        },
    )
    WhmcsInvoice.objects.update_or_create(
        whmcs_id=94001,
        defaults={
            "user": user,
            "number": "INV-94001",
            "status": WhmcsInvoice.Status.UNPAID,
            "issued_on": today - timedelta(days=2),
            "due_on": today + timedelta(days=5),
            "subtotal": Decimal("4800.00"),
            "tax": Decimal("480.00"),
            "total": Decimal("5280.00"),
        },
    )
    WhmcsPaymentMethod.objects.update_or_create(
        whmcs_id=95001,
        defaults={
            "user": user,
            "type": WhmcsPaymentMethod.Type.CREDIT_CARD,
            "description": "Visa ending 4242",
            "card_type": "Visa",
            "card_last_four": "4242",
            "expires_on": today.replace(year=today.year + 2),
        },
    )
    Notification.objects.get_or_create(
        user=user,
        type=NotificationType.ORDER_ACTIVATED,
        source_id=order.salesforce_id,
        defaults={
            "title": "Service activated",
            "message": "Your SonixNet Home 1G service is now active.",
            "action_url": "/account/services",
            "action_label": "View service",
            "source": NotificationSource.SALESFORCE,
        },
    )
    logins.append(DemoLogin("active internet customer, invoice due", user.email, password))

    user, password = _customer(
        4,
        "ren.watanabe@example.com",
        "Ren",
        "Watanabe",
        RegistrationSource.PORTAL_CHECKOUT,
        id_verification_status=IdVerificationStatus.REJECTED,
        id_verification_submitted_at=now - timedelta(days=3),
        id_verification_verified_at=now - timedelta(days=2),
        id_verification_rejection_message="Image is not clear enough. Please retake the photo in good lighting.",
    )
    Notification.objects.get_or_create(
        user=user,
        type=NotificationType.VERIFICATION_REJECTED,
        source_id="001DEMO00000000004",
        defaults={
            "title": "ID verification requires attention",
            "message": "Image is not clear enough. Please retake the photo in good lighting.",
            "action_url": "/account/settings/verification",
            "action_label": "Resubmit",
        },
    )
    logins.append(DemoLogin("SIM customer, ID rejected", user.email, password))

    user, password = _customer(
        5,
        "mei.ito@example.com",
        "Mei",
        "Ito",
        RegistrationSource.PORTAL_CHECKOUT,
        id_verification_status=IdVerificationStatus.SUBMITTED,
        id_verification_submitted_at=now - timedelta(hours=5),
    )
    sim = products["SIM-20GB"]
    opportunity, _ = Opportunity.objects.update_or_create(
        salesforce_id="006DEMO00000000005",
        defaults={
            "user": user,
            "name": "Mei Ito - SIM",
            "product_type": ProductType.SIM,
            "stage": OpportunityStage.POST_PROCESSING,
            "commodity_type": CommodityType.SIM,
            "source": OpportunitySource.ORDER_PLACEMENT,
        },
    )
    order, _ = Order.objects.update_or_create(
        user=user,
        idempotency_key="demo-mei-sim",
        defaults={
            "opportunity": opportunity,
            "salesforce_id": "801DEMO00000000005",
            "order_number": "00000105",
            "product_type": ProductType.SIM,
            "status": OrderStatus.PENDING_REVIEW,
            "activation_status": ActivationStatus.PENDING_REVIEW,
            "effective_date": today,
            "total_amount": sim.price + products["SIM-ACTIVATION"].price,
        },
    )
    for product in (sim, products["SIM-ACTIVATION"]):
        OrderItem.objects.get_or_create(
            order=order,
            product=product,
            defaults={"unit_price": product.price, "billing_cycle": product.billing_cycle},
        )
    logins.append(DemoLogin("SIM customer, ID under review, order pending", user.email, password))
    return logins
