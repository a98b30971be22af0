"""Cancellation requests (POST /api/subscriptions/{id}/cancellation)."""

from __future__ import annotations

import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from apps.billing.models import WhmcsService
from apps.catalog.models import ProductType
from apps.integrations.models import OutboxEntry
from apps.integrations.outbox import outbox_deliver_due
from apps.notifications.models import Notification, NotificationSource, NotificationType
from apps.opportunities.models import (
    CancellationNotice,
    Case,
    CaseOrigin,
    CaseType,
    LineReturnStatus,
    Opportunity,
    OpportunityStage,
)
from emulators import EmulatorSuite
from tests.factories import CustomerFactory
from tests.helpers import api_for, error_code, error_message, field_messages
from tests.scenarios import cancel, customer_with_service

pytestmark = pytest.mark.django_db

JST = ZoneInfo("Asia/Tokyo")
# 10 March 2025, 10:00 in Japan: before the 25th, so the end of March.
MARCH_10 = datetime.datetime(2025, 3, 10, 10, 0, tzinfo=JST)
END_OF_MARCH_UTC = datetime.datetime(2025, 3, 31, 14, 59, 59, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> list[datetime.datetime]:
    """The cancellation service's clock, frozen at ``now[0]`` (tests may move it)."""
    now = [MARCH_10]
    monkeypatch.setattr("apps.opportunities.services.clock_now", lambda: now[0])
    return now


def url(service: WhmcsService | int) -> str:
    service_id = service.pk if isinstance(service, WhmcsService) else service
    return f"/api/subscriptions/{service_id}/cancellation"


def sf_record(systems: EmulatorSuite, sobject: str, record_id: str | None) -> dict[str, Any]:
    """A record in the Salesforce emulator, which must exist."""
    assert record_id is not None
    record = systems.salesforce.store.get_record(sobject, record_id)
    assert record is not None
    return record


def deliver_one_call(systems: EmulatorSuite) -> None:
    calls_before = systems.salesforce.counters()["total"]
    report = outbox_deliver_due()
    assert report.failed == []
    assert len(report.delivered) == 1
    assert report.api_calls == 1
    assert systems.salesforce.counters()["total"] - calls_before == 1


def test_an_internet_cancellation_schedules_the_end_of_this_month_and_tells_salesforce(
    systems: EmulatorSuite,
) -> None:
    # Given a customer with an Active internet line
    user, service, opportunity = customer_with_service(systems)

    # When they request cancellation on 10 March with a comment
    response = cancel(api_for(user), service, comments="Moving back home.")

    # Then it is scheduled for the end of March (23:59:59 JST)
    assert response.status_code == 201, response.json()
    assert response.json() == {
        "scheduled_for": "2025-03-31",
        "scheduled_at": "2025-03-31T23:59:59+09:00",
        "cancellation_month": "2025-03",
        "opportunity_stage": "cancelling",
        "case_submitted": False,
    }
    opportunity.refresh_from_db()
    assert opportunity.stage == OpportunityStage.CANCELLING
    assert opportunity.cancellation_notice == CancellationNotice.GIVEN
    assert opportunity.scheduled_cancellation_at == END_OF_MARCH_UTC
    assert opportunity.line_return_status == LineReturnStatus.NOT_YET
    assert opportunity.sim_cancellation_notice == ""
    assert opportunity.sim_scheduled_cancellation_at is None
    case = Case.objects.get()
    assert (case.user, case.opportunity, case.type, case.origin) == (
        user,
        opportunity,
        CaseType.CANCELLATION_REQUEST,
        CaseOrigin.PORTAL,
    )
    assert case.subject == "Cancellation Request - SonixNet Home 1G"
    assert case.description == (
        "Cancellation requested through the customer portal.\n"
        "Service: SonixNet Home 1G\n"
        "WHMCS service ID: 5001\n"
        "Requested at: 2025-03-10 10:00 JST\n"
        "Cancellation month: 2025-03\n"
        "Scheduled cancellation: 2025-03-31 23:59:59 JST\n"
        "\n"
        "Customer comments:\n"
        "Moving back home."
    )

    # When the outbox is delivered: one Salesforce call creates the Case and updates the Opportunity
    deliver_one_call(systems)

    case.refresh_from_db()
    remote_case = sf_record(systems, "Case", case.salesforce_id)
    assert {
        name: remote_case[name]
        for name in ("AccountId", "OpportunityId", "Type", "Subject", "Origin", "Status", "Description")
    } == {
        "AccountId": user.id_mapping.salesforce_account_id,
        "OpportunityId": opportunity.salesforce_id,
        "Type": "Cancellation Request",
        "Subject": "Cancellation Request - SonixNet Home 1G",
        "Origin": "Portal",
        "Status": "New",
        "Description": case.description,
    }
    remote_opportunity = sf_record(systems, "Opportunity", opportunity.salesforce_id)
    assert remote_opportunity["StageName"] == "△Cancelling"
    assert remote_opportunity["CancellationNotice__c"] == "有"
    assert remote_opportunity["ScheduledCancellationDateAndTime__c"] == "2025-03-31T14:59:59.000+0000"
    assert remote_opportunity["LineReturn__c"] == "NotYet"
    assert remote_opportunity["SIMCancellationNotice__c"] is None  # never written: the org reads null


def test_a_sim_cancellation_sets_the_sim_fields_and_no_line_return(systems: EmulatorSuite) -> None:
    user, service, opportunity = customer_with_service(systems, product_type=ProductType.SIM, name="SIM 20GB")

    response = cancel(api_for(user), service)

    assert response.status_code == 201, response.json()
    assert response.json()["scheduled_for"] == "2025-03-31"
    opportunity.refresh_from_db()
    assert opportunity.stage == OpportunityStage.CANCELLING
    assert opportunity.sim_cancellation_notice == CancellationNotice.GIVEN
    assert opportunity.sim_scheduled_cancellation_at == END_OF_MARCH_UTC
    assert opportunity.cancellation_notice == ""
    assert opportunity.scheduled_cancellation_at is None
    assert opportunity.line_return_status == ""
    case = Case.objects.get()
    assert case.subject == "Cancellation Request - SIM 20GB"
    assert case.description.endswith("Customer comments:\n(none)")

    deliver_one_call(systems)

    remote = sf_record(systems, "Opportunity", opportunity.salesforce_id)
    assert remote["StageName"] == "△Cancelling"
    assert remote["SIMCancellationNotice__c"] == "有"
    assert remote["SIMScheduledCancellationDateAndTime__c"] == "2025-03-31T14:59:59.000+0000"
    assert remote["LineReturn__c"] is None  # never written: the org reads null
    assert remote["CancellationNotice__c"] is None
    case.refresh_from_db()
    assert sf_record(systems, "Case", case.salesforce_id)["OpportunityId"] == remote["Id"]


@pytest.mark.parametrize(
    ("requested_at", "scheduled_for", "month"),
    [
        (datetime.datetime(2025, 3, 24, 23, 59, tzinfo=JST), "2025-03-31", "2025-03"),
        (datetime.datetime(2025, 3, 25, 0, 0, tzinfo=JST), "2025-04-30", "2025-04"),
        # 15:30 UTC on the 24th is already the 25th in Japan
        (datetime.datetime(2025, 3, 24, 15, 30, tzinfo=datetime.UTC), "2025-04-30", "2025-04"),
        (datetime.datetime(2025, 12, 26, 9, 0, tzinfo=JST), "2026-01-31", "2026-01"),
        (datetime.datetime(2024, 1, 28, 9, 0, tzinfo=JST), "2024-02-29", "2024-02"),
    ],
)
def test_the_25th_rule_decides_the_cancellation_month(
    systems: EmulatorSuite,
    frozen_now: list[datetime.datetime],
    requested_at: datetime.datetime,
    scheduled_for: str,
    month: str,
) -> None:
    user, service, opportunity = customer_with_service(systems)
    frozen_now[0] = requested_at

    response = cancel(api_for(user), service)

    assert response.status_code == 201
    assert (response.json()["scheduled_for"], response.json()["cancellation_month"]) == (scheduled_for, month)
    opportunity.refresh_from_db()
    assert opportunity.scheduled_cancellation_at is not None
    assert (
        opportunity.scheduled_cancellation_at.astimezone(JST).isoformat() == f"{scheduled_for}T23:59:59+09:00"
    )


def test_the_customer_is_notified_once(systems: EmulatorSuite) -> None:
    user, service, _ = customer_with_service(systems)
    api = api_for(user)

    cancel(api, service)
    cancel(api, service)  # refused: already cancelling

    notification = Notification.objects.get(user=user)
    assert notification.type == NotificationType.CANCELLATION_SCHEDULED
    assert notification.source == NotificationSource.PORTAL
    assert notification.source_id == "5001"
    assert notification.context == {"service_name": "SonixNet Home 1G", "scheduled_date": "2025-03-31"}
    assert notification.title == "Cancellation scheduled"
    assert notification.created_at == MARCH_10


def test_a_second_request_while_cancelling_is_refused(systems: EmulatorSuite) -> None:
    user, service, _ = customer_with_service(systems)
    api = api_for(user)
    assert cancel(api, service).status_code == 201

    response = cancel(api, service, comments="again")

    assert response.status_code == 409
    assert (error_code(response), error_message(response)) == (
        "cancellation_already_requested",
        "Cancellation of this service has already been requested.",
    )
    assert Case.objects.count() == 1
    assert OutboxEntry.objects.count() == 1


def test_a_vpn_service_cannot_be_cancelled_online(systems: EmulatorSuite) -> None:
    user, service, opportunity = customer_with_service(
        systems, product_type=ProductType.VPN, name="VPN Router"
    )

    response = cancel(api_for(user), service)

    assert response.status_code == 400
    assert (error_code(response), error_message(response)) == (
        "cancellation_not_supported",
        "This service cannot be cancelled online. Please contact support.",
    )
    opportunity.refresh_from_db()
    assert opportunity.stage == OpportunityStage.ACTIVE
    assert not Case.objects.exists()


@pytest.mark.parametrize("status", [WhmcsService.Status.SUSPENDED, WhmcsService.Status.CANCELLED])
def test_only_an_active_service_can_be_cancelled(systems: EmulatorSuite, status: str) -> None:
    user, service, _ = customer_with_service(systems, status=status)

    response = cancel(api_for(user), service)

    assert response.status_code == 400
    assert (error_code(response), error_message(response)) == (
        "service_not_active",
        "Only active services can be cancelled.",
    )
    assert not OutboxEntry.objects.exists()


def test_a_service_without_an_opportunity_needs_support(systems: EmulatorSuite) -> None:
    user, service, opportunity = customer_with_service(systems)
    Opportunity.objects.filter(pk=opportunity.pk).update(whmcs_service_id=None)

    response = cancel(api_for(user), service)

    assert response.status_code == 409
    assert (error_code(response), error_message(response)) == (
        "cancellation_unavailable",
        "We cannot process this cancellation online. Please contact support.",
    )
    assert not Case.objects.exists()
    assert not Notification.objects.exists()


def test_another_customers_service_is_not_found(systems: EmulatorSuite) -> None:
    _, service, opportunity = customer_with_service(systems)

    response = cancel(api_for(CustomerFactory.create()), service)

    assert response.status_code == 404
    assert (error_code(response), error_message(response)) == ("not_found", "Not found.")
    opportunity.refresh_from_db()
    assert opportunity.stage == OpportunityStage.ACTIVE


def test_an_unknown_service_is_not_found(systems: EmulatorSuite) -> None:
    response = cancel(api_for(CustomerFactory.create()), 999999)

    assert response.status_code == 404


def test_a_cancellation_needs_a_signed_in_customer(systems: EmulatorSuite) -> None:
    _, service, _ = customer_with_service(systems)

    response = cancel(api_for(None), service)

    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"confirm": False}, {"confirm": ["Please confirm the cancellation."]}),
        ({}, {"confirm": ["This field is required."]}),
        (
            {"confirm": True, "comments": "x" * 2001},
            {"comments": ["Ensure this field has no more than 2000 characters."]},
        ),
    ],
)
def test_the_request_must_be_confirmed_and_short(
    systems: EmulatorSuite, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    user, service, _ = customer_with_service(systems)

    response = api_for(user).post(url(service), body, format="json")

    assert response.status_code == 400
    assert field_messages(response) == expected
    assert not Case.objects.exists()


def test_a_cancellation_is_accepted_while_salesforce_is_down(systems: EmulatorSuite) -> None:
    user, service, opportunity = customer_with_service(systems)
    systems.salesforce.fail_next(5, status=503, error_code="SERVER_UNAVAILABLE", path_prefix="/services/data")

    response = cancel(api_for(user), service)
    first = outbox_deliver_due()

    assert response.status_code == 201
    assert first.retrying == [OutboxEntry.objects.get().pk]
    assert systems.salesforce.store.find_records("Case") == []

    systems.salesforce.clear_faults()
    OutboxEntry.objects.update(next_attempt_at=datetime.datetime.now(tz=datetime.UTC))
    deliver_one_call(systems)
    assert sf_record(systems, "Opportunity", opportunity.salesforce_id)["StageName"] == ("△Cancelling")
    assert len(systems.salesforce.store.find_records("Case")) == 1


def test_the_subscription_shows_the_cancellation_afterwards(systems: EmulatorSuite) -> None:
    user, service, _ = customer_with_service(systems)
    api = api_for(user)
    cancel(api, service)

    body = api.get(f"/api/subscriptions/{service.pk}").json()

    assert body["cancellation"] == {
        "stage": "cancelling",
        "scheduled_at": "2025-03-31T23:59:59+09:00",
        "line_return_status": "not_yet",
    }
