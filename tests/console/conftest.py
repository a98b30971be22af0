"""Agents, supervisors and customers for the console tests; customers have a Salesforce Account
in the emulator, so decisions can be delivered and checked there."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from django.test import Client
from django.utils import timezone

from apps.accounts.models import EligibilityStatus, IdVerificationStatus, User
from apps.opportunities.models import Case, CaseStatus, CaseType
from apps.verification.models import EligibilityRequest, ResidenceCardSubmission
from emulators import EmulatorSuite
from tests.factories import (
    AgentFactory,
    CaseFactory,
    CustomerFactory,
    EligibilityRequestFactory,
    ResidenceCardSubmissionFactory,
)

MakeCustomer = Callable[..., User]


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


@pytest.fixture
def make_customer(systems: EmulatorSuite) -> MakeCustomer:
    def make(**profile_fields: object) -> User:
        account = systems.salesforce.store.create_record("Account", {"Name": "Sato Hana"})
        return CustomerFactory(
            first_name="Hana",
            last_name="Sato",
            id_mapping__salesforce_account_id=account["Id"],
            **{f"profile__{name}": value for name, value in profile_fields.items()},
        )

    return make


@pytest.fixture
def customer(make_customer: MakeCustomer) -> User:
    return make_customer()


def account_id_of(user: User) -> str:
    return user.id_mapping.salesforce_account_id


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


def deliver_all() -> list[int]:
    """Deliver the outbox until nothing is due (entries of one Account go one per run, in order)."""
    from apps.integrations.outbox import outbox_deliver_due

    delivered: list[int] = []
    while True:
        report = outbox_deliver_due()
        if not report.delivered:
            return delivered
        delivered += report.delivered
