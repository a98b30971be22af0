"""Journey step 7: the customer adds a payment method in WHMCS (CreateSsoToken to its add-card
page), the portal re-reads it, and orders WHMCS could not bill are refused until then
(``payment_method_required``); the console's approval checklist shows it."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import requests
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsFixture

from apps.accounts.models import IdVerificationStatus, User
from apps.billing.models import WhmcsPaymentMethod
from apps.checkout.models import Order, OrderStatus
from apps.integrations.models import OutboxEntry
from apps.opportunities.models import Opportunity
from emulators import EmulatorSuite
from tests.factories import WhmcsPaymentMethodFactory
from tests.helpers import api_for, error_code, make_customer
from tests.scenarios import customer_without_a_card, internet_plan, place

pytestmark = pytest.mark.django_db

ADD_LINK_URL = "/api/billing/payment-methods/add-link"
REFRESH_URL = "/api/billing/payment-methods/refresh"


def add_card_in_whmcs(url: str, systems: EmulatorSuite) -> requests.Response:
    """What the customer's browser does with the link: sign in to WHMCS and save a card."""
    browser = requests.Session()
    page = browser.get(url, timeout=5)
    assert page.status_code == 200
    return browser.post(
        page.url,
        data={"ccnumber": "4111111111111234", "ccexpirydate": "09/32", "cardtype": "Visa"},
        timeout=5,
    )


def task_types(user: User) -> list[str]:
    return [task["type"] for task in api_for(user).get("/api/me/status").json()["tasks"]]


def test_a_customer_adds_a_card_in_whmcs_and_may_then_order(systems: EmulatorSuite) -> None:
    # given: eligible, no card; the dashboard asks for one and an order is refused
    user = customer_without_a_card(systems)
    plan = internet_plan(systems)
    api = api_for(user)
    assert "add_payment_method" in task_types(user)
    refused = place(api, "internet", [(plan, 1)], key="before-card")
    assert (refused.status_code, error_code(refused)) == (400, "payment_method_required")

    # when: the customer follows the add-card link, saves a card in WHMCS and comes back
    link = api.post(ADD_LINK_URL)
    before = timezone.now()
    add_card_in_whmcs(link.json()["url"], systems)
    refreshed = api.post(REFRESH_URL)

    # then
    assert link.status_code == 200
    assert link.json()["url"].startswith(f"{systems.whmcs.base_url}/oauth/singlesignon.php?access_token=")
    expires_at = datetime.datetime.fromisoformat(link.json()["expires_at"])
    assert before < expires_at <= before + datetime.timedelta(seconds=60)
    assert refreshed.status_code == 200
    assert refreshed.json()["total_count"] == 1
    assert refreshed.json()["payment_methods"][0]["card_last_four"] == "1234"
    assert "add_payment_method" not in task_types(user)
    placed = place(api, "internet", [(plan, 1)], key="after-card")
    assert placed.status_code == 201
    assert Order.objects.get(user=user).status == OrderStatus.PENDING_REVIEW


def test_the_link_opens_the_configured_add_payment_method_page(
    systems: EmulatorSuite, settings: SettingsFixture
) -> None:
    # given
    settings.WHMCS = {**settings.WHMCS, "ADD_PAYMENT_METHOD_PATH": "index.php?rp=/account/paymentmethods"}
    user = customer_without_a_card(systems)

    # when
    link = api_for(user).post(ADD_LINK_URL).json()["url"]
    landing = requests.get(link, timeout=5, allow_redirects=False)

    # then
    assert (landing.status_code, landing.headers["Location"]) == (
        302,
        "/index.php?rp=/account/paymentmethods",
    )


def test_an_order_without_a_payment_method_is_refused_and_nothing_is_written(systems: EmulatorSuite) -> None:
    # given
    user = customer_without_a_card(systems)
    plan = internet_plan(systems)

    # when
    response = place(api_for(user), "internet", [(plan, 1)])

    # then
    assert response.status_code == 400
    assert error_code(response) == "payment_method_required"
    assert not Order.objects.exists()
    assert not Opportunity.objects.exists()
    assert not OutboxEntry.objects.exists()


def test_an_expired_card_does_not_count(systems: EmulatorSuite) -> None:
    # given
    user = customer_without_a_card(systems)
    WhmcsPaymentMethodFactory(user=user, expires_on=timezone.localdate() - datetime.timedelta(days=1))
    plan = internet_plan(systems)

    # when
    response = place(api_for(user), "internet", [(plan, 1)])

    # then
    assert (response.status_code, error_code(response)) == (400, "payment_method_required")


def test_orders_without_a_payment_method_are_taken_where_the_setting_is_off(
    systems: EmulatorSuite, settings: SettingsFixture
) -> None:
    # given
    settings.ORDERS_REQUIRE_PAYMENT_METHOD = False
    user = customer_without_a_card(systems)
    plan = internet_plan(systems)

    # when
    response = place(api_for(user), "internet", [(plan, 1)])

    # then
    assert response.status_code == 201


def test_a_customer_with_nothing_to_order_yet_is_not_asked_for_a_card(systems: EmulatorSuite) -> None:
    user = make_customer(systems, payment_method=False)

    assert task_types(user) == ["onboarding"]


def test_no_link_before_the_billing_account_exists(systems: EmulatorSuite) -> None:
    # given: registration has not created the WHMCS client yet
    user = make_customer(systems, payment_method=False)
    user.id_mapping.whmcs_client_id = None
    user.id_mapping.save()

    # when
    link = api_for(user).post(ADD_LINK_URL)
    refresh = api_for(user).post(REFRESH_URL)

    # then
    assert (link.status_code, error_code(link)) == (409, "billing_account_not_ready")
    assert (refresh.status_code, error_code(refresh)) == (409, "billing_account_not_ready")
    assert systems.whmcs.call_count("CreateSsoToken") == 0


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "error", "message": "SSO authentication blocked for client 1"},
        {"kind": "http_status", "status": 503},
        {"kind": "drop_connection"},
    ],
)
def test_whmcs_failing_to_issue_the_link_is_a_503(systems: EmulatorSuite, fault: dict[str, Any]) -> None:
    # given
    user = customer_without_a_card(systems)
    systems.whmcs.inject_fault("CreateSsoToken", **fault)

    # when
    response = api_for(user).post(ADD_LINK_URL)

    # then
    assert (response.status_code, error_code(response)) == (503, "billing_unavailable")
    assert "access_token" not in response.content.decode()


def test_a_refresh_while_whmcs_is_down_keeps_the_mirror(systems: EmulatorSuite) -> None:
    # given: the mirror has a card; WHMCS is down
    user = customer_without_a_card(systems)
    WhmcsPaymentMethodFactory(user=user, whmcs_id=777)
    systems.whmcs.inject_fault(None, kind="http_status", status=500, times=None)

    # when
    response = api_for(user).post(REFRESH_URL)

    # then
    assert (response.status_code, error_code(response)) == (503, "billing_unavailable")
    assert list(WhmcsPaymentMethod.objects.filter(user=user).values_list("whmcs_id", flat=True)) == [777]


def test_a_refresh_drops_a_card_removed_in_whmcs(systems: EmulatorSuite) -> None:
    # given
    user = customer_without_a_card(systems)
    WhmcsPaymentMethodFactory(user=user, whmcs_id=777)

    # when
    response = api_for(user).post(REFRESH_URL)

    # then
    assert response.json() == {"payment_methods": [], "total_count": 0}
    assert "add_payment_method" in task_types(user)


def test_an_id_verified_customer_is_asked_for_a_card_before_a_sim_order(systems: EmulatorSuite) -> None:
    # given
    user = make_customer(systems, payment_method=False, id_verification_status=IdVerificationStatus.VERIFIED)

    # when
    body = api_for(user).get("/api/me/status").json()

    # then
    [task] = [task for task in body["tasks"] if task["type"] == "add_payment_method"]
    assert (task["action_url"], body["payment_methods"]) == (
        "/account/billing/payment-methods",
        {"total_count": 0},
    )
