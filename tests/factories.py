"""factory-boy factories for every portal model."""

from __future__ import annotations

import datetime
import hashlib
from decimal import Decimal

import factory
from django.core.files.base import ContentFile
from django.utils import timezone
from factory.django import DjangoModelFactory

from apps.accounts.models import (
    CustomerProfile,
    IdMapping,
    OrphanedSalesforceAccount,
    RegistrationAttempt,
    RegistrationSource,
    User,
)
from apps.billing.models import WhmcsInvoice, WhmcsPaymentMethod, WhmcsService
from apps.catalog.models import BillingCycle, ItemClass, PriceMismatch, Product, ProductType
from apps.checkout.models import Order, OrderItem, OrderStatus
from apps.integrations.models import (
    EventReplayCursor,
    OrphanedWhmcsClient,
    OutboxEntry,
    SalesforceSyncCursor,
    TargetSystem,
)
from apps.notifications.models import Notification, NotificationType
from apps.opportunities.models import (
    Case,
    CaseType,
    CommodityType,
    Opportunity,
    OpportunitySource,
    OpportunityStage,
)
from apps.verification.models import EligibilityRequest, ResidenceCardSubmission

# A valid 1x1 PNG, small enough to keep tests fast.
PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a3d5"
    "6b0a0000000049454e44ae426082"
)


def salesforce_id(prefix: str) -> factory.Sequence:
    return factory.Sequence(lambda n: f"{prefix}{n:015d}")


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def save_password(obj: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            obj.save(update_fields=["password"])


class StaffUserFactory(UserFactory):
    email = factory.Sequence(lambda n: f"agent{n}@sonixnet.example")
    is_staff = True


class CustomerProfileFactory(DjangoModelFactory[CustomerProfile]):
    class Meta:
        model = CustomerProfile

    user = factory.SubFactory(UserFactory)
    customer_number = factory.Sequence(lambda n: f"P{n + 1000000:07d}")
    phone_number = "090-1234-5678"
    postal_code = "150-0002"
    prefecture = "Tokyo"
    city = "Shibuya-ku"
    address_line1 = "2-21-1 Shibuya"
    prefecture_ja = "東京都"
    city_ja = "渋谷区"
    address_line1_ja = "渋谷2-21-1"
    birth_date = datetime.date(1990, 4, 1)
    registration_source = RegistrationSource.PORTAL_SIGNUP


class IdMappingFactory(DjangoModelFactory[IdMapping]):
    class Meta:
        model = IdMapping

    user = factory.SubFactory(UserFactory)
    salesforce_account_id = salesforce_id("001")
    salesforce_contact_id = salesforce_id("003")
    whmcs_client_id = factory.Sequence(lambda n: n + 1)


class CustomerFactory(UserFactory):
    """A customer with a profile and an ID mapping, as registration leaves them, and a card in
    the WHMCS mirror (orders need one: ``ORDERS_REQUIRE_PAYMENT_METHOD``); pass
    ``payment_method=None`` for a customer without one."""

    profile = factory.RelatedFactory(CustomerProfileFactory, factory_related_name="user")
    id_mapping = factory.RelatedFactory(IdMappingFactory, factory_related_name="user")
    payment_method = factory.RelatedFactory(
        "tests.factories.WhmcsPaymentMethodFactory",
        factory_related_name="user",
        # Far from the emulated WHMCS's own ids, so a billing sync never meets this row's id.
        whmcs_id=factory.Sequence(lambda n: n + 900_000),
    )


class RegistrationAttemptFactory(DjangoModelFactory[RegistrationAttempt]):
    class Meta:
        model = RegistrationAttempt

    email = factory.Sequence(lambda n: f"registrant{n}@example.com")
    source = RegistrationSource.PORTAL_SIGNUP
    status = RegistrationAttempt.Status.ABANDONED
    steps = factory.LazyFunction(lambda: [{"step": "salesforce_account", "status": "failed"}])


class ProductFactory(DjangoModelFactory[Product]):
    class Meta:
        model = Product

    salesforce_id = salesforce_id("01t")
    name = factory.Sequence(lambda n: f"Plan {n}")
    sku = factory.Sequence(lambda n: f"SKU-{n}")
    product_type = ProductType.INTERNET
    item_class = ItemClass.PLAN
    billing_cycle = BillingCycle.MONTHLY
    whmcs_product_id = factory.Sequence(lambda n: n + 1)
    price = Decimal("4980.00")


class PriceMismatchFactory(DjangoModelFactory[PriceMismatch]):
    class Meta:
        model = PriceMismatch

    product = factory.SubFactory(ProductFactory)
    kind = PriceMismatch.Kind.PRICE
    whmcs_product_id = factory.LazyAttribute(lambda o: o.product.whmcs_product_id)
    billing_cycle = factory.LazyAttribute(lambda o: o.product.billing_cycle)
    currency_code = "JPY"
    salesforce_price = factory.LazyAttribute(lambda o: o.product.price)
    whmcs_price = Decimal("5500.00")
    whmcs_setup_fee = Decimal("0.00")


class OpportunityFactory(DjangoModelFactory[Opportunity]):
    class Meta:
        model = Opportunity

    user = factory.SubFactory(UserFactory)
    salesforce_id = salesforce_id("006")
    name = factory.LazyAttribute(lambda o: f"{o.user.email} {o.product_type}")
    product_type = ProductType.INTERNET
    stage = OpportunityStage.POST_PROCESSING
    commodity_type = CommodityType.PERSONAL_INTERNET
    source = OpportunitySource.ORDER_PLACEMENT


class CaseFactory(DjangoModelFactory[Case]):
    class Meta:
        model = Case

    user = factory.SubFactory(UserFactory)
    salesforce_id = salesforce_id("500")
    type = CaseType.GENERAL_INQUIRY
    subject = factory.Faker("sentence", nb_words=5)
    description = factory.Faker("paragraph")


class OrderFactory(DjangoModelFactory[Order]):
    class Meta:
        model = Order

    user = factory.SubFactory(UserFactory)
    idempotency_key = factory.Faker("uuid4")
    salesforce_id = salesforce_id("801")
    order_number = factory.Sequence(lambda n: f"{n:08d}")
    product_type = ProductType.INTERNET
    status = OrderStatus.PENDING_REVIEW
    effective_date = factory.LazyFunction(lambda: timezone.localdate())
    total_amount = Decimal("4980.00")


class OrderItemFactory(DjangoModelFactory[OrderItem]):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1
    unit_price = factory.LazyAttribute(lambda o: o.product.price)
    billing_cycle = factory.LazyAttribute(lambda o: o.product.billing_cycle)


class EligibilityRequestFactory(DjangoModelFactory[EligibilityRequest]):
    class Meta:
        model = EligibilityRequest

    user = factory.SubFactory(UserFactory)
    postal_code = "150-0002"
    prefecture = "Tokyo"
    city = "Shibuya-ku"
    address_line1 = "2-21-1 Shibuya"
    prefecture_ja = "東京都"
    city_ja = "渋谷区"
    address_line1_ja = "渋谷2-21-1"


class ResidenceCardSubmissionFactory(DjangoModelFactory[ResidenceCardSubmission]):
    class Meta:
        model = ResidenceCardSubmission

    user = factory.SubFactory(UserFactory)
    file = factory.LazyFunction(lambda: ContentFile(PNG_BYTES, name="card.png"))
    content_type = "image/png"
    size = len(PNG_BYTES)
    sha256 = hashlib.sha256(PNG_BYTES).hexdigest()


class NotificationFactory(DjangoModelFactory[Notification]):
    class Meta:
        model = Notification

    user = factory.SubFactory(UserFactory)
    type = NotificationType.SYSTEM_ANNOUNCEMENT
    title = factory.Faker("sentence", nb_words=4)
    message = factory.Faker("sentence")


class OutboxEntryFactory(DjangoModelFactory[OutboxEntry]):
    class Meta:
        model = OutboxEntry

    target_system = TargetSystem.SALESFORCE
    operation = "account.update"
    record_key = factory.Sequence(lambda n: f"Account:{n}")
    payload = factory.LazyFunction(dict)


class EventReplayCursorFactory(DjangoModelFactory[EventReplayCursor]):
    class Meta:
        model = EventReplayCursor

    topic = factory.Sequence(lambda n: f"/event/Test_{n}__e")


class SalesforceSyncCursorFactory(DjangoModelFactory[SalesforceSyncCursor]):
    class Meta:
        model = SalesforceSyncCursor

    sobject = factory.Sequence(lambda n: f"Test_{n}__c")


class OrphanedWhmcsClientFactory(DjangoModelFactory[OrphanedWhmcsClient]):
    class Meta:
        model = OrphanedWhmcsClient

    whmcs_client_id = factory.Sequence(lambda n: n + 1000)
    email = factory.Sequence(lambda n: f"orphan{n}@example.com")
    detected_by = OrphanedWhmcsClient.DetectedBy.REGISTRATION_FAILURE
    reason = "Registration failed after the WHMCS client was created."


class OrphanedSalesforceAccountFactory(DjangoModelFactory[OrphanedSalesforceAccount]):
    class Meta:
        model = OrphanedSalesforceAccount

    salesforce_account_id = salesforce_id("001")
    email = factory.Sequence(lambda n: f"orphan-account{n}@example.com")
    customer_number = factory.Sequence(lambda n: f"P{n + 9000000:07d}")
    detected_by = OrphanedSalesforceAccount.DetectedBy.ABANDONED_REGISTRATION
    reason = "Registration abandoned after the Account was created."


class WhmcsServiceFactory(DjangoModelFactory[WhmcsService]):
    class Meta:
        model = WhmcsService

    user = factory.SubFactory(UserFactory)
    whmcs_id = factory.Sequence(lambda n: n + 1)
    whmcs_product_id = 1
    name = "SonixNet Home 1G"
    product_type = ProductType.INTERNET
    status = WhmcsService.Status.ACTIVE
    billing_cycle = "Monthly"
    recurring_amount = Decimal("4980.00")
    registered_on = factory.LazyFunction(lambda: timezone.localdate())


class WhmcsInvoiceFactory(DjangoModelFactory[WhmcsInvoice]):
    class Meta:
        model = WhmcsInvoice

    user = factory.SubFactory(UserFactory)
    whmcs_id = factory.Sequence(lambda n: n + 1)
    number = factory.Sequence(lambda n: f"INV-{n:05d}")
    status = WhmcsInvoice.Status.UNPAID
    issued_on = factory.LazyFunction(lambda: timezone.localdate())
    due_on = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=14))
    subtotal = Decimal("4528.00")
    tax = Decimal("452.00")
    total = Decimal("4980.00")


class WhmcsPaymentMethodFactory(DjangoModelFactory[WhmcsPaymentMethod]):
    class Meta:
        model = WhmcsPaymentMethod

    user = factory.SubFactory(UserFactory)
    whmcs_id = factory.Sequence(lambda n: n + 1)
    type = WhmcsPaymentMethod.Type.CREDIT_CARD
    description = "Visa ending 4242"
    card_type = "Visa"
    card_last_four = "4242"
    expires_on = datetime.date(2030, 12, 31)


# --- Agent console (appended) ---------------------------------------------------------------

from apps.console.groups import console_groups_ensure  # noqa: E402
from apps.console.models import AgentDecision, DecisionAction, SubjectType  # noqa: E402


class AgentFactory(StaffUserFactory):
    """A support agent: staff in the console's "Agents" group (created by its data migration).
    Pass ``console_group="Supervisors"`` for a supervisor."""

    email = factory.Sequence(lambda n: f"console-agent{n}@sonixnet.example")
    first_name = "Aoi"
    last_name = "Tanaka"

    @factory.post_generation
    def console_group(obj: User, create: bool, extracted: str | None, **kwargs: object) -> None:
        if create:
            # The groups come from a data migration; a flushed database (transactional tests)
            # no longer has them.
            obj.groups.add(console_groups_ensure()[extracted or "Agents"])


class AgentDecisionFactory(DjangoModelFactory[AgentDecision]):
    class Meta:
        model = AgentDecision

    agent = factory.SubFactory(AgentFactory)
    customer = factory.SubFactory(UserFactory)
    subject_type = SubjectType.ELIGIBILITY
    subject_id = "1"
    action = DecisionAction.MARK_ELIGIBLE


from apps.checkout.models_fulfillment import FulfillmentRun  # noqa: E402


class FulfillmentRunFactory(DjangoModelFactory[FulfillmentRun]):
    class Meta:
        model = FulfillmentRun

    salesforce_order_id = salesforce_id("801")
    status = FulfillmentRun.Status.PENDING
    idempotency_keys = factory.LazyAttribute(lambda o: [f"{o.salesforce_order_id}-2026-11-20T00:00:00.000Z"])


# --- Support cases (appended) -----------------------------------------------------------------

from apps.opportunities.models import CaseComment, CaseOrigin  # noqa: E402


class SupportCaseFactory(CaseFactory):
    """A support ticket as the portal opens it: General Inquiry from the Portal Website, with the
    category heading the Description."""

    type = CaseType.GENERAL_INQUIRY
    origin = CaseOrigin.PORTAL_WEBSITE
    subject = "My internet keeps dropping"
    description = "Category: Internet\n\nThe connection drops every evening."


class CaseCommentFactory(DjangoModelFactory[CaseComment]):
    class Meta:
        model = CaseComment

    case = factory.SubFactory(SupportCaseFactory)
    salesforce_id = salesforce_id("00a")
    body = factory.Faker("sentence")
    is_public = True


# --- Idempotency keys (appended) --------------------------------------------------------------

from apps.idempotency.models import IdempotentRequest  # noqa: E402


class IdempotentRequestFactory(DjangoModelFactory[IdempotentRequest]):
    """A completed support case request with its kept answer."""

    class Meta:
        model = IdempotentRequest

    scope = factory.Sequence(lambda n: f"user:{n + 1}")
    operation = "POST api/support/cases"
    key = factory.Faker("uuid4")
    fingerprint = factory.LazyAttribute(lambda o: hashlib.sha256(o.key.encode()).hexdigest())
    state = IdempotentRequest.State.COMPLETED
    locked_until = factory.LazyFunction(timezone.now)
    response_status = 201
    response_body = factory.LazyFunction(lambda: {"id": 1, "state": "submitting"})
    completed_at = factory.LazyFunction(timezone.now)
