"""Seed rules on the internet eligibility check's Opportunity: the request opens it (Introduction,
Application_Stage__c INTRO-1) and links the eligibility Case to it (README, "Salesforce
decisions"); the agent's decision sets it Ready (eligible) or Void (ineligible). Driven through
the customer API, the console and the Salesforce emulator."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from apps.accounts.status_events import account_status_event_apply
from apps.catalog.models import ProductType
from apps.opportunities.models import Case, CaseType, Opportunity, OpportunitySource, OpportunityStage
from emulators import EmulatorSuite
from tests.helpers import MakeCustomer, api_for, deliver_all
from tests.scenarios import ACCOUNT_TOPIC, ADDRESS

pytestmark = pytest.mark.django_db


def sf(systems: EmulatorSuite, sobject: str, record_id: str | None) -> dict[str, Any]:
    assert record_id
    record = systems.salesforce.store.get_record(sobject, record_id)
    assert record is not None
    return record


def requested_check(systems: EmulatorSuite, make_customer: MakeCustomer) -> tuple[User, Opportunity, Case]:
    customer = make_customer()
    response = api_for(customer).post("/api/eligibility-request", ADDRESS, format="json")
    assert response.status_code == 201, response.json()
    report = deliver_all()
    assert report.api_calls == 1
    case = Case.objects.get(user=customer, type=CaseType.ELIGIBILITY_CHECK)
    assert case.opportunity is not None
    return customer, case.opportunity, case


def decide(agent_client: Client, customer: User, decision: str, **fields: str) -> None:
    response = agent_client.post(
        reverse(f"admin:console_eligibilityqueueitem_{decision}", args=[customer.profile.pk]),
        {f"{decision}-{name}": value for name, value in fields.items()},
    )
    assert response.status_code == 302
    deliver_all()


def test_rule_eligibility_case_is_linked_to_the_opportunity_the_request_opens(
    systems: EmulatorSuite, make_customer: MakeCustomer
) -> None:
    customer, opportunity, case = requested_check(systems, make_customer)

    opportunity.refresh_from_db()
    case.refresh_from_db()
    assert (opportunity.product_type, opportunity.stage, opportunity.source) == (
        ProductType.INTERNET,
        OpportunityStage.INTRODUCTION,
        OpportunitySource.ELIGIBILITY_REQUEST,
    )
    remote_opportunity = sf(systems, "Opportunity", opportunity.salesforce_id)
    assert (
        remote_opportunity["AccountId"],
        remote_opportunity["StageName"],
        remote_opportunity["Application_Stage__c"],
        remote_opportunity["Opportunity_Source__c"],
    ) == (
        customer.id_mapping.salesforce_account_id,
        "Introduction",
        "INTRO-1",
        "Portal - Internet Eligibility Request",
    )
    assert sf(systems, "Case", case.salesforce_id)["OpportunityId"] == opportunity.salesforce_id


def test_rule_eligibility_decision_eligible_sets_the_opportunity_ready(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    customer, opportunity, _ = requested_check(systems, make_customer)

    decide(agent_client, customer, "mark_eligible", offering="Home 1G")

    opportunity.refresh_from_db()
    assert opportunity.stage == OpportunityStage.READY
    assert sf(systems, "Opportunity", opportunity.salesforce_id)["StageName"] == "Ready"


def test_rule_eligibility_decision_ineligible_sets_the_opportunity_void(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    customer, opportunity, _ = requested_check(systems, make_customer)

    decide(agent_client, customer, "mark_ineligible", notes="No fibre in this building.")

    opportunity.refresh_from_db()
    assert opportunity.stage == OpportunityStage.VOID
    remote = sf(systems, "Opportunity", opportunity.salesforce_id)
    assert (remote["StageName"], remote["IsClosed"], remote["Probability"]) == ("Void", True, 0)


def test_rule_eligibility_request_again_reuses_the_ready_opportunity(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    # Given an eligible result (Opportunity Ready)
    customer, opportunity, _ = requested_check(systems, make_customer)
    decide(agent_client, customer, "mark_eligible", offering="Home 1G")

    # When the customer moves and asks again
    response = api_for(customer).post("/api/eligibility-request", ADDRESS, format="json")
    assert response.status_code == 201
    deliver_all()

    # Then the same Opportunity is back in Introduction and the new Case is linked to it
    assert Opportunity.objects.filter(user=customer).count() == 1
    opportunity.refresh_from_db()
    assert opportunity.stage == OpportunityStage.INTRODUCTION
    assert sf(systems, "Opportunity", opportunity.salesforce_id)["StageName"] == "Introduction"
    latest = Case.objects.filter(user=customer, type=CaseType.ELIGIBILITY_CHECK).order_by("-pk").first()
    assert latest is not None
    assert sf(systems, "Case", latest.salesforce_id)["OpportunityId"] == opportunity.salesforce_id


@pytest.mark.parametrize(
    ("status", "stage", "remote_stage"),
    [("Eligible", OpportunityStage.READY, "Ready"), ("Ineligible", OpportunityStage.VOID, "Void")],
)
def test_rule_eligibility_decision_made_in_salesforce_moves_the_opportunity_too(
    systems: EmulatorSuite, make_customer: MakeCustomer, status: str, stage: str, remote_stage: str
) -> None:
    # Given a check requested through the API
    customer, opportunity, _ = requested_check(systems, make_customer)

    # When an agent decides it in Salesforce and the status event is handled
    account_id = customer.id_mapping.salesforce_account_id
    systems.salesforce.store.update_record("Account", account_id, {"Internet_Eligibility_Status__c": status})
    account_status_event_apply(payload=systems.bus.decode(systems.bus.events(ACCOUNT_TOPIC)[-1]))
    deliver_all()

    # Then the Opportunity follows, in the portal and in Salesforce
    opportunity.refresh_from_db()
    assert opportunity.stage == stage
    assert sf(systems, "Opportunity", opportunity.salesforce_id)["StageName"] == remote_stage
