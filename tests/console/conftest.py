"""Agents and supervisors for the console tests, and customers waiting in its queues; customers
have a Salesforce Account in the emulator (``make_customer``), so decisions can be delivered and
checked there."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import EligibilityStatus, IdVerificationStatus, User
from apps.opportunities.models import Case, CaseStatus, CaseType
from apps.verification.models import EligibilityRequest, ResidenceCardSubmission
from emulators import EmulatorSuite
from tests.factories import (
    AgentFactory,
    CaseFactory,
    EligibilityRequestFactory,
    ResidenceCardSubmissionFactory,
)
from tests.helpers import MakeCustomer, account_id_of


def order_url(name: str, pk: int) -> str:
    """A page or action of the order approval queue for the order ``pk``."""
    return reverse(f"admin:console_orderapprovalqueueitem_{name}", args=[pk])


@pytest.fixture
def agent(db: None) -> User:
    return AgentFactory(first_name="Aoi", last_name="Tanaka")


@pytest.fixture
def supervisor(db: None) -> User:
    return AgentFactory(console_group="Supervisors", first_name="Ren", last_name="Kato")


@pytest.fixture
def agent_client(agent: User) -> Client:
    client = Client()
    client.force_login(agent)
    return client


@pytest.fixture
def supervisor_client(supervisor: User) -> Client:
    client = Client()
    client.force_login(supervisor)
    return client


def pending_eligibility(
    systems: EmulatorSuite, make_customer: MakeCustomer, *, requested_at: datetime | None = None
) -> tuple[User, EligibilityRequest, Case]:
    """A customer whose eligibility check is pending, as the request service leaves it after the
    outbox delivered: the Case exists in Salesforce and the Account points at it."""
    requested_at = requested_at or timezone.now()
    user = make_customer(
        internet_eligibility_status=EligibilityStatus.PENDING,
        internet_eligibility_requested_at=requested_at,
    )
    account_id = account_id_of(user)
    sf_case = systems.salesforce.store.create_record(
        "Case",
        {"AccountId": account_id, "Subject": "Internet availability check request (Portal)", "Status": "New"},
    )
    systems.salesforce.store.update_record(
        "Account",
        account_id,
        {
            "Internet_Eligibility_Status__c": "Pending",
            "Internet_Eligibility_Case_Id__c": sf_case["Id"],
        },
    )
    case = CaseFactory(
        user=user,
        salesforce_id=sf_case["Id"],
        type=CaseType.ELIGIBILITY_CHECK,
        subject="Internet availability check request (Portal)",
        status=CaseStatus.NEW,
    )
    request = EligibilityRequestFactory(
        user=user, case=case, postal_code="150-0002", city="Shibuya-ku", address_line1="2-21-1 Shibuya"
    )
    user.profile.internet_eligibility_case_id = sf_case["Id"]
    user.profile.save(update_fields=["internet_eligibility_case_id"])
    return user, request, case


def submitted_card(
    systems: EmulatorSuite, make_customer: MakeCustomer, **submission_fields: object
) -> tuple[User, ResidenceCardSubmission]:
    """A customer whose residence card waits for review (Account status Submitted)."""
    user = make_customer(
        id_verification_status=IdVerificationStatus.SUBMITTED,
        id_verification_submitted_at=timezone.now(),
    )
    systems.salesforce.store.update_record(
        "Account", account_id_of(user), {"Id_Verification_Status__c": "Submitted"}
    )
    submission = ResidenceCardSubmissionFactory(user=user, **submission_fields)
    return user, submission
