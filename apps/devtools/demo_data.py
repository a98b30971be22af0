"""Demo data for the embedded default, made through the portal's real flows against the emulators.

The catalog is created in the Salesforce emulator and mirrored by the catalog sync; customers
register through the registration service (Salesforce Account and Contact, WHMCS client); their
states come from the same services customers and agents use (eligibility request, residence card,
the agent console's decisions, order placement, fulfillment). So every record exists in the
portal, in Salesforce and in WHMCS, and an agent's decision on a demo customer reaches Salesforce
like any other.

The emulators run in-process, on their configured ports, while the data is made (their state
persists in ``EMULATOR_DIR``); ``run_portal`` loads the demo data before it starts them.
Idempotent: an existing demo customer keeps its records and only gets a new password.
"""

from __future__ import annotations

import io
import secrets
from base64 import b32encode
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.models import RegistrationSource, User
from apps.accounts.registration import RegistrationData, customer_register
from apps.billing.services import sync_customer_billing
from apps.catalog.models import BillingCycle, ItemClass, Product, ProductType
from apps.catalog.sync import sync_catalog
from apps.devtools.emulators import emulator_suite_from_settings
from apps.integrations.models import OutboxEntry
from apps.integrations.outbox import outbox_deliver_due
from apps.integrations.salesforce.auth import clear_session_cache
from apps.integrations.salesforce.field_map import get_field_map
from emulators import EmulatorSuite

AGENT_EMAIL = "agent@sonixnet.example"

# Product2 records of the demo org; whmcs_product_id matches the WHMCS emulator's products.
CATALOG: list[dict[str, Any]] = [
    {"sku": "NET-HOME-1G", "name": "SonixNet Home 1G", "product_type": ProductType.INTERNET,
     "item_class": ItemClass.PLAN, "billing_cycle": BillingCycle.MONTHLY, "price": "5280",
     "eligibility_offering": "Home 1G", "whmcs_product_id": 1},
    {"sku": "NET-MANSION-1G", "name": "SonixNet Mansion 1G", "product_type": ProductType.INTERNET,
     "item_class": ItemClass.PLAN, "billing_cycle": BillingCycle.MONTHLY, "price": "4180",
     "eligibility_offering": "Mansion 1G", "whmcs_product_id": 1},
    {"sku": "NET-HOME-10G", "name": "SonixNet Home 10G", "product_type": ProductType.INTERNET,
     "item_class": ItemClass.PLAN, "billing_cycle": BillingCycle.MONTHLY, "price": "6380",
     "eligibility_offering": "Home 10G", "whmcs_product_id": 2},
    {"sku": "NET-INSTALL", "name": "Standard installation", "product_type": ProductType.INTERNET,
     "item_class": ItemClass.INSTALLATION, "billing_cycle": BillingCycle.ONE_TIME, "price": "22000",
     "whmcs_product_id": 3},
    {"sku": "SIM-5GB", "name": "SonixNet SIM 5GB", "product_type": ProductType.SIM,
     "item_class": ItemClass.PLAN, "billing_cycle": BillingCycle.MONTHLY, "price": "1650", "whmcs_product_id": 4},
    {"sku": "SIM-20GB", "name": "SonixNet SIM 20GB", "product_type": ProductType.SIM,
     "item_class": ItemClass.PLAN, "billing_cycle": BillingCycle.MONTHLY, "price": "2970", "whmcs_product_id": 5},
    {"sku": "SIM-FAMILY-5GB", "name": "SonixNet SIM 5GB (family)", "product_type": ProductType.SIM,
     "item_class": ItemClass.PLAN, "billing_cycle": BillingCycle.MONTHLY, "price": "1100", "whmcs_product_id": 4,
     "is_family_discount": True},
    {"sku": "VPN-STD", "name": "SonixNet VPN", "product_type": ProductType.VPN,
     "item_class": ItemClass.PLAN, "billing_cycle": BillingCycle.MONTHLY, "price": "990", "whmcs_product_id": 6},
]  # fmt: skip


class DemoDataError(Exception):
    """The demo data cannot be loaded here (real systems configured, or emulators already running)."""


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str
    # The authenticator (TOTP) the console asks a code of when STAFF_REQUIRE_2FA is on.
    totp_uri: str = ""
    totp_key: str = ""


def load_demo_data() -> list[DemoLogin]:
    """Create or refresh the demo records; returns the logins to print."""
    suite = emulator_suite_from_settings()
    if (
        settings.SALESFORCE["LOGIN_URL"] != suite.salesforce.base_url
        or settings.WHMCS["API_URL"] != suite.whmcs.url
    ):
        raise DemoDataError("Demo data is only for the emulators; Salesforce or WHMCS points elsewhere.")
    try:
        suite.start()
    except OSError as exc:
        raise DemoDataError(
            "The emulators' ports are in use: stop run_emulators first (run_portal loads the demo data "
            "before it starts them)."
        ) from exc
    clear_session_cache()
    try:
        _load_catalog(suite)
        agent, agent_password = _agent()
        device = _agent_authenticator(agent)
        logins = [
            DemoLogin(
                "support agent",
                agent.email,
                agent_password,
                totp_uri=device.config_url,
                totp_key=b32encode(device.bin_key).decode(),
            )
        ]
        logins += _customers(suite, agent)
        _deliver_everything()
    finally:
        suite.stop()
        clear_session_cache()
    return logins


def _password() -> str:
    return secrets.token_urlsafe(12)


def _deliver_everything() -> None:
    for _ in range(20):
        if not OutboxEntry.objects.filter(status=OutboxEntry.Status.PENDING).exists():
            return
        OutboxEntry.objects.filter(status=OutboxEntry.Status.PENDING).update(next_attempt_at=timezone.now())
        outbox_deliver_due(limit=200)


def _load_catalog(suite: EmulatorSuite) -> None:
    """Product2 and standard prices in the org, then the real catalog sync mirrors them."""
    store = suite.salesforce.store
    field_map = get_field_map()
    standard = store.find_records("Pricebook2", IsStandard=True)[0]
    for position, item in enumerate(CATALOG):
        if store.find_records("Product2", ProductCode=item["sku"]):
            continue
        product = store.create_record(
            "Product2",
            field_map.record(
                "Product2",
                {
                    "name": item["name"],
                    "sku": item["sku"],
                    "is_active": True,
                    "product_type": item["product_type"],
                    "item_class": item["item_class"],
                    "billing_cycle": item["billing_cycle"],
                    "whmcs_product_id": str(item["whmcs_product_id"]),
                    "eligibility_offering": item.get("eligibility_offering"),
                    "is_family_discount": item.get("is_family_discount", False),
                    "display_order": position,
                },
            ),
        )
        store.create_record(
            "PricebookEntry",
            field_map.record(
                "PricebookEntry",
                {
                    "pricebook_id": standard["Id"],
                    "product_id": product["Id"],
                    "unit_price": float(Decimal(item["price"])),
                    "is_active": True,
                },
            ),
        )
    sync_catalog(full=True)


def _agent() -> tuple[User, str]:
    password = _password()
    agent, _ = User.objects.update_or_create(
        email=AGENT_EMAIL,
        defaults={"first_name": "Aiko", "last_name": "Support", "is_staff": True, "is_active": True},
    )
    agent.set_password(password)
    agent.save()
    agent.groups.add(*Group.objects.filter(name__in=["Agents", "Supervisors"]))
    return agent, password


def _agent_authenticator(agent: User) -> TOTPDevice:
    """The agent's confirmed TOTP device. Kept across runs (unlike the password), so an
    authenticator app set up once keeps working."""
    device = TOTPDevice.objects.filter(user=agent, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=agent, name="Demo authenticator", confirmed=True)
    return device


@dataclass(frozen=True)
class DemoCustomer:
    number: int
    email: str
    first_name: str
    last_name: str
    source: RegistrationSource
    role: str
    order_type: str | None = None


CUSTOMERS = (
    DemoCustomer(1, "hana.sato@example.com", "Hana", "Sato", RegistrationSource.PORTAL_SIGNUP,
                 "new customer, nothing requested yet"),
    DemoCustomer(2, "kenji.tanaka@example.com", "Kenji", "Tanaka", RegistrationSource.PORTAL_SIGNUP,
                 "internet eligibility pending (eligibility queue)"),
    DemoCustomer(3, "yui.suzuki@example.com", "Yui", "Suzuki", RegistrationSource.PORTAL_CHECKOUT,
                 "active internet customer with an invoice", ProductType.INTERNET),
    DemoCustomer(4, "ren.watanabe@example.com", "Ren", "Watanabe", RegistrationSource.PORTAL_CHECKOUT,
                 "SIM customer whose ID was rejected", ProductType.SIM),
    DemoCustomer(5, "mei.ito@example.com", "Mei", "Ito", RegistrationSource.PORTAL_CHECKOUT,
                 "SIM customer under ID review (ID queue)", ProductType.SIM),
    DemoCustomer(6, "sora.kato@example.com", "Sora", "Kato", RegistrationSource.PORTAL_CHECKOUT,
                 "SIM order awaiting approval (approval queue)", ProductType.SIM),
)  # fmt: skip


def _customers(suite: EmulatorSuite, agent: User) -> list[DemoLogin]:
    logins = []
    for customer in CUSTOMERS:
        password = _password()
        user = User.objects.filter(email=customer.email).first()
        if user is None:
            user = customer_register(
                data=RegistrationData(
                    email=customer.email,
                    password=password,
                    first_name=customer.first_name,
                    last_name=customer.last_name,
                    phone_number=f"0900000{customer.number:04d}",
                    postal_code="150-0002",
                    prefecture="Tokyo",
                    city="Shibuya-ku",
                    address_line1=f"2-21-{customer.number} Shibuya",
                    prefecture_ja="東京都",
                    city_ja="渋谷区",
                    address_line1_ja=f"渋谷2-21-{customer.number}",
                ),
                source=customer.source,
                order_type=customer.order_type,
            ).user
            _deliver_everything()
            STATES[customer.number](suite, agent, user)
            _deliver_everything()
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        logins.append(DemoLogin(customer.role, customer.email, password))
    return logins


def _png() -> io.BytesIO:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (320, 200), (214, 228, 240)).save(buffer, "PNG")
    buffer.seek(0)
    buffer.name = "residence-card.png"
    return buffer


def _request_eligibility(user: User) -> None:
    from apps.verification.services import eligibility_request_create

    eligibility_request_create(
        user_id=user.pk, postal_code="150-0002", prefecture="Tokyo", city="Shibuya-ku",
        address_line1=user.profile.address_line1, prefecture_ja="東京都", city_ja="渋谷区",
        address_line1_ja=user.profile.address_line1_ja, housing_type="house",
    )  # fmt: skip


def _submit_card(user: User) -> int:
    from apps.verification.services import residence_card_submit

    return residence_card_submit(user_id=user.pk, uploaded_file=_png()).pk


def _nothing(suite: EmulatorSuite, agent: User, user: User) -> None:
    """A new sign-up: the dashboard shows onboarding."""


def _eligibility_pending(suite: EmulatorSuite, agent: User, user: User) -> None:
    _request_eligibility(user)


def _add_card(suite: EmulatorSuite, user: User) -> None:
    """Journey step 7, as the customer does it in WHMCS's client area; then the portal re-reads
    it (orders need one: ``ORDERS_REQUIRE_PAYMENT_METHOD``)."""
    client_id = user.id_mapping.whmcs_client_id
    if client_id:
        suite.whmcs.add_pay_method(
            client_id, type="CreditCard", card_type="Visa", card_last_four="4242", expiry="12/29",
            description="Visa ending 4242",
        )  # fmt: skip
    sync_customer_billing(user_id=user.pk)


def _active_internet(suite: EmulatorSuite, agent: User, user: User) -> None:
    """Eligible, verified, ordered, approved and provisioned: the whole internet journey."""
    from apps.checkout.fulfillment import fulfillment_request, fulfillment_run_execute
    from apps.checkout.services import OrderLine, order_place
    from apps.console import services as console

    _request_eligibility(user)
    _deliver_everything()
    console.eligibility_mark_eligible(agent=agent, profile_id=user.profile.pk, offering="Home 1G")
    submission_id = _submit_card(user)
    _deliver_everything()
    console.id_verification_verify(agent=agent, submission_id=submission_id)
    _add_card(suite, user)
    plan = Product.objects.get(sku="NET-HOME-1G")
    installation = Product.objects.get(sku="NET-INSTALL")
    placement = order_place(
        user=user,
        idempotency_key="demo-internet-order",
        product_type=ProductType.INTERNET,
        lines=[OrderLine(product_id=plan.pk, quantity=1), OrderLine(product_id=installation.pk, quantity=1)],
    )
    _deliver_everything()
    console.order_approve(agent=agent, order_id=placement.order.pk)
    _deliver_everything()
    # The org's approval flow published OrderProvisionRequested__e; handle it as the subscriber would.
    event = suite.bus.decoded_events(settings.SALESFORCE["ORDER_PROVISION_EVENT_CHANNEL"])[-1]
    with transaction.atomic():
        run = fulfillment_request(payload=event)
    if run is not None:
        fulfillment_run_execute(run_id=run.pk)
    sync_customer_billing(user_id=user.pk)


def _id_rejected(suite: EmulatorSuite, agent: User, user: User) -> None:
    from apps.console import services as console

    submission_id = _submit_card(user)
    _deliver_everything()
    console.id_verification_reject(
        agent=agent,
        submission_id=submission_id,
        reason="blurry",
        message="The photo is too blurry to read. Please take it again in good light.",
    )


def _id_under_review(suite: EmulatorSuite, agent: User, user: User) -> None:
    _submit_card(user)


def _sim_order_pending(suite: EmulatorSuite, agent: User, user: User) -> None:
    from apps.checkout.services import OrderLine, order_place
    from apps.console import services as console

    submission_id = _submit_card(user)
    _deliver_everything()
    console.id_verification_verify(agent=agent, submission_id=submission_id)
    _add_card(suite, user)
    sim = Product.objects.get(sku="SIM-20GB")
    order_place(
        user=user,
        idempotency_key="demo-sim-order",
        product_type=ProductType.SIM,
        lines=[OrderLine(product_id=sim.pk, quantity=1)],
    )


STATES = {
    1: _nothing,
    2: _eligibility_pending,
    3: _active_internet,
    4: _id_rejected,
    5: _id_under_review,
    6: _sim_order_pending,
}
