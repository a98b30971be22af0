"""The customer's subscriptions (WHMCS services) and their cancellation state."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from apps.accounts.models import User
from apps.billing.models import WhmcsService
from apps.catalog.models import ProductType
from apps.opportunities.models import CommodityType, LineReturnStatus, OpportunityStage
from tests.billing.conftest import SYNCED_AT
from tests.factories import CustomerFactory, OpportunityFactory, WhmcsServiceFactory
from tests.helpers import error_code

pytestmark = pytest.mark.django_db

SUBSCRIPTIONS_URL = "/api/subscriptions"


def service_for(user: User, **kwargs: object) -> WhmcsService:
    return WhmcsServiceFactory.create(user=user, synced_at=SYNCED_AT, **kwargs)


def test_subscription_list_shows_services_newest_first_with_their_cancellation(
    customer_client: Client, customer: User
) -> None:
    # Given an internet service being cancelled, a SIM service with a scheduled SIM cancellation,
    # a service with no Opportunity and no registration date, and another customer's service
    internet = service_for(
        customer,
        whmcs_id=101,
        name="SonixNet Home 1G",
        registered_on=datetime.date(2024, 4, 1),
        next_due_on=datetime.date(2025, 2, 1),
    )
    OpportunityFactory.create(
        user=customer,
        whmcs_service_id=101,
        stage=OpportunityStage.CANCELLING,
        scheduled_cancellation_at=datetime.datetime(2025, 3, 31, 14, 59, tzinfo=datetime.UTC),
        line_return_status=LineReturnStatus.SENT_KIT,
    )
    sim = service_for(
        customer,
        whmcs_id=102,
        name="SIM 5GB",
        product_type=ProductType.SIM,
        recurring_amount=Decimal("1980.00"),
        registered_on=datetime.date(2024, 9, 1),
        next_due_on=datetime.date(2025, 2, 1),
    )
    OpportunityFactory.create(
        user=customer,
        product_type=ProductType.SIM,
        commodity_type=CommodityType.SIM,
        whmcs_service_id=102,
        stage=OpportunityStage.ACTIVE,
        sim_scheduled_cancellation_at=datetime.datetime(2025, 4, 30, 14, 59, tzinfo=datetime.UTC),
    )
    pending = service_for(
        customer,
        whmcs_id=103,
        name="VPN USA",
        product_type=ProductType.VPN,
        status=WhmcsService.Status.PENDING,
        billing_cycle="Annually",
        recurring_amount=Decimal("12000.00"),
        registered_on=None,
    )
    service_for(CustomerFactory.create(), registered_on=datetime.date(2025, 1, 1))

    # When the customer lists their subscriptions
    response = customer_client.get(SUBSCRIPTIONS_URL)

    # Then theirs are listed newest first (undated last), each with its cancellation or null
    assert response.status_code == 200
    assert response.json() == {
        "count": 3,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": sim.pk,
                "whmcs_id": 102,
                "name": "SIM 5GB",
                "product_type": "sim",
                "status": "active",
                "billing_cycle": "monthly",
                "recurring_amount": 1980,
                "registered_on": "2024-09-01",
                "next_due_on": "2025-02-01",
                "synced_at": "2025-01-10T09:00:00+09:00",
                "cancellation": {
                    "stage": "active",
                    "scheduled_at": "2025-04-30T23:59:00+09:00",
                    "line_return_status": None,
                },
            },
            {
                "id": internet.pk,
                "whmcs_id": 101,
                "name": "SonixNet Home 1G",
                "product_type": "internet",
                "status": "active",
                "billing_cycle": "monthly",
                "recurring_amount": 4980,
                "registered_on": "2024-04-01",
                "next_due_on": "2025-02-01",
                "synced_at": "2025-01-10T09:00:00+09:00",
                "cancellation": {
                    "stage": "cancelling",
                    "scheduled_at": "2025-03-31T23:59:00+09:00",
                    "line_return_status": "sent_kit",
                },
            },
            {
                "id": pending.pk,
                "whmcs_id": 103,
                "name": "VPN USA",
                "product_type": "vpn",
                "status": "pending",
                "billing_cycle": "annually",
                "recurring_amount": 12000,
                "registered_on": None,
                "next_due_on": None,
                "synced_at": "2025-01-10T09:00:00+09:00",
                "cancellation": None,
            },
        ],
    }


def test_subscription_detail_shows_one_service(customer_client: Client, customer: User) -> None:
    # Given a service with an Opportunity that has no cancellation scheduled
    service = service_for(
        customer,
        whmcs_id=201,
        name="SonixNet Home 10G",
        registered_on=datetime.date(2024, 6, 1),
        next_due_on=datetime.date(2025, 1, 1),
    )
    OpportunityFactory.create(user=customer, whmcs_service_id=201, stage=OpportunityStage.ACTIVE)

    # When the customer opens it
    response = customer_client.get(f"{SUBSCRIPTIONS_URL}/{service.pk}")

    # Then it is shown with the Opportunity's stage
    assert response.status_code == 200
    assert response.json() == {
        "id": service.pk,
        "whmcs_id": 201,
        "name": "SonixNet Home 10G",
        "product_type": "internet",
        "status": "active",
        "billing_cycle": "monthly",
        "recurring_amount": 4980,
        "registered_on": "2024-06-01",
        "next_due_on": "2025-01-01",
        "synced_at": "2025-01-10T09:00:00+09:00",
        "cancellation": {"stage": "active", "scheduled_at": None, "line_return_status": None},
    }


def test_the_newest_opportunity_of_a_service_gives_its_cancellation(
    customer_client: Client, customer: User
) -> None:
    # Given a service whose old Opportunity was voided and whose new one is being cancelled
    service = service_for(customer, whmcs_id=301)
    OpportunityFactory.create(user=customer, whmcs_service_id=301, stage=OpportunityStage.VOID)
    OpportunityFactory.create(user=customer, whmcs_service_id=301, stage=OpportunityStage.CANCELLING)

    # When the customer opens it
    body = customer_client.get(f"{SUBSCRIPTIONS_URL}/{service.pk}").json()

    # Then the newest Opportunity is shown
    assert body["cancellation"] == {"stage": "cancelling", "scheduled_at": None, "line_return_status": None}


def test_another_customers_subscription_is_not_found(customer_client: Client) -> None:
    # Given customer B's service
    other_service = service_for(CustomerFactory.create())

    # When customer A asks for it
    response = customer_client.get(f"{SUBSCRIPTIONS_URL}/{other_service.pk}")

    # Then it does not exist for them
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_subscription_list_is_paginated_by_twenty(customer_client: Client, customer: User) -> None:
    # Given 21 services, one registered a day
    first_day = datetime.date(2024, 1, 1)
    services = [
        service_for(customer, registered_on=first_day + datetime.timedelta(days=n)) for n in range(21)
    ]

    # When the customer pages through them
    page_1 = customer_client.get(SUBSCRIPTIONS_URL).json()
    page_2 = customer_client.get(SUBSCRIPTIONS_URL, {"page": "2"}).json()

    # Then the pages hold 20 and 1, newest first
    assert page_1["count"] == 21
    assert page_1["next"] == "http://testserver/api/subscriptions?page=2"
    assert [service["id"] for service in page_1["results"]] == [s.pk for s in reversed(services[1:])]
    assert page_2["previous"] == "http://testserver/api/subscriptions"
    assert [service["id"] for service in page_2["results"]] == [services[0].pk]


@pytest.mark.parametrize("path", [SUBSCRIPTIONS_URL, f"{SUBSCRIPTIONS_URL}/{{service_id}}"])
def test_anonymous_visitors_cannot_read_subscriptions(client: Client, path: str) -> None:
    service = service_for(CustomerFactory.create())

    response = client.get(path.format(service_id=service.pk))

    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


@pytest.mark.parametrize("rows", [1, 30])
def test_subscription_reads_run_a_constant_number_of_queries(
    customer_client: Client, customer: User, django_assert_max_num_queries: DjangoAssertNumQueries, rows: int
) -> None:
    # Given any number of services, each with an Opportunity
    services = [service_for(customer) for _ in range(rows)]
    for service in services:
        OpportunityFactory.create(
            user=customer, whmcs_service_id=service.whmcs_id, stage=OpportunityStage.CANCELLING
        )

    # Then each read takes session and user lookups plus at most count and page queries
    with django_assert_max_num_queries(4):
        assert customer_client.get(SUBSCRIPTIONS_URL).status_code == 200
    with django_assert_max_num_queries(3):
        assert customer_client.get(f"{SUBSCRIPTIONS_URL}/{services[0].pk}").status_code == 200


@pytest.mark.parametrize(
    ("whmcs_cycle", "cycle"),
    [
        ("One Time", "one_time"),
        ("Semi-Annually", "semiannually"),
        ("Free Account", "free"),
        ("Monthly", "monthly"),
        ("", None),
        ("Every Full Moon", None),
    ],
)
def test_whmcs_billing_cycles_read_in_the_portals_spelling(
    customer_client: Client, customer: User, whmcs_cycle: str, cycle: str | None
) -> None:
    service = service_for(
        customer, billing_cycle=whmcs_cycle, product_type="", recurring_amount=Decimal("3300.00")
    )

    body = customer_client.get(f"{SUBSCRIPTIONS_URL}/{service.pk}").json()

    assert (body["billing_cycle"], body["product_type"], body["recurring_amount"]) == (cycle, None, 3300)
