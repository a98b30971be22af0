"""Order placement (POST /api/orders) and the customer's orders (GET /api/orders[/{id}])."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsFixture

from apps.accounts.models import EligibilityStatus, IdVerificationStatus, User
from apps.billing.models import WhmcsService
from apps.catalog.models import BillingCycle, ItemClass, Product, ProductType
from apps.checkout.models import ActivationStatus, Order, OrderItem, OrderStatus
from apps.idempotency.services import idempotent_requests_delete_expired
from apps.integrations.models import OutboxEntry
from apps.integrations.outbox import outbox_deliver_due
from apps.opportunities.models import CommodityType, Opportunity, OpportunitySource, OpportunityStage
from emulators import EmulatorSuite
from tests.factories import (
    AgentFactory,
    CustomerFactory,
    OpportunityFactory,
    OrderFactory,
    OrderItemFactory,
    WhmcsServiceFactory,
)
from tests.helpers import api_for, error_code, error_message, field_messages, make_customer
from tests.scenarios import (
    ORDERS_URL,
    catalog_product,
    eligible_customer,
    internet_plan,
    pending_order,
    place,
    sim_plan,
    verified_customer,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
TODAY_NOON = timezone.make_aware(datetime.datetime.combine(TODAY, datetime.time(12)))


# --- helpers ------------------------------------------------------------------------------------


def vpn_plan(systems: EmulatorSuite) -> Product:
    return catalog_product(systems, name="VPN Router", product_type=ProductType.VPN, price="1100.00")


def sf_record(systems: EmulatorSuite, sobject: str, record_id: str | None) -> dict[str, Any]:
    """A record in the Salesforce emulator, which must exist."""
    assert record_id is not None
    record = systems.salesforce.store.get_record(sobject, record_id)
    assert record is not None
    return record


def deliver_one_call(systems: EmulatorSuite) -> None:
    """Deliver the outbox and assert it cost exactly one Salesforce API call."""
    calls_before = systems.salesforce.counters()["total"]
    report = outbox_deliver_due()
    assert report.failed == []
    assert len(report.delivered) == 1
    assert report.api_calls == 1
    assert systems.salesforce.counters()["total"] - calls_before == 1


# --- happy paths --------------------------------------------------------------------------------


def test_an_internet_order_opens_an_opportunity_and_reaches_salesforce_in_one_call(
    systems: EmulatorSuite,
) -> None:
    # Given an eligible customer and an internet plan for their offering plus a one-time fee
    user = eligible_customer(systems)
    plan = internet_plan(systems)
    fee = catalog_product(
        systems,
        name="Installation",
        item_class=ItemClass.INSTALLATION,
        price="22000.00",
        billing_cycle=BillingCycle.ONE_TIME,
    )
    api = api_for(user)

    # When they order it
    response = place(api, "internet", [(plan, 1), (fee, 1)])

    # Then the order is accepted, pending review, and waits for Salesforce
    assert response.status_code == 201, response.json()
    order = Order.objects.get()
    plan_item, fee_item = order.items.order_by("pk")
    assert response.json() == {
        "id": order.pk,
        "number": None,
        "status": "pending_review",
        "rejection_reason": None,
        "hold_reason": None,
        "product_type": "internet",
        "activation_status": "pending_review",
        "activation_error": None,
        "opportunity_id": order.opportunity_id,
        "effective_date": TODAY.isoformat(),
        "items": [
            {
                "id": plan_item.pk,
                "product_id": plan.pk,
                "product_name": "Home 1G",
                "sku": "HOME-1G",
                "item_class": "plan",
                "quantity": 1,
                "unit_price": 4980,
                "billing_cycle": "monthly",
                "line_total": 4980,
            },
            {
                "id": fee_item.pk,
                "product_id": fee.pk,
                "product_name": "Installation",
                "sku": "INSTALLATION",
                "item_class": "installation",
                "quantity": 1,
                "unit_price": 22000,
                "billing_cycle": "one_time",
                "line_total": 22000,
            },
        ],
        "total": 26980,
        "currency": "JPY",
        "created_at": response.json()["created_at"],
        "submitted_to_salesforce": False,
    }
    opportunity = Opportunity.objects.get()
    assert opportunity.user == user
    assert opportunity.name == "Sato Hana - Internet"
    assert opportunity.stage == OpportunityStage.POST_PROCESSING
    assert opportunity.commodity_type == CommodityType.PERSONAL_INTERNET
    assert opportunity.source == OpportunitySource.ORDER_PLACEMENT
    assert opportunity.close_date == TODAY
    assert OutboxEntry.objects.count() == 1

    # When the outbox is delivered
    deliver_one_call(systems)

    # Then Salesforce has the Opportunity, the Order and its items, and the portal their IDs
    order.refresh_from_db()
    opportunity.refresh_from_db()
    plan_item.refresh_from_db()
    fee_item.refresh_from_db()
    store = systems.salesforce.store
    account_id = user.id_mapping.salesforce_account_id
    remote_opportunity = sf_record(systems, "Opportunity", opportunity.salesforce_id)
    assert {
        name: remote_opportunity[name]
        for name in ("AccountId", "Name", "StageName", "CommodityType", "Opportunity_Source__c", "CloseDate")
    } == {
        "AccountId": account_id,
        "Name": "Sato Hana - Internet",
        "StageName": "Post Processing",
        "CommodityType": "Personal SonixNet Home Internet",
        "Opportunity_Source__c": "Portal - Order Placement",
        "CloseDate": TODAY.isoformat(),
    }
    remote_order = sf_record(systems, "Order", order.salesforce_id)
    assert {
        name: remote_order[name]
        for name in ("AccountId", "OpportunityId", "Status", "EffectiveDate", "Activation_Status__c")
    } == {
        "AccountId": account_id,
        "OpportunityId": opportunity.salesforce_id,
        "Status": "Pending Review",
        "EffectiveDate": TODAY.isoformat(),
        "Activation_Status__c": "Pending Review",
    }
    remote_items = sorted(
        store.find_records("OrderItem", OrderId=order.salesforce_id), key=lambda r: r["UnitPrice"]
    )
    assert [(r["Id"], r["Product2Id"], r["Quantity"], r["UnitPrice"]) for r in remote_items] == [
        (plan_item.salesforce_id, plan.salesforce_id, 1, 4980.0),
        (fee_item.salesforce_id, fee.salesforce_id, 1, 22000.0),
    ]
    assert remote_order["TotalAmount"] == 26980.0
    assert api.get(f"{ORDERS_URL}/{order.pk}").json()["submitted_to_salesforce"] is True


def test_a_sim_order_moves_the_checkout_opportunity_to_post_processing(systems: EmulatorSuite) -> None:
    # Given a verified SIM customer whose checkout registration opened a SIM Opportunity
    user = verified_customer(systems)
    account_id = user.id_mapping.salesforce_account_id
    remote = systems.salesforce.store.create_record(
        "Opportunity",
        {
            "AccountId": account_id,
            "Name": "Sato Hana - SIM",
            "StageName": "Introduction",
            "CloseDate": "2025-01-01",
        },
    )
    opportunity = OpportunityFactory.create(
        user=user,
        salesforce_id=remote["Id"],
        product_type=ProductType.SIM,
        commodity_type=CommodityType.SIM,
        stage=OpportunityStage.INTRODUCTION,
    )
    plan = sim_plan(systems)
    activation = catalog_product(
        systems,
        name="SIM activation",
        product_type=ProductType.SIM,
        item_class=ItemClass.ACTIVATION,
        price="3300.00",
        billing_cycle=BillingCycle.ONE_TIME,
    )

    # When they order a SIM plan (two SIMs) with the activation fee
    response = place(api_for(user), "sim", [(plan, 2), (activation, 2)])

    # Then the order joins that Opportunity, which moves to Post Processing here and in Salesforce
    assert response.status_code == 201, response.json()
    assert response.json()["opportunity_id"] == opportunity.pk
    assert response.json()["total"] == 12560
    opportunity.refresh_from_db()
    assert opportunity.stage == OpportunityStage.POST_PROCESSING
    assert Opportunity.objects.count() == 1
    deliver_one_call(systems)
    order = Order.objects.get()
    assert sf_record(systems, "Opportunity", remote["Id"])["StageName"] == "Post Processing"
    assert sf_record(systems, "Order", order.salesforce_id)["OpportunityId"] == remote["Id"]
    assert len(systems.salesforce.store.find_records("Opportunity")) == 1
    items = systems.salesforce.store.find_records("OrderItem", OrderId=order.salesforce_id)
    assert sorted((r["Product2Id"], r["Quantity"]) for r in items) == sorted(
        [(plan.salesforce_id, 2), (activation.salesforce_id, 2)]
    )


def test_a_vpn_order_always_opens_a_new_opportunity(systems: EmulatorSuite) -> None:
    # Given a customer with a VPN order already in progress
    user = make_customer(systems)
    earlier = OpportunityFactory.create(
        user=user,
        product_type=ProductType.VPN,
        commodity_type=CommodityType.VPN,
        stage=OpportunityStage.READY,
    )
    plan = vpn_plan(systems)

    # When they order another VPN router (no prerequisites for VPN)
    response = place(api_for(user), "vpn", [(plan, 1)])

    # Then it gets an Opportunity of its own
    assert response.status_code == 201, response.json()
    assert response.json()["opportunity_id"] != earlier.pk
    created = Opportunity.objects.get(pk=response.json()["opportunity_id"])
    assert (created.product_type, created.commodity_type, created.stage) == (
        ProductType.VPN,
        CommodityType.VPN,
        OpportunityStage.POST_PROCESSING,
    )
    earlier.refresh_from_db()
    assert earlier.stage == OpportunityStage.READY
    deliver_one_call(systems)
    created.refresh_from_db()
    remote = sf_record(systems, "Opportunity", created.salesforce_id)
    assert (remote["CommodityType"], remote["StageName"]) == ("VPN", "Post Processing")


def test_rule_application_stage_is_intro_1_when_an_order_opens_the_opportunity(
    systems: EmulatorSuite,
) -> None:
    # Given a customer without an Opportunity
    user = make_customer(systems)

    # When their order opens one
    response = place(api_for(user), "vpn", [(vpn_plan(systems), 1)])

    # Then it is created with Application_Stage__c "INTRO-1", in the portal and in Salesforce
    assert response.status_code == 201, response.json()
    created = Opportunity.objects.get(pk=response.json()["opportunity_id"])
    assert created.application_stage == "INTRO-1"
    deliver_one_call(systems)
    created.refresh_from_db()
    assert sf_record(systems, "Opportunity", created.salesforce_id)["Application_Stage__c"] == "INTRO-1"


# --- idempotency --------------------------------------------------------------------------------


def test_a_repeat_with_the_same_key_returns_the_same_order(systems: EmulatorSuite) -> None:
    user = eligible_customer(systems)
    plan = internet_plan(systems)
    api = api_for(user)
    first = place(api, "internet", [(plan, 1)], key="order-7f3a")

    repeat = place(api, "internet", [(plan, 1)], key="order-7f3a")

    assert (first.status_code, repeat.status_code) == (201, 201)
    assert repeat.json() == first.json()
    assert repeat.headers["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    assert OrderItem.objects.count() == 1
    assert Opportunity.objects.count() == 1
    assert OutboxEntry.objects.count() == 1


def test_the_same_key_with_another_body_is_refused(systems: EmulatorSuite) -> None:
    user = eligible_customer(systems)
    plan = internet_plan(systems)
    api = api_for(user)
    place(api, "internet", [(plan, 1)], key="order-7f3a")

    response = place(api, "internet", [(plan, 2)], key="order-7f3a")

    assert response.status_code == 409
    assert (error_code(response), error_message(response)) == (
        "idempotency_key_reused",
        "This Idempotency-Key was already used for a different request.",
    )
    assert Order.objects.count() == 1
    assert OutboxEntry.objects.count() == 1


def test_the_order_keeps_its_key_after_the_kept_answer_expired(systems: EmulatorSuite) -> None:
    # Given an order placed more than a day ago, whose kept answer the hourly cleanup deleted
    user = eligible_customer(systems)
    plan = internet_plan(systems)
    api = api_for(user)
    first = place(api, "internet", [(plan, 1)], key="order-7f3a")
    assert idempotent_requests_delete_expired(now=timezone.now() + datetime.timedelta(days=2)) == 1

    # When the customer's client sends the same order again, and the key with another order
    repeat = place(api, "internet", [(plan, 1)], key="order-7f3a")
    other = place(api, "internet", [(plan, 2)], key="order-7f3a")

    # Then the order itself still knows its key: the same order, and the other refused
    assert repeat.status_code == 200
    assert repeat.json() == first.json()
    assert (other.status_code, error_code(other)) == (409, "idempotency_key_reused")
    assert Order.objects.count() == 1
    assert OutboxEntry.objects.count() == 1


def test_another_customer_may_use_the_same_key(systems: EmulatorSuite) -> None:
    plan = internet_plan(systems)
    place(api_for(eligible_customer(systems)), "internet", [(plan, 1)], key="order-7f3a")

    response = place(api_for(eligible_customer(systems)), "internet", [(plan, 1)], key="order-7f3a")

    assert response.status_code == 201
    assert Order.objects.count() == 2


@pytest.mark.parametrize(
    ("key", "code"),
    [
        (None, "idempotency_key_required"),
        ("", "idempotency_key_required"),
        ("k" * 256, "idempotency_key_invalid"),
    ],
)
def test_an_order_needs_a_usable_idempotency_key(systems: EmulatorSuite, key: str | None, code: str) -> None:
    user = eligible_customer(systems)
    plan = internet_plan(systems)

    response = place(api_for(user), "internet", [(plan, 1)], key=key)

    assert response.status_code == 400
    assert error_code(response) == code
    assert not Order.objects.exists()


# --- prerequisites ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status", [EligibilityStatus.NOT_REQUESTED, EligibilityStatus.PENDING, EligibilityStatus.INELIGIBLE]
)
def test_internet_needs_a_confirmed_eligibility(systems: EmulatorSuite, status: str) -> None:
    user = make_customer(systems, internet_eligibility_status=status)
    plan = internet_plan(systems, eligibility_offering="")

    response = place(api_for(user), "internet", [(plan, 1)])

    assert response.status_code == 400
    assert (error_code(response), error_message(response)) == (
        "eligibility_required",
        "Internet service has not been confirmed for your address yet.",
    )
    assert not Order.objects.exists()
    assert not Opportunity.objects.exists()
    assert not OutboxEntry.objects.exists()


@pytest.mark.parametrize(
    "status",
    [IdVerificationStatus.NOT_SUBMITTED, IdVerificationStatus.SUBMITTED, IdVerificationStatus.REJECTED],
)
def test_sim_needs_a_verified_residence_card(systems: EmulatorSuite, status: str) -> None:
    user = make_customer(systems, id_verification_status=status)
    plan = sim_plan(systems)

    response = place(api_for(user), "sim", [(plan, 1)])

    assert response.status_code == 400
    assert (error_code(response), error_message(response)) == (
        "id_verification_required",
        "Please complete ID verification before ordering.",
    )
    assert not Order.objects.exists()


def test_internet_needs_id_verification_only_where_configured(
    systems: EmulatorSuite, settings: SettingsFixture
) -> None:
    plan = internet_plan(systems)
    unverified = eligible_customer(systems)
    assert place(api_for(unverified), "internet", [(plan, 1)], key="a").status_code == 201

    settings.INTERNET_ORDERS_REQUIRE_ID_VERIFICATION = True
    refused = place(api_for(eligible_customer(systems)), "internet", [(plan, 1)], key="b")
    verified = eligible_customer(systems, id_verification_status=IdVerificationStatus.VERIFIED)
    accepted = place(api_for(verified), "internet", [(plan, 1)], key="c")

    assert refused.status_code == 400
    assert error_code(refused) == "id_verification_required"
    assert accepted.status_code == 201


# --- validation ---------------------------------------------------------------------------------


def test_unknown_and_inactive_products_are_refused(systems: EmulatorSuite) -> None:
    user = eligible_customer(systems)
    plan = internet_plan(systems)
    retired = catalog_product(systems, name="Retired router", item_class=ItemClass.ADD_ON, is_active=False)

    response = place(api_for(user), "internet", [(plan, 1), (retired, 1), (999999, 1)])

    assert response.status_code == 400
    assert field_messages(response) == {"items": [f"These products are not available: {retired.pk}, 999999."]}
    assert not Order.objects.exists()


def test_products_of_another_type_are_refused(systems: EmulatorSuite) -> None:
    user = eligible_customer(systems, id_verification_status=IdVerificationStatus.VERIFIED)
    plan = internet_plan(systems)
    sim = sim_plan(systems)

    response = place(api_for(user), "internet", [(plan, 1), (sim, 1)])

    assert response.status_code == 400
    assert field_messages(response) == {"items": ["Every product must belong to the order's product type."]}


def test_internet_and_sim_orders_need_exactly_one_plan(systems: EmulatorSuite) -> None:
    user = verified_customer(systems)
    plan = sim_plan(systems)
    other_plan = catalog_product(systems, name="SIM 5GB", product_type=ProductType.SIM, price="1480.00")
    activation = catalog_product(
        systems, name="SIM activation", product_type=ProductType.SIM, item_class=ItemClass.ACTIVATION
    )
    api = api_for(user)

    two_plans = place(api, "sim", [(plan, 1), (other_plan, 1)], key="a")
    no_plan = place(api, "sim", [(activation, 1)], key="b")

    assert two_plans.status_code == 400
    assert field_messages(two_plans) == {"items": ["Choose exactly one plan."]}
    assert no_plan.status_code == 400
    assert field_messages(no_plan) == {"items": ["Choose exactly one plan."]}
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([], {"items": ["This list may not be empty."]}),
        (
            [{"product_id": 1, "quantity": 0}],
            {"items.0.quantity": ["Ensure this value is greater than or equal to 1."]},
        ),
    ],
)
def test_malformed_items_are_refused(systems: EmulatorSuite, items: list[Any], expected: Any) -> None:
    user = eligible_customer(systems)

    response = api_for(user).post(
        ORDERS_URL,
        {"product_type": "internet", "items": items},
        format="json",
        headers={"Idempotency-Key": "k"},
    )

    assert response.status_code == 400
    assert field_messages(response) == expected


def test_ids_too_large_for_the_database_are_refused_as_invalid(systems: EmulatorSuite) -> None:
    user = eligible_customer(systems)
    plan = internet_plan(systems)
    api = api_for(user)
    too_large = "Ensure this value is less than or equal to 9223372036854775807."

    product = place(api, "internet", [(plan, 1), (99999999999999999999999, 1)], key="a")
    opportunity = place(api, "internet", [(plan, 1)], key="b", opportunity_id=2**63)

    assert product.status_code == 400
    assert field_messages(product) == {"items.1.product_id": [too_large]}
    assert opportunity.status_code == 400
    assert field_messages(opportunity) == {"opportunity_id": [too_large]}
    assert not Order.objects.exists()


def test_a_product_listed_twice_is_refused(systems: EmulatorSuite) -> None:
    user = eligible_customer(systems)
    plan = internet_plan(systems)

    response = place(api_for(user), "internet", [(plan, 1), (plan, 1)])

    assert response.status_code == 400
    assert field_messages(response) == {
        "items": ["Each product may appear only once; use the quantity instead."]
    }


def test_family_discount_plans_need_an_active_sim(systems: EmulatorSuite) -> None:
    user = verified_customer(systems)
    family = sim_plan(systems, is_family_discount=True)
    api = api_for(user)
    WhmcsServiceFactory.create(user=user, product_type=ProductType.SIM, status=WhmcsService.Status.SUSPENDED)

    refused = place(api, "sim", [(family, 1)], key="a")
    WhmcsServiceFactory.create(user=user, product_type=ProductType.SIM, status=WhmcsService.Status.ACTIVE)
    accepted = place(api, "sim", [(family, 1)], key="b")

    assert refused.status_code == 400
    assert field_messages(refused) == {
        "items": ["Family discount plans are only for customers with an active SIM."]
    }
    assert accepted.status_code == 201


def test_internet_plans_must_match_the_eligibility_offering(systems: EmulatorSuite) -> None:
    user = eligible_customer(systems)  # eligible for "Home 1G"
    mansion = internet_plan(systems, eligibility_offering="Mansion 1G")
    any_offering = catalog_product(systems, name="Flex", eligibility_offering="")
    api = api_for(user)

    refused = place(api, "internet", [(mansion, 1)], key="a")
    accepted = place(api, "internet", [(any_offering, 1)], key="b")

    assert refused.status_code == 400
    assert field_messages(refused) == {"items": ["This plan is not available for your address."]}
    assert accepted.status_code == 201


# --- opportunity matching -----------------------------------------------------------------------


@pytest.mark.parametrize("stage", [OpportunityStage.INTRODUCTION, OpportunityStage.READY])
def test_an_internet_order_joins_the_introduction_or_ready_opportunity(
    systems: EmulatorSuite, stage: str
) -> None:
    user = eligible_customer(systems)
    remote = systems.salesforce.store.create_record(
        "Opportunity",
        {
            "AccountId": user.id_mapping.salesforce_account_id,
            "Name": "Sato Hana - Internet",
            "StageName": "Ready",
            "CloseDate": "2025-01-01",
        },
    )
    opportunity = OpportunityFactory.create(user=user, salesforce_id=remote["Id"], stage=stage)
    plan = internet_plan(systems)

    response = place(api_for(user), "internet", [(plan, 1)])

    assert response.status_code == 201, response.json()
    assert response.json()["opportunity_id"] == opportunity.pk
    assert Opportunity.objects.count() == 1
    deliver_one_call(systems)
    assert sf_record(systems, "Opportunity", remote["Id"])["StageName"] == "Post Processing"
    assert len(systems.salesforce.store.find_records("Opportunity")) == 1


def test_an_internet_order_while_another_is_in_progress_is_refused(systems: EmulatorSuite) -> None:
    user = eligible_customer(systems)
    OpportunityFactory.create(user=user, stage=OpportunityStage.POST_PROCESSING)
    plan = internet_plan(systems)

    response = place(api_for(user), "internet", [(plan, 1)])

    assert response.status_code == 409
    assert (error_code(response), error_message(response)) == (
        "order_in_progress",
        "An order for this service is already being processed. Please wait until it is complete.",
    )
    assert not Order.objects.exists()
    assert not OutboxEntry.objects.exists()


def test_a_customer_with_an_active_internet_line_may_order_another(systems: EmulatorSuite) -> None:
    user = eligible_customer(systems)
    active = OpportunityFactory.create(user=user, stage=OpportunityStage.ACTIVE, whmcs_service_id=9)
    plan = internet_plan(systems)

    response = place(api_for(user), "internet", [(plan, 1)])

    assert response.status_code == 201
    assert response.json()["opportunity_id"] != active.pk


def test_a_sim_order_joins_an_open_opportunity_in_any_open_stage(systems: EmulatorSuite) -> None:
    user = verified_customer(systems)
    opportunity = OpportunityFactory.create(
        user=user,
        product_type=ProductType.SIM,
        commodity_type=CommodityType.SIM,
        stage=OpportunityStage.POST_PROCESSING,
    )
    plan = sim_plan(systems)

    response = place(api_for(user), "sim", [(plan, 1)])

    assert response.status_code == 201
    assert response.json()["opportunity_id"] == opportunity.pk
    assert Opportunity.objects.count() == 1


def test_an_explicit_opportunity_is_used(systems: EmulatorSuite) -> None:
    user = make_customer(systems)
    chosen = OpportunityFactory.create(
        user=user,
        product_type=ProductType.VPN,
        commodity_type=CommodityType.VPN,
        stage=OpportunityStage.READY,
    )
    plan = vpn_plan(systems)

    response = place(api_for(user), "vpn", [(plan, 1)], opportunity_id=chosen.pk)

    assert response.status_code == 201
    assert response.json()["opportunity_id"] == chosen.pk
    chosen.refresh_from_db()
    assert chosen.stage == OpportunityStage.POST_PROCESSING
    assert Opportunity.objects.count() == 1


@pytest.mark.parametrize("case", ["another_customer", "closed", "other_product_type"])
def test_an_explicit_opportunity_must_be_the_customers_open_one_of_that_type(
    systems: EmulatorSuite, case: str
) -> None:
    user = eligible_customer(systems)
    opportunity = {
        "another_customer": lambda: OpportunityFactory.create(stage=OpportunityStage.READY),
        "closed": lambda: OpportunityFactory.create(user=user, stage=OpportunityStage.VOID),
        "other_product_type": lambda: OpportunityFactory.create(
            user=user, product_type=ProductType.SIM, stage=OpportunityStage.READY
        ),
    }[case]()
    plan = internet_plan(systems)

    response = place(api_for(user), "internet", [(plan, 1)], opportunity_id=opportunity.pk)

    assert response.status_code == 400
    assert field_messages(response) == {
        "opportunity_id": ["This opportunity does not exist, is closed or is for another service."]
    }
    assert not Order.objects.exists()


def test_an_opportunity_salesforce_does_not_have_yet_is_referenced_once_it_does(
    systems: EmulatorSuite,
) -> None:
    # Given a SIM Opportunity whose creation has not reached Salesforce yet
    user = verified_customer(systems)
    opportunity = OpportunityFactory.create(
        user=user,
        salesforce_id=None,
        product_type=ProductType.SIM,
        commodity_type=CommodityType.SIM,
        stage=OpportunityStage.INTRODUCTION,
    )
    plan = sim_plan(systems)
    assert place(api_for(user), "sim", [(plan, 1)]).status_code == 201

    # Then the order waits for the Opportunity's ID
    waiting = outbox_deliver_due()
    assert waiting.waiting == [OutboxEntry.objects.get().pk]
    assert systems.salesforce.store.find_records("Order") == []

    # When the Opportunity reaches Salesforce, the order follows it
    remote = systems.salesforce.store.create_record(
        "Opportunity",
        {
            "AccountId": user.id_mapping.salesforce_account_id,
            "Name": "Sato Hana - SIM",
            "StageName": "Introduction",
            "CloseDate": "2025-01-01",
        },
    )
    Opportunity.objects.filter(pk=opportunity.pk).update(salesforce_id=remote["Id"])
    OutboxEntry.objects.update(next_attempt_at=timezone.now())
    deliver_one_call(systems)
    order = Order.objects.get()
    assert sf_record(systems, "Order", order.salesforce_id)["OpportunityId"] == remote["Id"]
    assert sf_record(systems, "Opportunity", remote["Id"])["StageName"] == "Post Processing"


# --- faults -------------------------------------------------------------------------------------


def test_an_order_is_accepted_while_salesforce_is_down_and_delivered_later(systems: EmulatorSuite) -> None:
    user = eligible_customer(systems)
    plan = internet_plan(systems)
    systems.salesforce.fail_next(5, status=503, error_code="SERVER_UNAVAILABLE", path_prefix="/services/data")

    response = place(api_for(user), "internet", [(plan, 1)])
    first = outbox_deliver_due()

    assert response.status_code == 201
    entry = OutboxEntry.objects.get()
    assert first.retrying == [entry.pk]
    assert systems.salesforce.store.find_records("Order") == []

    systems.salesforce.clear_faults()
    OutboxEntry.objects.update(next_attempt_at=timezone.now())
    deliver_one_call(systems)
    order = Order.objects.get()
    assert order.salesforce_id is not None
    assert sf_record(systems, "Order", order.salesforce_id)["Status"] == "Pending Review"


# --- reads and permissions ----------------------------------------------------------------------


def test_the_order_list_shows_only_the_customers_orders_newest_first(systems: EmulatorSuite) -> None:
    user = CustomerFactory.create()
    older = OrderFactory.create(user=user)
    newer = OrderFactory.create(user=user)
    OrderItemFactory.create(order=newer, product__name="SIM 20GB", quantity=2, unit_price=Decimal("2980.00"))
    Order.objects.filter(pk=older.pk).update(created_at=timezone.now() - datetime.timedelta(days=1))
    OrderFactory.create()  # another customer's

    response = api_for(user).get(ORDERS_URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [order["id"] for order in body["results"]] == [newer.pk, older.pk]
    assert [(i["product_name"], i["quantity"], i["line_total"]) for i in body["results"][0]["items"]] == [
        ("SIM 20GB", 2, 5960)
    ]
    assert body["results"][0]["number"] == newer.order_number
    assert body["results"][0]["submitted_to_salesforce"] is True


def test_the_order_list_costs_the_same_queries_for_any_number_of_orders(
    systems: EmulatorSuite, django_assert_max_num_queries: Any
) -> None:
    user = CustomerFactory.create()
    for _ in range(5):
        OrderItemFactory.create(order=OrderFactory.create(user=user))
    api = api_for(user)

    with django_assert_max_num_queries(4):
        response = api.get(ORDERS_URL)

    assert len(response.json()["results"]) == 5


def test_another_customers_order_is_not_found(systems: EmulatorSuite) -> None:
    order = OrderFactory.create()

    response = api_for(CustomerFactory.create()).get(f"{ORDERS_URL}/{order.pk}")

    assert response.status_code == 404
    assert (error_code(response), error_message(response)) == ("not_found", "Not found.")


def test_orders_need_a_signed_in_customer(systems: EmulatorSuite) -> None:
    order = OrderFactory.create()
    api = api_for(None)

    responses = [
        api.get(ORDERS_URL),
        api.get(f"{ORDERS_URL}/{order.pk}"),
        api.post(ORDERS_URL, {}, format="json", headers={"Idempotency-Key": "k"}),
    ]

    assert [r.status_code for r in responses] == [401, 401, 401]
    assert error_code(responses[0]) == "not_authenticated"


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        (
            "WHMCS_ERROR",
            "AddOrder failed: SQL error at db-01.internal (user portal_api)",
            {
                "code": None,
                "message": "We couldn't complete your order. Our team has been notified and will contact you.",
            },
        ),
        (
            "PAYMENT_METHOD_MISSING",
            "Client 42 has no pay method (gateway stripe)",
            {
                "code": "payment_method_missing",
                "message": "Please add a payment method so that we can complete your order.",
            },
        ),
    ],
)
def test_a_failed_activation_shows_only_a_safe_explanation(
    systems: EmulatorSuite, code: str, message: str, expected: dict[str, Any]
) -> None:
    user = CustomerFactory.create()
    order = OrderFactory.create(
        user=user,
        status=OrderStatus.APPROVED,
        activation_status=ActivationStatus.FAILED,
        activation_error_code=code,
        activation_error_message=message,
    )

    body = api_for(user).get(f"{ORDERS_URL}/{order.pk}").json()

    assert body["activation_status"] == "failed"
    assert body["activation_error"] == expected
    assert message not in str(body)


def test_an_activation_error_is_hidden_once_activation_moved_on(systems: EmulatorSuite) -> None:
    user = CustomerFactory.create()
    order = OrderFactory.create(
        user=user,
        activation_status=ActivationStatus.ACTIVATING,
        activation_error_code="WHMCS_ERROR",
        activation_error_message="old failure",
    )

    body = api_for(user).get(f"{ORDERS_URL}/{order.pk}").json()

    assert body["activation_error"] is None


# --- an agent's rejection or hold, as the customer reads it --------------------------------------


def customer_session(user: User) -> Client:
    """The customer's browser: signed in with a session, as the web portal calls the API."""
    client = Client()
    client.force_login(user)
    return client


def agent_decides(order: Order, action: str, **form: str) -> None:
    """An agent rejects, holds or releases the order in the console."""
    agent = Client()
    agent.force_login(AgentFactory.create())
    response = agent.post(
        reverse(f"admin:console_orderapprovalqueueitem_{action}", args=[order.pk]),
        {f"{action}-{name}": value for name, value in form.items()},
    )
    assert response.status_code == 302


def reasons(client: Client, order: Order) -> list[tuple[str, str | None, str | None]]:
    """(status, rejection_reason, hold_reason) of the order in the list and on its own."""
    listed = [row for row in client.get(ORDERS_URL).json()["results"] if row["id"] == order.pk]
    detail = client.get(f"{ORDERS_URL}/{order.pk}").json()
    return [(row["status"], row["rejection_reason"], row["hold_reason"]) for row in [*listed, detail]]


def test_a_rejected_order_says_why_in_the_list_and_on_its_own(systems: EmulatorSuite) -> None:
    user = make_customer(systems, internet_eligibility_status=EligibilityStatus.ELIGIBLE)
    order = pending_order(systems, user)
    other = pending_order(systems, user)
    client = customer_session(user)
    assert reasons(client, order) == [("pending_review", None, None)] * 2

    agent_decides(order, "reject", reason="Duplicate of order 00000101")

    assert reasons(client, order) == [("cancelled", "Duplicate of order 00000101", None)] * 2
    assert reasons(client, other) == [("pending_review", None, None)] * 2


def test_a_held_order_says_why_until_it_is_released(systems: EmulatorSuite) -> None:
    user = make_customer(systems, internet_eligibility_status=EligibilityStatus.ELIGIBLE)
    order = pending_order(systems, user)
    client = customer_session(user)

    agent_decides(order, "hold", reason="Please call us about the installation date.")
    held = reasons(client, order)
    agent_decides(order, "release", note="")
    released = reasons(client, order)

    assert held == [("pending_review", None, "Please call us about the installation date.")] * 2
    assert released == [("pending_review", None, None)] * 2


def test_a_held_order_rejected_says_only_why_it_was_rejected(systems: EmulatorSuite) -> None:
    user = make_customer(systems, internet_eligibility_status=EligibilityStatus.ELIGIBLE)
    order = pending_order(systems, user)

    agent_decides(order, "hold", reason="Waiting for your reply.")
    agent_decides(order, "reject", reason="No reply in 30 days.")

    assert reasons(customer_session(user), order) == [("cancelled", "No reply in 30 days.", None)] * 2


def test_the_agents_reason_is_returned_as_written(systems: EmulatorSuite) -> None:
    user = make_customer(systems, internet_eligibility_status=EligibilityStatus.ELIGIBLE)
    order = pending_order(systems, user)
    text = 'See <a href="https://example.com">this</a> {{ order_number }} %(reason)s {reason}'

    agent_decides(order, "reject", reason=text)

    assert reasons(customer_session(user), order) == [("cancelled", text, None)] * 2


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # Salesforce moved a held order on (approved there): the hold no longer stands.
        ({"status": OrderStatus.APPROVED, "held_at": TODAY_NOON, "hold_reason": "Old hold"}, (None, None)),
        # A reason left behind on an order that is not cancelled is not a rejection.
        ({"status": OrderStatus.APPROVED, "rejection_reason": "Old rejection"}, (None, None)),
        # Cancelled without a reason (in Salesforce, or by the customer): nothing to say.
        ({"status": OrderStatus.CANCELLED}, (None, None)),
        ({"status": OrderStatus.PENDING_REVIEW, "hold_reason": "Not held"}, (None, None)),
    ],
)
def test_a_reason_shows_only_while_the_decision_stands(
    systems: EmulatorSuite, fields: dict[str, Any], expected: tuple[None, None]
) -> None:
    user = CustomerFactory.create()
    order = OrderFactory.create(user=user, **fields)

    body = customer_session(user).get(f"{ORDERS_URL}/{order.pk}").json()

    assert (body["rejection_reason"], body["hold_reason"]) == expected
