"""The cancellation preview (GET /api/subscriptions/{id}/cancellation) and the chosen month of the
request (POST, `cancellation_month`): the 25th rule in Japan time decides the months offered."""

from __future__ import annotations

import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from apps.accounts.models import User
from apps.billing.models import WhmcsService
from apps.catalog.models import ProductType
from apps.integrations.models import OutboxEntry
from apps.opportunities.models import Case, Opportunity, OpportunityStage
from emulators import EmulatorSuite
from tests.factories import CustomerFactory, WhmcsServiceFactory
from tests.helpers import api_for, error_code, error_details, field_errors
from tests.scenarios import cancel, cancellation_url, customer_with_service

pytestmark = pytest.mark.django_db

JST = ZoneInfo("Asia/Tokyo")


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> list[datetime.datetime]:
    """The cancellation clock (the seam ``clock_now``), frozen at ``now[0]``."""
    now = [datetime.datetime(2026, 12, 10, 10, 0, tzinfo=JST)]
    monkeypatch.setattr("apps.opportunities.services.clock_now", lambda: now[0])
    return now


def preview(user: User | None, service: WhmcsService | int) -> Any:
    """``GET /api/subscriptions/{id}/cancellation`` as ``user``."""
    return api_for(user).get(cancellation_url(service))


@pytest.mark.parametrize(
    ("now", "months"),
    [
        # 24 December 23:59:59 in Japan (14:59:59 UTC): still before the 25th, December is offered
        (
            datetime.datetime(2026, 12, 24, 14, 59, 59, tzinfo=datetime.UTC),
            [("2026-12", "2026-12-31"), ("2027-01", "2027-01-31"), ("2027-02", "2027-02-28")],
        ),
        # 25 December 00:00 in Japan is still the 24th in UTC: the 25th rule counts Japan's day
        (
            datetime.datetime(2026, 12, 24, 15, 0, 0, tzinfo=datetime.UTC),
            [("2027-01", "2027-01-31"), ("2027-02", "2027-02-28"), ("2027-03", "2027-03-31")],
        ),
        # a leap February in the horizon
        (
            datetime.datetime(2027, 12, 25, 9, 0, tzinfo=JST),
            [("2028-01", "2028-01-31"), ("2028-02", "2028-02-29"), ("2028-03", "2028-03-31")],
        ),
    ],
)
def test_the_preview_offers_three_months_from_the_earliest_by_the_25th_rule(
    systems: EmulatorSuite,
    frozen_now: list[datetime.datetime],
    now: datetime.datetime,
    months: list[tuple[str, str]],
) -> None:
    # Given a customer with an Active internet line, at a moment around the 25th in Japan
    user, service, _ = customer_with_service(systems)
    frozen_now[0] = now

    # When they ask which months they may cancel for
    response = preview(user, service)

    # Then the earliest month follows the 25th rule and the two after it are offered too
    assert response.status_code == 200
    assert response.json() == {
        "months": [{"month": month, "end_date": end} for month, end in months],
        "earliest_month": months[0][0],
        "pending_request": None,
    }


def test_the_customer_can_choose_a_later_month_than_the_earliest(
    systems: EmulatorSuite, frozen_now: list[datetime.datetime]
) -> None:
    user, service, opportunity = customer_with_service(systems)
    frozen_now[0] = datetime.datetime(2026, 12, 24, 23, 0, tzinfo=JST)

    response = cancel(api_for(user), service, cancellation_month="2027-02")

    assert response.status_code == 201, response.json()
    assert (response.json()["cancellation_month"], response.json()["scheduled_for"]) == (
        "2027-02",
        "2027-02-28",
    )
    opportunity.refresh_from_db()
    assert opportunity.scheduled_cancellation_at == datetime.datetime(2027, 2, 28, 23, 59, 59, tzinfo=JST)
    assert "Cancellation month: 2027-02" in Case.objects.get().description
    # and the preview then shows the request made
    assert preview(user, service).json()["pending_request"] == {
        "month": "2027-02",
        "end_date": "2027-02-28",
    }


def test_rule_cancellation_before_the_25th_the_customer_can_choose_this_month(
    systems: EmulatorSuite, frozen_now: list[datetime.datetime]
) -> None:
    user, service, _ = customer_with_service(systems)
    frozen_now[0] = datetime.datetime(2026, 12, 24, 23, 59, 59, tzinfo=JST)

    response = cancel(api_for(user), service, cancellation_month="2026-12")

    assert response.status_code == 201, response.json()
    assert response.json()["scheduled_for"] == "2026-12-31"


def test_rule_cancellation_from_the_25th_this_month_is_no_longer_offered(
    systems: EmulatorSuite, frozen_now: list[datetime.datetime]
) -> None:
    # Given the customer saw December offered on the 24th, but sends the request on the 25th (JST)
    user, service, opportunity = customer_with_service(systems)
    frozen_now[0] = datetime.datetime(2026, 12, 25, 0, 0, 0, tzinfo=JST)

    response = cancel(api_for(user), service, cancellation_month="2026-12")

    # Then the month is refused with the months now offered, and nothing is written
    assert response.status_code == 400
    assert error_code(response) == "cancellation_month_not_offered"
    assert error_details(response)["offered_months"] == ["2027-01", "2027-02", "2027-03"]
    opportunity.refresh_from_db()
    assert opportunity.stage == OpportunityStage.ACTIVE
    assert not Case.objects.exists()
    assert not OutboxEntry.objects.exists()


def test_a_month_beyond_the_horizon_is_not_offered(systems: EmulatorSuite) -> None:
    user, service, _ = customer_with_service(systems)

    response = cancel(api_for(user), service, cancellation_month="2027-03")

    assert response.status_code == 400
    assert error_code(response) == "cancellation_month_not_offered"
    assert error_details(response)["offered_months"] == ["2026-12", "2027-01", "2027-02"]


def test_without_a_month_the_earliest_is_taken(
    systems: EmulatorSuite, frozen_now: list[datetime.datetime]
) -> None:
    user, service, _ = customer_with_service(systems)
    frozen_now[0] = datetime.datetime(2026, 12, 25, 0, 0, 0, tzinfo=JST)

    response = cancel(api_for(user), service)

    assert response.status_code == 201
    assert response.json()["cancellation_month"] == "2027-01"


@pytest.mark.parametrize("month", ["2027-1", "2027-13", "January", "2027-01-31"])
def test_a_malformed_month_is_a_field_error(systems: EmulatorSuite, month: str) -> None:
    user, service, _ = customer_with_service(systems)

    response = cancel(api_for(user), service, cancellation_month=month)

    assert response.status_code == 400
    assert list(field_errors(response)) == ["cancellation_month"]
    assert not Case.objects.exists()


def test_another_customers_service_has_no_preview(systems: EmulatorSuite) -> None:
    _, service, _ = customer_with_service(systems)

    assert preview(CustomerFactory.create(), service).status_code == 404
    assert preview(CustomerFactory.create(), 999999).status_code == 404


def test_another_customers_service_is_not_found_whatever_the_month(systems: EmulatorSuite) -> None:
    _, service, opportunity = customer_with_service(systems)

    response = cancel(api_for(CustomerFactory.create()), service, cancellation_month="1999-01")

    assert response.status_code == 404
    assert Opportunity.objects.get(pk=opportunity.pk).stage == OpportunityStage.ACTIVE


def test_a_vpn_service_has_no_cancellation_preview(systems: EmulatorSuite) -> None:
    user, service, _ = customer_with_service(systems, product_type=ProductType.VPN, name="VPN Router")

    response = preview(user, service)

    assert response.status_code == 400
    assert error_code(response) == "cancellation_not_supported"


def test_the_preview_needs_a_signed_in_customer(systems: EmulatorSuite) -> None:
    _, service, _ = customer_with_service(systems)

    assert preview(None, service).status_code == 401


def test_a_service_no_opportunity_names_has_no_months_offered(systems: EmulatorSuite) -> None:
    # Given a one-time fee in WHMCS (an internet product, but no Opportunity names its service)
    user, _, _ = customer_with_service(systems)
    fee = WhmcsServiceFactory.create(
        user=user, whmcs_id=5002, product_type=ProductType.INTERNET, name="Installation fee"
    )

    # Then the preview refuses it as the request would, instead of offering months
    response = preview(user, fee)
    assert response.status_code == 409
    assert error_code(response) == "cancellation_unavailable"
    assert error_code(cancel(api_for(user), fee)) == "cancellation_unavailable"


def test_a_service_that_is_not_active_has_no_months_offered(systems: EmulatorSuite) -> None:
    user, service, _ = customer_with_service(systems, status=WhmcsService.Status.SUSPENDED)

    response = preview(user, service)

    assert response.status_code == 400
    assert error_code(response) == "service_not_active"
