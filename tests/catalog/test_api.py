"""The public catalog API: grouping, eligibility filtering, family discount and caching."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django import DjangoAssertNumQueries

from apps.accounts.models import EligibilityStatus, User
from apps.billing.models import WhmcsService
from apps.catalog.models import BillingCycle, ItemClass, Product, ProductType
from apps.catalog.services import catalog_cache_invalidate
from tests.factories import CustomerFactory, ProductFactory, WhmcsServiceFactory

pytestmark = pytest.mark.django_db

INTERNET_URL = "/api/catalog/internet"
SIM_URL = "/api/catalog/sim"
VPN_URL = "/api/catalog/vpn"


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def internet_product(**kwargs: Any) -> Product:
    return ProductFactory.create(product_type=ProductType.INTERNET, **kwargs)


def sim_product(**kwargs: Any) -> Product:
    return ProductFactory.create(product_type=ProductType.SIM, **kwargs)


def eligible_customer(offering: str) -> User:
    return CustomerFactory.create(
        profile__internet_eligibility=offering,
        profile__internet_eligibility_status=EligibilityStatus.ELIGIBLE,
    )


def plan_names(body: dict[str, Any]) -> list[str]:
    return [plan["name"] for plan in body["plans"]]


def product_queries(captured: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in captured.captured_queries if "catalog_product" in query["sql"]]


# --- Grouping and exact bodies -------------------------------------------------------------


def test_anonymous_visitor_sees_every_active_internet_product_grouped_by_item_class(client: Client) -> None:
    # Given a small internet catalog, an inactive plan and a product of another type
    home_10g = internet_product(
        sku="NET-10G",
        name="Home 10G",
        description="Ten gigabits",
        price=Decimal("6980.00"),
        eligibility_offering="Home 10G",
        display_order=2,
    )
    home_1g = internet_product(
        sku="NET-1G",
        name="Home 1G",
        description="One gigabit",
        price=Decimal("4980.00"),
        eligibility_offering="Home 1G",
        display_order=1,
    )
    installation = internet_product(
        sku="NET-INST",
        name="Standard installation",
        item_class=ItemClass.INSTALLATION,
        billing_cycle=BillingCycle.ONE_TIME,
        price=Decimal("22000.00"),
    )
    activation = internet_product(
        sku="NET-ACT",
        name="Activation fee",
        item_class=ItemClass.ACTIVATION,
        billing_cycle=BillingCycle.ONE_TIME,
        price=Decimal("3300.00"),
    )
    add_on = internet_product(
        sku="NET-IP", name="Static IP", item_class=ItemClass.ADD_ON, price=Decimal("500")
    )
    internet_product(name="Retired plan", is_active=False)
    sim_product(name="SIM 5GB")

    # When an anonymous visitor opens the internet catalog
    response = client.get(INTERNET_URL)

    # Then every active internet product is listed in its group, plans in display order
    assert response.status_code == 200
    assert response.json() == {
        "plans": [
            {
                "id": home_1g.pk,
                "sku": "NET-1G",
                "name": "Home 1G",
                "description": "One gigabit",
                "price": 4980,
                "currency": "JPY",
                "billing_cycle": "monthly",
                "item_class": "plan",
                "eligibility_offering": "Home 1G",
            },
            {
                "id": home_10g.pk,
                "sku": "NET-10G",
                "name": "Home 10G",
                "description": "Ten gigabits",
                "price": 6980,
                "currency": "JPY",
                "billing_cycle": "monthly",
                "item_class": "plan",
                "eligibility_offering": "Home 10G",
            },
        ],
        "installations": [
            {
                "id": installation.pk,
                "sku": "NET-INST",
                "name": "Standard installation",
                "description": "",
                "price": 22000,
                "currency": "JPY",
                "billing_cycle": "one_time",
                "item_class": "installation",
                "eligibility_offering": "",
            }
        ],
        "activation_fees": [
            {
                "id": activation.pk,
                "sku": "NET-ACT",
                "name": "Activation fee",
                "description": "",
                "price": 3300,
                "currency": "JPY",
                "billing_cycle": "one_time",
                "item_class": "activation",
                "eligibility_offering": "",
            }
        ],
        "add_ons": [
            {
                "id": add_on.pk,
                "sku": "NET-IP",
                "name": "Static IP",
                "description": "",
                "price": 500,
                "currency": "JPY",
                "billing_cycle": "monthly",
                "item_class": "add_on",
                "eligibility_offering": "",
            }
        ],
        "eligibility": None,
    }


def test_sim_catalog_lists_plans_activation_fees_and_add_ons(client: Client) -> None:
    # Given a SIM plan, activation fee and add-on, and an internet plan
    plan = sim_product(sku="SIM-5G", name="SIM 5GB", price=Decimal("1980.00"))
    activation = sim_product(
        sku="SIM-ACT",
        name="SIM activation",
        item_class=ItemClass.ACTIVATION,
        billing_cycle=BillingCycle.ONE_TIME,
        price=Decimal("3300.00"),
    )
    add_on = sim_product(sku="SIM-VOICE", name="Voice", item_class=ItemClass.ADD_ON, price=Decimal("330.00"))
    internet_product(name="Home 1G")

    # When an anonymous visitor opens the SIM catalog
    response = client.get(SIM_URL)

    # Then only the SIM products are listed, in their groups
    assert response.status_code == 200
    assert response.json() == {
        "plans": [
            {
                "id": plan.pk,
                "sku": "SIM-5G",
                "name": "SIM 5GB",
                "description": "",
                "price": 1980,
                "currency": "JPY",
                "billing_cycle": "monthly",
                "item_class": "plan",
                "is_family_discount": False,
            }
        ],
        "activation_fees": [
            {
                "id": activation.pk,
                "sku": "SIM-ACT",
                "name": "SIM activation",
                "description": "",
                "price": 3300,
                "currency": "JPY",
                "billing_cycle": "one_time",
                "item_class": "activation",
                "is_family_discount": False,
            }
        ],
        "add_ons": [
            {
                "id": add_on.pk,
                "sku": "SIM-VOICE",
                "name": "Voice",
                "description": "",
                "price": 330,
                "currency": "JPY",
                "billing_cycle": "monthly",
                "item_class": "add_on",
                "is_family_discount": False,
            }
        ],
    }


def test_vpn_catalog_lists_plans_and_add_ons(client: Client) -> None:
    # Given a VPN plan (annual) and add-on
    plan = ProductFactory.create(
        product_type=ProductType.VPN,
        sku="VPN-US",
        name="VPN USA",
        billing_cycle=BillingCycle.ANNUALLY,
        price=Decimal("12000.00"),
    )
    add_on = ProductFactory.create(
        product_type=ProductType.VPN,
        sku="VPN-ROUTER",
        name="Router rental",
        item_class=ItemClass.ADD_ON,
        price=Decimal("500.00"),
    )

    # When a signed-in customer opens the VPN catalog
    client.force_login(CustomerFactory.create())
    response = client.get(VPN_URL)

    # Then both are listed
    assert response.status_code == 200
    assert response.json() == {
        "plans": [
            {
                "id": plan.pk,
                "sku": "VPN-US",
                "name": "VPN USA",
                "description": "",
                "price": 12000,
                "currency": "JPY",
                "billing_cycle": "annually",
                "item_class": "plan",
            }
        ],
        "add_ons": [
            {
                "id": add_on.pk,
                "sku": "VPN-ROUTER",
                "name": "Router rental",
                "description": "",
                "price": 500,
                "currency": "JPY",
                "billing_cycle": "monthly",
                "item_class": "add_on",
            }
        ],
    }


def test_catalog_of_a_type_with_no_products_has_empty_groups(client: Client) -> None:
    response = client.get(VPN_URL)

    assert response.status_code == 200
    assert response.json() == {"plans": [], "add_ons": []}


# --- Internet eligibility ------------------------------------------------------------------


@pytest.fixture
def internet_plans() -> None:
    internet_product(name="Home 1G", eligibility_offering="Home 1G", display_order=1)
    internet_product(name="Home 10G", eligibility_offering="Home 10G", display_order=2)
    internet_product(name="Any address", eligibility_offering="", display_order=3)
    internet_product(
        name="Home 10G installation",
        item_class=ItemClass.INSTALLATION,
        eligibility_offering="Home 10G",
        billing_cycle=BillingCycle.ONE_TIME,
    )


@pytest.mark.usefixtures("internet_plans")
def test_eligible_customer_sees_only_the_plans_of_their_offering(client: Client) -> None:
    # Given a customer an agent found eligible for Home 1G
    client.force_login(eligible_customer("Home 1G"))

    # When they open the internet catalog
    body = client.get(INTERNET_URL).json()

    # Then plans are limited to Home 1G and plans without an offering; other groups are not filtered
    assert plan_names(body) == ["Home 1G", "Any address"]
    assert [item["name"] for item in body["installations"]] == ["Home 10G installation"]
    assert body["eligibility"] == {"status": "eligible", "offering": "Home 1G"}


@pytest.mark.usefixtures("internet_plans")
@pytest.mark.parametrize(
    ("status", "offering"),
    [
        (EligibilityStatus.NOT_REQUESTED, ""),
        (EligibilityStatus.PENDING, ""),
        (EligibilityStatus.INELIGIBLE, ""),
        (EligibilityStatus.PENDING, "Home 1G"),
    ],
)
def test_customer_not_yet_eligible_sees_every_plan_and_their_eligibility(
    client: Client, status: str, offering: str
) -> None:
    # Given a customer who is not (yet) eligible
    client.force_login(
        CustomerFactory.create(
            profile__internet_eligibility_status=status, profile__internet_eligibility=offering
        )
    )

    # When they open the internet catalog
    body = client.get(INTERNET_URL).json()

    # Then all plans are listed, with the eligibility block the client prompts a check from
    assert plan_names(body) == ["Home 1G", "Home 10G", "Any address"]
    assert body["eligibility"] == {"status": status or None, "offering": offering}


@pytest.mark.usefixtures("internet_plans")
def test_anonymous_visitor_sees_every_plan_without_eligibility(client: Client) -> None:
    body = client.get(INTERNET_URL).json()

    assert plan_names(body) == ["Home 1G", "Home 10G", "Any address"]
    assert body["eligibility"] is None


# --- SIM family discount -------------------------------------------------------------------


@pytest.fixture
def sim_plans() -> None:
    sim_product(name="SIM 5GB", display_order=1)
    sim_product(name="SIM 5GB family", is_family_discount=True, display_order=2)


def customer_with_services(*statuses: str, product_type: str = ProductType.SIM) -> User:
    customer = CustomerFactory.create()
    for status in statuses:
        WhmcsServiceFactory.create(user=customer, product_type=product_type, status=status)
    return customer


@pytest.mark.usefixtures("sim_plans")
@pytest.mark.parametrize(
    ("make_viewer", "expected_plans"),
    [
        pytest.param(lambda: None, ["SIM 5GB"], id="anonymous"),
        pytest.param(lambda: customer_with_services(), ["SIM 5GB"], id="customer-without-sim"),
        pytest.param(
            lambda: customer_with_services(WhmcsService.Status.ACTIVE),
            ["SIM 5GB", "SIM 5GB family"],
            id="customer-with-active-sim",
        ),
        pytest.param(
            lambda: customer_with_services(WhmcsService.Status.CANCELLED),
            ["SIM 5GB"],
            id="customer-with-cancelled-sim",
        ),
        pytest.param(
            lambda: customer_with_services(WhmcsService.Status.ACTIVE, product_type=ProductType.INTERNET),
            ["SIM 5GB"],
            id="customer-with-active-internet-only",
        ),
        pytest.param(
            lambda: customer_with_services(WhmcsService.Status.CANCELLED, WhmcsService.Status.ACTIVE),
            ["SIM 5GB", "SIM 5GB family"],
            id="customer-with-cancelled-and-active-sim",
        ),
    ],
)
def test_family_discount_plans_are_shown_only_with_an_active_sim(
    client: Client, make_viewer: Any, expected_plans: list[str]
) -> None:
    # Given the viewer
    viewer = make_viewer()
    if viewer is not None:
        client.force_login(viewer)

    # When they open the SIM catalog
    response = client.get(SIM_URL)

    # Then family-discount plans appear only for a customer with an Active SIM
    assert response.status_code == 200
    assert plan_names(response.json()) == expected_plans


# --- Caching -------------------------------------------------------------------------------


def test_a_second_anonymous_request_runs_no_query(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    # Given a catalog already served once
    internet_product(name="Home 1G")
    client.get(INTERNET_URL)

    # When it is requested again
    with django_assert_num_queries(0):
        response = client.get(INTERNET_URL)

    # Then it is served from the cache
    assert plan_names(response.json()) == ["Home 1G"]


def test_customers_in_the_same_situation_share_cache_entries(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries, database_sessions: None
) -> None:
    # Given one Home 1G customer has opened the internet catalog
    internet_product(name="Home 1G", eligibility_offering="Home 1G")
    internet_product(name="Home 10G", eligibility_offering="Home 10G")
    client.force_login(eligible_customer("Home 1G"))
    client.get(INTERNET_URL)

    # When another Home 1G customer opens it
    client.force_login(eligible_customer("Home 1G"))
    with django_assert_num_queries(3) as captured:  # session, user, profile
        response = client.get(INTERNET_URL)

    # Then products come from the cache entry the first customer filled
    assert product_queries(captured) == []
    assert plan_names(response.json()) == ["Home 1G"]


def test_different_offerings_get_different_cache_entries(client: Client) -> None:
    # Given a Home 1G customer has filled the cache
    internet_product(name="Home 1G", eligibility_offering="Home 1G", display_order=1)
    internet_product(name="Home 10G", eligibility_offering="Home 10G", display_order=2)
    client.force_login(eligible_customer("Home 1G"))
    client.get(INTERNET_URL)
    client.logout()

    # When a Home 10G customer and then an anonymous visitor open the catalog
    client.force_login(eligible_customer("Home 10G"))
    home_10g_body = client.get(INTERNET_URL).json()
    client.logout()
    anonymous_body = client.get(INTERNET_URL).json()

    # Then each sees their own listing
    assert plan_names(home_10g_body) == ["Home 10G"]
    assert plan_names(anonymous_body) == ["Home 1G", "Home 10G"]


@pytest.mark.usefixtures("sim_plans")
def test_family_discount_flag_gets_its_own_cache_entry(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries, database_sessions: None
) -> None:
    # Given an anonymous visitor filled the SIM cache without family-discount plans
    client.get(SIM_URL)

    # When a customer with an active SIM opens the SIM catalog twice
    client.force_login(customer_with_services(WhmcsService.Status.ACTIVE))
    first = client.get(SIM_URL).json()
    with django_assert_num_queries(3) as captured:  # session, user, active SIM check
        second = client.get(SIM_URL).json()

    # Then they see the family plan, the second time from their own cache entry
    assert plan_names(first) == ["SIM 5GB", "SIM 5GB family"]
    assert plan_names(second) == ["SIM 5GB", "SIM 5GB family"]
    assert product_queries(captured) == []


def test_a_cached_catalog_keeps_its_price_until_the_catalog_is_invalidated(client: Client) -> None:
    # Given a cached catalog
    plan = internet_product(name="Home 1G", price=Decimal("4980.00"))
    client.get(INTERNET_URL)

    # When the price changes in the mirror, before and after the sync invalidates the cache
    Product.objects.filter(pk=plan.pk).update(price=Decimal("5280.00"))
    before = client.get(INTERNET_URL).json()
    catalog_cache_invalidate()
    after = client.get(INTERNET_URL).json()

    # Then the cached price holds until the invalidation, and the next request sees the new one
    assert before["plans"][0]["price"] == 4980
    assert after["plans"][0]["price"] == 5280


def test_invalidation_reaches_every_cache_entry(client: Client) -> None:
    # Given cached entries for an anonymous visitor and an eligible customer
    plan = internet_product(name="Home 1G", eligibility_offering="Home 1G")
    client.get(INTERNET_URL)
    customer = eligible_customer("Home 1G")
    client.force_login(customer)
    client.get(INTERNET_URL)

    # When the plan is retired and the catalog invalidated twice
    Product.objects.filter(pk=plan.pk).update(is_active=False)
    catalog_cache_invalidate()
    catalog_cache_invalidate()

    # Then both see it gone
    assert plan_names(client.get(INTERNET_URL).json()) == []
    client.logout()
    assert plan_names(client.get(INTERNET_URL).json()) == []


@pytest.mark.parametrize("rows", [1, 30])
def test_an_uncached_catalog_runs_a_constant_number_of_queries(
    client: Client, django_assert_max_num_queries: DjangoAssertNumQueries, rows: int
) -> None:
    # Given an eligible customer and a catalog of any size
    for _ in range(rows):
        internet_product(eligibility_offering="Home 1G")
        sim_product()
    client.force_login(eligible_customer("Home 1G"))

    # When each catalog is served for the first time
    # Then it takes at most session, user, profile or SIM check, and one products query
    for url in (INTERNET_URL, SIM_URL, VPN_URL):
        with django_assert_max_num_queries(4):
            assert client.get(url).status_code == 200


# --- ETag, 304 and what is cached ----------------------------------------------------------


def test_a_listing_carries_an_etag_and_a_matching_if_none_match_gets_304_without_a_body(
    client: Client,
) -> None:
    internet_product(name="Home 1G", item_class=ItemClass.PLAN)
    first = client.get(INTERNET_URL)
    etag = first.headers["ETag"]
    assert etag.startswith('"')

    again = client.get(INTERNET_URL, headers={"If-None-Match": etag})

    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == etag


def test_a_stale_etag_gets_the_new_listing_after_a_catalog_change(client: Client) -> None:
    plan = internet_product(name="Home 1G", item_class=ItemClass.PLAN)
    etag = client.get(INTERNET_URL).headers["ETag"]
    Product.objects.filter(pk=plan.pk).update(name="Home 10G")
    catalog_cache_invalidate()

    response = client.get(INTERNET_URL, headers={"If-None-Match": etag})

    assert response.status_code == 200
    assert response.headers["ETag"] != etag
    assert plan_names(response.json()) == ["Home 10G"]


def test_the_etag_differs_by_viewer_when_the_body_does(client: Client) -> None:
    internet_product(name="Home 1G", item_class=ItemClass.PLAN, eligibility_offering="Home 1G")
    internet_product(name="Home 10G", item_class=ItemClass.PLAN, eligibility_offering="Home 10G")
    anonymous = client.get(INTERNET_URL).headers["ETag"]
    client.force_login(eligible_customer("Home 1G"))

    response = client.get(INTERNET_URL, headers={"If-None-Match": anonymous})

    assert response.status_code == 200
    assert plan_names(response.json()) == ["Home 1G"]
    assert response.headers["ETag"] != anonymous
