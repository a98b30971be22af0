"""No stale "Pending" after an agent decided: once the decision reaches the portal (the Account
status event, or the reconciliation job that catches a missed one), the customer's eligibility
read and the internet catalog show it on the very next request.

The catalog is cached, but by offering and never by user (``apps.catalog.selectors``): a decision
moves the customer to another cache entry instead of leaving them on a stale one. The tests warm
those entries first to prove it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.accounts.models import EligibilityStatus, User
from apps.accounts.status_events import account_status_event_apply
from apps.accounts.sync import reconcile_account_statuses
from apps.catalog.models import ProductType
from emulators import EmulatorSuite
from tests.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

ACCOUNT_TOPIC = "/event/Account_Internet_Eligibility_Update__e"
ELIGIBILITY = "/api/eligibility-request"
INTERNET = "/api/catalog/internet"
DECISION = {
    "Internet_Eligibility_Status__c": "Eligible",
    "Internet_Eligibility__c": "Home 1G",
    "Internet_Eligibility_Checked_Date_Time__c": "2026-11-20T02:00:00.000+0000",
}


@pytest.fixture
def plans() -> None:
    for order, (name, offering) in enumerate((("Home 1G", "Home 1G"), ("Home 10G", "Home 10G"), ("Any", ""))):
        ProductFactory(
            product_type=ProductType.INTERNET, name=name, eligibility_offering=offering, display_order=order
        )


def pending_customer(systems: EmulatorSuite) -> tuple[User, str]:
    account = systems.salesforce.store.create_record(
        "Account",
        {
            "Name": "Sato Hana",
            "Internet_Eligibility_Status__c": "Pending",
            "Internet_Eligibility_Request_Date_Time__c": "2026-11-18T01:00:00.000+0000",
        },
    )
    customer = CustomerFactory(
        id_mapping__salesforce_account_id=account["Id"],
        profile__internet_eligibility_status=EligibilityStatus.PENDING,
    )
    return customer, account["Id"]


def plan_names(api: APIClient) -> list[str]:
    return [plan["name"] for plan in api.get(INTERNET).json()["plans"]]


def catalog_product_queries(api: APIClient) -> int:
    with CaptureQueriesContext(connection) as captured:
        api.get(INTERNET)
    return sum("catalog_product" in query["sql"] for query in captured.captured_queries)


def warm_caches(customer: User) -> APIClient:
    """The customer reads while pending, and someone already eligible for Home 1G has filled that
    offering's catalog entry: every cache the next reads could hit is warm."""
    api = APIClient()
    api.force_login(customer)
    assert api.get(ELIGIBILITY).json()["status"] == "pending"
    assert plan_names(api) == ["Home 1G", "Home 10G", "Any"]
    assert catalog_product_queries(api) == 0  # served from the cache from now on

    already_eligible = APIClient()
    already_eligible.force_login(
        CustomerFactory(
            profile__internet_eligibility_status=EligibilityStatus.ELIGIBLE,
            profile__internet_eligibility="Home 1G",
        )
    )
    assert plan_names(already_eligible) == ["Home 1G", "Any"]
    return api


def assert_decision_shown(api: APIClient) -> None:
    eligibility = api.get(ELIGIBILITY).json()
    catalog = api.get(INTERNET).json()
    assert (eligibility["status"], eligibility["offering"], eligibility["expected_timeline"]) == (
        "eligible",
        "Home 1G",
        None,
    )
    assert catalog["eligibility"] == {"status": "eligible", "offering": "Home 1G"}
    assert [plan["name"] for plan in catalog["plans"]] == ["Home 1G", "Any"]


def decide_by_event(systems: EmulatorSuite, account_id: str) -> None:
    systems.salesforce.store.update_record("Account", account_id, DECISION)
    payload: dict[str, Any] = systems.bus.decode(systems.bus.events(ACCOUNT_TOPIC)[-1])
    account_status_event_apply(payload=payload)


def decide_by_reconciliation(systems: EmulatorSuite, account_id: str) -> None:
    systems.salesforce.store.update_record("Account", account_id, DECISION)  # its event was missed
    reconcile_account_statuses()


@pytest.mark.usefixtures("plans")
@pytest.mark.parametrize("decide", [decide_by_event, decide_by_reconciliation])
def test_the_decision_is_read_at_once_from_warm_caches(
    systems: EmulatorSuite, decide: Callable[[EmulatorSuite, str], None]
) -> None:
    # Given a pending customer whose eligibility and catalog reads are cached
    customer, account_id = pending_customer(systems)
    api = warm_caches(customer)

    # When the agent's decision reaches the portal
    decide(systems, account_id)

    # Then the very next reads show it
    assert_decision_shown(api)


@pytest.mark.usefixtures("plans")
def test_a_reversed_decision_is_not_served_from_the_cache_either(systems: EmulatorSuite) -> None:
    customer, account_id = pending_customer(systems)
    api = warm_caches(customer)
    decide_by_event(systems, account_id)
    assert_decision_shown(api)

    # The agent re-opens the check (Pending again): every plan is offered again at once.
    systems.salesforce.store.update_record(
        "Account", account_id, {"Internet_Eligibility_Status__c": "Pending"}
    )
    account_status_event_apply(payload=systems.bus.decode(systems.bus.events(ACCOUNT_TOPIC)[-1]))

    assert api.get(ELIGIBILITY).json()["status"] == "pending"
    assert plan_names(api) == ["Home 1G", "Home 10G", "Any"]
