"""Change Data Capture end to end: an agent changes a record in Salesforce (through the emulated
org's REST API, as the Salesforce UI would), the org publishes the change event, the events
subscriber receives it over the Pub/Sub API and the owning app mirrors it; the customer hears of a
decision exactly once, and the portal's own writes do not come back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
from django.conf import settings
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.status_events import account_status_event_apply
from apps.accounts.sync import reconcile_account_statuses
from apps.catalog.models import Product, ProductType
from apps.catalog.tasks import sync_catalog_task
from apps.checkout.models import OrderStatus
from apps.integrations.models import EventReplayCursor
from apps.notifications.models import Notification, NotificationType
from apps.opportunities.models import (
    CaseStatus,
    CaseType,
    CommodityType,
    LineReturnStatus,
    Opportunity,
    OpportunityStage,
)
from apps.opportunities.services import cancellation_line_return_update
from apps.opportunities.tasks import reconcile_opportunities_task
from emulators import EmulatorSuite
from tests.factories import CaseFactory, OpportunityFactory, OrderFactory, WhmcsServiceFactory
from tests.helpers import account_id_of, add_product, api_for, deliver_all, make_customer
from tests.scenarios import republish_last, run_subscriber, seed_cursor

pytestmark = pytest.mark.django_db(transaction=True)

OPPORTUNITY_TOPIC = "/data/OpportunityChangeEvent"
ORDER_TOPIC = "/data/OrderChangeEvent"
CASE_TOPIC = "/data/CaseChangeEvent"
ACCOUNT_TOPIC = "/data/AccountChangeEvent"
STATUS_EVENT_TOPIC = settings.SALESFORCE["ACCOUNT_EVENT_CHANNEL"]


def agent_patch(systems: EmulatorSuite, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
    """``PATCH /services/data/vXX/sobjects/<sobject>/<id>``: an agent's edit in Salesforce."""
    version = settings.SALESFORCE["API_VERSION"]
    response = requests.patch(
        f"{systems.salesforce.base_url}/services/data/v{version}/sobjects/{sobject}/{record_id}",
        json=fields,
        headers={"Authorization": f"Bearer {systems.salesforce.store.issue_token()}"},
        verify=str(systems.salesforce.ca_bundle),
        timeout=10,
    )
    assert response.status_code == 204, response.text


def data_fix(systems: EmulatorSuite, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
    """A change made outside the application server (the emulator's driver API, ``?gap=1``):
    Change Data Capture can only publish a ``GAP_UPDATE`` for it."""
    response = requests.patch(
        f"{systems.salesforce.base_url}/__emulator__/records/{sobject}/{record_id}",
        json=fields,
        params={"gap": "1"},
        verify=str(systems.salesforce.ca_bundle),
        timeout=10,
    )
    assert response.status_code == 200, response.text


def notifications(user: User) -> list[str]:
    return list(Notification.objects.filter(user=user).order_by("created_at").values_list("type", flat=True))


def cancelling_internet(systems: EmulatorSuite) -> tuple[User, Opportunity]:
    """A customer whose internet service is being cancelled, in the portal and in Salesforce."""
    user = make_customer(systems)
    remote = systems.salesforce.store.create_record(
        "Opportunity",
        {
            "AccountId": account_id_of(user),
            "Name": "Home internet",
            "StageName": "△Cancelling",
            "CloseDate": "2026-12-31",
            "LineReturn__c": "NotYet",
        },
    )
    WhmcsServiceFactory.create(
        user=user, whmcs_id=5001, name="SonixNet Home 1G", product_type=ProductType.INTERNET
    )
    opportunity = OpportunityFactory.create(
        user=user,
        salesforce_id=remote["Id"],
        name="Home internet",
        product_type=ProductType.INTERNET,
        commodity_type=CommodityType.PERSONAL_INTERNET,
        stage=OpportunityStage.CANCELLING,
        whmcs_service_id=5001,
        scheduled_cancellation_at=timezone.now() - timedelta(hours=1),
        line_return_status=LineReturnStatus.NOT_YET,
    )
    return user, opportunity


def test_an_agent_cancelling_in_salesforce_completes_the_cancellation_once(systems: EmulatorSuite) -> None:
    # Given a cancellation in progress and the subscriber's position on the Opportunity channel
    user, opportunity = cancelling_internet(systems)
    seed_cursor(systems, OPPORTUNITY_TOPIC)

    # When an agent sets the Opportunity to 〇Cancelled in Salesforce
    assert opportunity.salesforce_id
    agent_patch(systems, "Opportunity", opportunity.salesforce_id, {"StageName": "〇Cancelled"})
    run_subscriber(OPPORTUNITY_TOPIC, 1)

    # Then the mirror follows, the customer has one CANCELLATION_COMPLETE, and the dashboard shows it
    opportunity.refresh_from_db()
    assert opportunity.stage == OpportunityStage.CANCELLED
    assert notifications(user) == [NotificationType.CANCELLATION_COMPLETE]
    summary = api_for(user).get("/api/me/status").json()["summary"]
    assert summary["stats"]["unread_notifications"] == 1
    assert [item["type"] for item in summary["recent_activity"]] == ["notification"]

    # And the same event delivered again, and the reconciliation reading the record, add nothing
    republish_last(systems, OPPORTUNITY_TOPIC)
    run_subscriber(OPPORTUNITY_TOPIC, 1)
    reconcile_opportunities_task(record_ids=None)
    assert notifications(user) == [NotificationType.CANCELLATION_COMPLETE]


def test_a_line_return_marked_in_salesforce_is_mirrored_without_notification(systems: EmulatorSuite) -> None:
    user, opportunity = cancelling_internet(systems)
    seed_cursor(systems, OPPORTUNITY_TOPIC)
    assert opportunity.salesforce_id

    agent_patch(systems, "Opportunity", opportunity.salesforce_id, {"LineReturn__c": "Returned1"})
    run_subscriber(OPPORTUNITY_TOPIC, 1)

    opportunity.refresh_from_db()
    assert (opportunity.line_return_status, opportunity.stage) == (
        LineReturnStatus.RETURNED_1,
        OpportunityStage.CANCELLING,
    )
    assert notifications(user) == []


def test_the_portals_own_write_is_not_applied_back(systems: EmulatorSuite) -> None:
    # Given the portal recorded "SentKit" and delivered it to Salesforce (a change event follows)
    user, opportunity = cancelling_internet(systems)
    seed_cursor(systems, OPPORTUNITY_TOPIC)
    cancellation_line_return_update(
        opportunity_id=opportunity.pk, line_return_status=LineReturnStatus.SENT_KIT
    )
    deliver_all()
    # And then "Returned1", not delivered yet
    cancellation_line_return_update(
        opportunity_id=opportunity.pk, line_return_status=LineReturnStatus.RETURNED_1
    )

    # When the subscriber receives the change event of the portal's first write
    run_subscriber(OPPORTUNITY_TOPIC, 1)

    # Then it is recognised as the portal's own and the newer local value stays
    opportunity.refresh_from_db()
    assert opportunity.line_return_status == LineReturnStatus.RETURNED_1
    assert EventReplayCursor.objects.get(topic=OPPORTUNITY_TOPIC).events_processed == 1
    assert notifications(user) == []


def test_a_gap_event_re_reads_the_record(systems: EmulatorSuite, eager_celery: None) -> None:
    # Given a cancellation in progress
    user, opportunity = cancelling_internet(systems)
    seed_cursor(systems, OPPORTUNITY_TOPIC)
    assert opportunity.salesforce_id

    # When a data fix outside the application server cancels it (Salesforce publishes GAP_UPDATE)
    data_fix(systems, "Opportunity", opportunity.salesforce_id, {"StageName": "〇Cancelled"})
    assert systems.bus.decode(systems.bus.events(OPPORTUNITY_TOPIC)[-1])["ChangeEventHeader"][
        "changeType"
    ] == ("GAP_UPDATE")
    run_subscriber(OPPORTUNITY_TOPIC, 1)

    # Then the subscriber read the record again and the customer heard of it once
    opportunity.refresh_from_db()
    assert opportunity.stage == OpportunityStage.CANCELLED
    assert notifications(user) == [NotificationType.CANCELLATION_COMPLETE]


def test_a_subscriber_away_longer_than_the_retention_converges_through_reconciliation(
    systems: EmulatorSuite, eager_celery: None
) -> None:
    # Given the subscriber's position and an up-to-date reconciliation, then an agent's
    # cancellation while the subscriber is stopped
    user, opportunity = cancelling_internet(systems)
    seed_cursor(systems, OPPORTUNITY_TOPIC)
    reconcile_opportunities_task(record_ids=None)
    assert opportunity.salesforce_id
    agent_patch(systems, "Opportunity", opportunity.salesforce_id, {"StageName": "〇Cancelled"})

    # When the event log drops that event (retention) before the subscriber comes back, and a
    # later change is still in the log
    systems.bus.set_retention(timedelta(0))
    assert systems.bus.events(OPPORTUNITY_TOPIC) == []
    systems.bus.set_retention(timedelta(hours=72))
    agent_patch(systems, "Opportunity", opportunity.salesforce_id, {"LineReturn__c": "Returned1"})
    run_subscriber(OPPORTUNITY_TOPIC, 1)

    # Then the refused replay ID started the reconciliation, which brought the lost change, and
    # the customer heard of the cancellation once
    opportunity.refresh_from_db()
    assert (opportunity.stage, opportunity.line_return_status) == (
        OpportunityStage.CANCELLED,
        LineReturnStatus.RETURNED_1,
    )
    assert notifications(user) == [NotificationType.CANCELLATION_COMPLETE]


def test_the_periodic_reconciliation_alone_converges(systems: EmulatorSuite) -> None:
    # Given an agent's cancellation the subscriber never receives (no subscriber runs)
    user, opportunity = cancelling_internet(systems)
    reconcile_opportunities_task(record_ids=None)
    assert opportunity.salesforce_id
    agent_patch(systems, "Opportunity", opportunity.salesforce_id, {"StageName": "〇Cancelled"})

    # When beat's reconciliation runs (twice)
    reconcile_opportunities_task(record_ids=None)
    reconcile_opportunities_task(record_ids=None)

    # Then the mirror follows and the customer heard of it once
    opportunity.refresh_from_db()
    assert opportunity.stage == OpportunityStage.CANCELLED
    assert notifications(user) == [NotificationType.CANCELLATION_COMPLETE]


def test_an_order_cancelled_in_salesforce_leaves_the_orders_in_progress(systems: EmulatorSuite) -> None:
    # Given an order waiting for review, in the portal and in Salesforce
    user = make_customer(systems)
    remote = systems.salesforce.store.create_record(
        "Order", {"AccountId": account_id_of(user), "Status": "Pending Review", "EffectiveDate": "2026-12-01"}
    )
    order = OrderFactory.create(user=user, salesforce_id=remote["Id"], status=OrderStatus.PENDING_REVIEW)
    api = api_for(user)
    assert api.get("/api/me/status").json()["summary"]["stats"]["orders_in_progress"] == 1
    seed_cursor(systems, ORDER_TOPIC)

    # When an agent cancels it in Salesforce
    agent_patch(systems, "Order", remote["Id"], {"Status": "Cancelled"})
    run_subscriber(ORDER_TOPIC, 1)

    # Then the mirror and the dashboard follow; the seed has no notification for it
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert api.get("/api/me/status").json()["summary"]["stats"]["orders_in_progress"] == 0
    assert notifications(user) == []


def test_a_case_closed_in_salesforce_is_mirrored(systems: EmulatorSuite) -> None:
    user = make_customer(systems)
    remote = systems.salesforce.store.create_record(
        "Case",
        {"AccountId": account_id_of(user), "Subject": "Router", "Status": "New", "Origin": "Portal Website"},
    )
    case = CaseFactory.create(
        user=user, salesforce_id=remote["Id"], type=CaseType.GENERAL_INQUIRY, status=CaseStatus.NEW
    )
    seed_cursor(systems, CASE_TOPIC)

    agent_patch(systems, "Case", remote["Id"], {"Status": "Closed"})
    run_subscriber(CASE_TOPIC, 1)

    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    assert notifications(user) == []


def test_an_account_status_changed_in_salesforce_is_mirrored(systems: EmulatorSuite) -> None:
    user = make_customer(systems, account={"Internet_Eligibility_Status__c": "Pending"})
    seed_cursor(systems, ACCOUNT_TOPIC)

    agent_patch(
        systems,
        "Account",
        account_id_of(user),
        {"Internet_Eligibility_Status__c": "Eligible", "Internet_Eligibility__c": "Home 1G"},
    )
    run_subscriber(ACCOUNT_TOPIC, 1)

    status = api_for(user).get("/api/me/status").json()["internet_eligibility"]
    assert (status["status"], status["offering"]) == ("eligible", "Home 1G")


def test_a_decision_every_event_missed_is_told_once_by_the_account_reconciliation(
    systems: EmulatorSuite,
) -> None:
    # Given an agent's eligibility decision in Salesforce while the subscriber was away longer
    # than the event retention (neither its change event nor its status event was handled)
    user = make_customer(systems, account={"Internet_Eligibility_Status__c": "Pending"})
    agent_patch(
        systems,
        "Account",
        account_id_of(user),
        {"Internet_Eligibility_Status__c": "Eligible", "Internet_Eligibility__c": "Home 1G"},
    )
    late_status_event = systems.bus.decode(systems.bus.events(STATUS_EVENT_TOPIC)[-1])

    # When the reconciliation reads the Account, twice
    reconcile_account_statuses()
    reconcile_account_statuses()

    # Then the dashboard shows the decision and the customer is told once
    status = api_for(user).get("/api/me/status").json()["internet_eligibility"]
    assert (status["status"], status["offering"]) == ("eligible", "Home 1G")
    assert notifications(user) == [NotificationType.ELIGIBILITY_ELIGIBLE]

    # And the status event, redelivered late, tells nothing more
    account_status_event_apply(payload=late_status_event)
    assert notifications(user) == [NotificationType.ELIGIBILITY_ELIGIBLE]


def test_a_decision_told_by_its_status_event_is_not_told_again_by_the_reconciliation(
    systems: EmulatorSuite,
) -> None:
    user = make_customer(systems, account={"Id_Verification_Status__c": "Submitted"})
    agent_patch(systems, "Account", account_id_of(user), {"Id_Verification_Status__c": "Verified"})
    account_status_event_apply(payload=systems.bus.decode(systems.bus.events(STATUS_EVENT_TOPIC)[-1]))

    reconcile_account_statuses(full=True)

    assert notifications(user) == [NotificationType.VERIFICATION_VERIFIED]


def test_a_product_changed_in_salesforce_reaches_the_catalog(
    systems: EmulatorSuite, eager_celery: None
) -> None:
    # Given a product the catalog mirrors
    product_id = add_product(systems)
    sync_catalog_task()
    seed_cursor(systems, "/data/Product2ChangeEvent")

    # When an agent renames it in Salesforce
    agent_patch(systems, "Product2", product_id, {"Name": "SonixNet Home 10G"})
    run_subscriber("/data/Product2ChangeEvent", 1)

    # Then the catalog sync ran after the event and the mirror has the new name
    assert Product.objects.get(salesforce_id=product_id).name == "SonixNet Home 10G"


def test_the_reconciliation_holds_back_a_record_the_portal_still_owes_salesforce(
    systems: EmulatorSuite,
) -> None:
    # Given the portal recorded "SentKit", not delivered yet, and an agent renamed the Opportunity
    user, opportunity = cancelling_internet(systems)
    reconcile_opportunities_task(record_ids=None)
    assert opportunity.salesforce_id
    cancellation_line_return_update(
        opportunity_id=opportunity.pk, line_return_status=LineReturnStatus.SENT_KIT
    )
    agent_patch(systems, "Opportunity", opportunity.salesforce_id, {"Name": "Home internet (moved)"})

    # When the reconciliation reads the record, which still says "NotYet"
    reconcile_opportunities_task(record_ids=None)

    # Then the portal's newer value stays; once delivered, the next run agrees with Salesforce
    opportunity.refresh_from_db()
    assert opportunity.line_return_status == LineReturnStatus.SENT_KIT
    deliver_all()
    reconcile_opportunities_task(record_ids=None)
    opportunity.refresh_from_db()
    assert opportunity.line_return_status == LineReturnStatus.SENT_KIT
    assert (
        systems.salesforce.store.get_record("Opportunity", opportunity.salesforce_id)["LineReturn__c"]
        == "SentKit"
    )
    assert notifications(user) == []
