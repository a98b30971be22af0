"""Cancellations in the console: the 25th rule and scheduled date, the line return status, and
completing the cancellation (stage 〇Cancelled and one CANCELLATION_COMPLETE notification)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.catalog.models import ProductType
from apps.console.models import AgentDecision, DecisionAction
from apps.notifications.models import Notification, NotificationSource, NotificationType
from apps.opportunities.models import (
    CancellationNotice,
    CaseType,
    CommodityType,
    LineReturnStatus,
    Opportunity,
    OpportunityStage,
)
from emulators import EmulatorSuite
from tests.factories import CaseFactory, OpportunityFactory, WhmcsServiceFactory
from tests.helpers import MakeCustomer, account_id_of, deliver_all

pytestmark = pytest.mark.django_db


def url(name: str, pk: int) -> str:
    return reverse(f"admin:console_cancellationqueueitem_{name}", args=[pk])


def cancelling(
    systems: EmulatorSuite,
    user: User,
    *,
    product_type: str = ProductType.INTERNET,
    scheduled_at: datetime | None = None,
    requested_at: datetime | None = None,
    line_return: str = LineReturnStatus.NOT_YET,
) -> Opportunity:
    sf = systems.salesforce.store.create_record(
        "Opportunity",
        {
            "AccountId": account_id_of(user),
            "Name": "Home internet",
            "StageName": "△Cancelling",
            "CloseDate": "2026-12-31",
        },
    )
    service = WhmcsServiceFactory(user=user, name="SonixNet Home 1G", product_type=product_type)
    scheduled_at = scheduled_at or timezone.now() - timedelta(hours=1)
    internet = product_type == ProductType.INTERNET
    opportunity = OpportunityFactory(
        user=user,
        salesforce_id=sf["Id"],
        name="Home internet",
        product_type=product_type,
        commodity_type=CommodityType.PERSONAL_INTERNET if internet else CommodityType.SIM,
        stage=OpportunityStage.CANCELLING,
        whmcs_service_id=service.whmcs_id,
        cancellation_notice=CancellationNotice.GIVEN if internet else "",
        scheduled_cancellation_at=scheduled_at if internet else None,
        line_return_status=line_return if internet else "",
        sim_cancellation_notice="" if internet else CancellationNotice.GIVEN,
        sim_scheduled_cancellation_at=None if internet else scheduled_at,
    )
    case = CaseFactory(
        user=user,
        opportunity=opportunity,
        type=CaseType.CANCELLATION_REQUEST,
        subject="Cancellation Request - SonixNet Home 1G",
    )
    if requested_at:
        type(case).objects.filter(pk=case.pk).update(created_at=requested_at)
    return opportunity


def test_the_checklist_shows_the_25th_rule_and_the_scheduled_date(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    user = make_customer()
    # Requested on 26 January (Japan): the rule puts the end at the end of February.
    opportunity = cancelling(
        systems,
        user,
        requested_at=datetime(2026, 1, 26, 1, 0, tzinfo=UTC),
        scheduled_at=datetime(2026, 2, 28, 14, 59, 59, tzinfo=UTC),
    )

    page = agent_client.get(url("change", opportunity.pk)).content.decode()

    assert "day 26" in page
    assert "<dd>2026-02-28</dd>" in page
    assert '<dd id="console-scheduled-date">2026-02-28</dd>' in page
    assert "does not follow the 25th rule" not in page
    assert "SonixNet Home 1G" in page
    assert 'id="console-form-line_return"' in page


def test_a_scheduled_date_against_the_rule_is_flagged(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    user = make_customer()
    opportunity = cancelling(
        systems,
        user,
        requested_at=datetime(2026, 1, 26, 1, 0, tzinfo=UTC),
        scheduled_at=datetime(2026, 1, 31, 14, 59, 59, tzinfo=UTC),
    )

    page = agent_client.get(url("change", opportunity.pk)).content.decode()

    assert "The scheduled date does not follow the 25th rule; check it in Salesforce." in page


def test_the_line_return_status_is_written_to_salesforce(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent: User, agent_client: Client
) -> None:
    user = make_customer()
    opportunity = cancelling(systems, user)

    response = agent_client.post(
        url("line_return", opportunity.pk), {"line_return-line_return_status": LineReturnStatus.SENT_KIT}
    )

    assert response.status_code == 302
    opportunity.refresh_from_db()
    assert opportunity.line_return_status == LineReturnStatus.SENT_KIT
    decision = AgentDecision.objects.get()
    assert (decision.action, decision.before, decision.after) == (
        DecisionAction.UPDATE_LINE_RETURN,
        {"line_return_status": "not_yet"},
        {"line_return_status": "sent_kit"},
    )
    deliver_all()
    assert (
        systems.salesforce.store.get_record("Opportunity", opportunity.salesforce_id)["LineReturn__c"]
        == "SentKit"
    )


def test_completion_waits_for_the_equipment_and_the_scheduled_date(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    user = make_customer()
    not_returned = cancelling(systems, user)
    future = cancelling(
        systems,
        make_customer(),
        scheduled_at=timezone.now() + timedelta(days=40),
        line_return=LineReturnStatus.RETURNED_1,
    )

    first = agent_client.post(url("complete", not_returned.pk), {"complete-service_terminated": "on"})
    second = agent_client.post(url("complete", future.pk), {"complete-service_terminated": "on"})

    assert "The equipment has not been returned yet (line return status)." in first.content.decode()
    assert "has not come yet." in second.content.decode()
    assert Opportunity.objects.filter(stage=OpportunityStage.CANCELLED).count() == 0
    assert Notification.objects.count() == 0


def test_complete_cancellation_sets_the_stage_and_notifies_the_customer_once(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    user = make_customer()
    opportunity = cancelling(systems, user, line_return=LineReturnStatus.RETURNED_2)

    response = agent_client.post(url("complete", opportunity.pk), {"complete-service_terminated": "on"})
    again = agent_client.post(url("complete", opportunity.pk), {"complete-service_terminated": "on"})

    assert response.status_code == 302
    assert "This service is not being cancelled (its stage is 〇Cancelled)." in again.content.decode()
    opportunity.refresh_from_db()
    assert opportunity.stage == OpportunityStage.CANCELLED
    deliver_all()
    assert (
        systems.salesforce.store.get_record("Opportunity", opportunity.salesforce_id)["StageName"]
        == "〇Cancelled"
    )
    notification = Notification.objects.get(user=user)
    assert notification.type == NotificationType.CANCELLATION_COMPLETE
    assert notification.source == NotificationSource.PORTAL
    assert notification.source_id == opportunity.salesforce_id
    assert notification.context == {"service_name": "SonixNet Home 1G"}
    assert AgentDecision.objects.get().action == DecisionAction.COMPLETE_CANCELLATION


def test_a_sim_cancellation_has_no_equipment_step(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    user = make_customer()
    opportunity = cancelling(systems, user, product_type=ProductType.SIM)

    page = agent_client.get(url("change", opportunity.pk)).content.decode()
    refused = agent_client.post(
        url("line_return", opportunity.pk), {"line_return-line_return_status": LineReturnStatus.SENT_KIT}
    )
    completed = agent_client.post(url("complete", opportunity.pk), {"complete-service_terminated": "on"})

    assert 'id="console-form-line_return"' not in page
    assert "Only internet services have equipment to return." in refused.content.decode()
    assert completed.status_code == 302
    opportunity.refresh_from_db()
    assert opportunity.stage == OpportunityStage.CANCELLED
