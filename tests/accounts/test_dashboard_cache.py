"""The dashboard cache: repeated views are served from the cache, and every write that changes
what the dashboard shows is visible on the very next view.

These tests commit (``transaction=True``), because the cache is dropped when a write commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.accounts.models import EligibilityStatus, IdVerificationStatus, User
from apps.accounts.status_events import account_status_event_apply
from apps.billing.tasks import sync_customer_billing_task
from apps.console.services import eligibility_mark_eligible
from apps.integrations.whmcs.client import get_whmcs_client
from apps.integrations.whmcs.types import OrderLine
from apps.notifications.models import NotificationType
from apps.notifications.services import notification_create
from emulators import EmulatorSuite
from tests.factories import AgentFactory, CustomerFactory, NotificationFactory
from tests.helpers import account_id_of, make_customer
from tests.scenarios import (
    ADDRESS,
    ORDER_TOPIC,
    eligible_customer,
    internet_plan,
    place,
    png_bytes,
    run_subscriber,
    seed_cursor,
    seed_order,
    upload,
    whmcs_client,
)

pytestmark = pytest.mark.django_db(transaction=True)

STATUS = "/api/me/status"


@pytest.fixture(autouse=True)
def dashboard_cache(settings: Any) -> Iterator[None]:
    settings.DASHBOARD_CACHE_SECONDS = 30
    cache.clear()
    yield
    cache.clear()


def signed_in(user: User) -> APIClient:
    api = APIClient()
    api.force_login(user)
    return api


def stats(api: APIClient) -> dict[str, int]:
    response = api.get(STATUS)
    assert response.status_code == 200
    return response.json()["summary"]["stats"]


def test_a_repeated_view_is_served_from_the_cache_without_the_dashboard_queries(
    database_sessions: None,
) -> None:
    customer = CustomerFactory()
    api = signed_in(customer)
    first = api.get(STATUS)

    with CaptureQueriesContext(connection) as queries:
        again = api.get(STATUS)

    assert again.json() == first.json()
    # Only the session and the signed-in user (database sessions, no user cache, as without
    # Redis); none of the dashboard's own reads.
    assert len(queries) == 2, [query["sql"] for query in queries]


def test_the_cache_is_per_customer_and_per_language() -> None:
    hana, taro = CustomerFactory(), CustomerFactory()
    NotificationFactory.create_batch(2, user=hana)
    hana_api, taro_api = signed_in(hana), signed_in(taro)

    english = hana_api.get(STATUS, HTTP_ACCEPT_LANGUAGE="en").json()
    japanese = hana_api.get(STATUS, HTTP_ACCEPT_LANGUAGE="ja").json()

    assert stats(taro_api)["unread_notifications"] == 0
    assert english["summary"]["stats"]["unread_notifications"] == 2
    assert english["tasks"][0]["title"] != japanese["tasks"][0]["title"]


def test_notifications_created_read_and_dismissed_show_at_once() -> None:
    customer = CustomerFactory()
    api = signed_in(customer)
    assert stats(api)["unread_notifications"] == 0

    notification = notification_create(user_id=customer.pk, type=NotificationType.ELIGIBILITY_ELIGIBLE)
    other = notification_create(user_id=customer.pk, type=NotificationType.VERIFICATION_VERIFIED)
    notification_create(user_id=customer.pk, type=NotificationType.VERIFICATION_REJECTED)
    assert notification is not None
    assert other is not None
    assert stats(api)["unread_notifications"] == 3

    assert api.post(f"/api/notifications/{notification.pk}/read").status_code == 200
    assert stats(api)["unread_notifications"] == 2

    assert api.post(f"/api/notifications/{other.pk}/dismiss").status_code == 204
    assert stats(api)["unread_notifications"] == 1

    assert api.post("/api/notifications/read-all").status_code == 200
    assert stats(api)["unread_notifications"] == 0


def test_an_eligibility_request_and_its_decision_show_at_once(systems: EmulatorSuite) -> None:
    customer = make_customer(systems)
    api = signed_in(customer)
    assert api.get(STATUS).json()["internet_eligibility"]["status"] is None

    assert api.post("/api/eligibility-request", ADDRESS, format="json").status_code == 201
    assert api.get(STATUS).json()["internet_eligibility"]["status"] == EligibilityStatus.PENDING

    eligibility_mark_eligible(agent=AgentFactory(), profile_id=customer.profile.pk, offering="Home 1G")
    body = api.get(STATUS).json()
    assert (body["internet_eligibility"]["status"], body["internet_eligibility"]["offering"]) == (
        EligibilityStatus.ELIGIBLE,
        "Home 1G",
    )


def test_a_residence_card_upload_and_a_decision_from_salesforce_show_at_once(systems: EmulatorSuite) -> None:
    customer = make_customer(systems)
    api = signed_in(customer)
    assert api.get(STATUS).json()["residence_card_verification"]["status"] is None

    response = api.post("/api/verification/residence-card", {"file": upload(png_bytes())}, format="multipart")
    assert response.status_code == 201
    assert api.get(STATUS).json()["residence_card_verification"]["status"] == IdVerificationStatus.SUBMITTED

    account_status_event_apply(
        payload={"AccountId__c": account_id_of(customer), "Id_Verification_Status__c": "Verified"}
    )
    body = api.get(STATUS).json()
    assert body["residence_card_verification"]["status"] == IdVerificationStatus.VERIFIED
    assert body["summary"]["stats"]["unread_notifications"] == 1


def test_an_order_placed_shows_at_once(systems: EmulatorSuite) -> None:
    customer = eligible_customer(systems, id_verification_status=IdVerificationStatus.VERIFIED)
    plan = internet_plan(systems)
    api = signed_in(customer)
    assert stats(api)["orders_in_progress"] == 0

    assert place(api, "internet", [(plan, 1)]).status_code == 201

    assert stats(api)["orders_in_progress"] == 1


def test_a_billing_sync_shows_new_services_and_invoices_at_once(systems: EmulatorSuite) -> None:
    whmcs = get_whmcs_client()
    client_id = whmcs_client(email="taro@example.com")
    customer = CustomerFactory(id_mapping__whmcs_client_id=client_id)
    api = signed_in(customer)
    assert stats(api) == {
        "active_services": 0,
        "unpaid_invoices": 0,
        "orders_in_progress": 0,
        "unread_notifications": 0,
    }

    order = whmcs.add_order(client_id, [OrderLine(pid=4)], payment_method="mailin")
    whmcs.accept_order(order.order_id)
    sync_customer_billing_task.apply(args=[customer.pk]).get()

    after = stats(api)
    assert (after["active_services"], after["unpaid_invoices"]) == (1, 1)


@pytest.mark.usefixtures("eager_celery")
def test_an_order_fulfilled_by_the_workers_shows_at_once(systems: EmulatorSuite) -> None:
    # Given a customer watching an order under review
    scenario = seed_order(systems)
    seed_cursor(systems, ORDER_TOPIC)
    api = signed_in(scenario.customer)
    assert stats(api)["orders_in_progress"] == 1

    # When the agent approves it in Salesforce and the workers provision it
    systems.salesforce.store.update_record("Order", scenario.order_id, {"Status": "Approved"})
    run_subscriber(ORDER_TOPIC, 1)

    # Then the next view shows it activated, its services and its invoice
    after = stats(api)
    assert (after["orders_in_progress"], after["active_services"], after["unpaid_invoices"]) == (0, 2, 1)
    assert after["unread_notifications"] == 2  # approved, activated
