"""Seed rule: the ID Verification Case a residence card upload opens (origin Portal) is closed
with the agent's decision, in the same Salesforce call as the Account's verification fields."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from apps.integrations.models import OutboxEntry
from apps.opportunities.models import Case, CaseStatus, CaseType
from apps.verification.models import RejectionReason, ResidenceCardSubmission
from emulators import EmulatorSuite
from tests.helpers import MakeCustomer, api_for, deliver_all
from tests.scenarios import png_bytes, upload

pytestmark = pytest.mark.django_db


def test_rule_id_verification_case_is_opened_by_the_upload_and_closed_by_the_decision(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    # Given a customer's residence card, uploaded through the API and delivered to Salesforce
    customer = make_customer()
    api: APIClient = api_for(customer)
    assert (
        api.post(
            "/api/verification/residence-card", {"file": upload(png_bytes())}, format="multipart"
        ).status_code
        == 201
    )
    deliver_all()
    case = Case.objects.get(user=customer, type=CaseType.ID_VERIFICATION)
    assert case.salesforce_id
    submission = ResidenceCardSubmission.objects.get(user=customer)

    # When an agent verifies it in the console
    response = agent_client.post(
        reverse("admin:console_idverificationqueueitem_verify", args=[submission.pk]),
        {"verify-name_matches": "on", "verify-document_valid": "on", "verify-not_expired": "on"},
    )

    # Then the Case is closed, in the portal and (one call with the Account) in Salesforce
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    calls_before = systems.salesforce.counters()["total"]
    report = deliver_all()
    assert report.delivered == [OutboxEntry.objects.order_by("-pk").first().pk]  # type: ignore[union-attr]
    assert systems.salesforce.counters()["total"] - calls_before == 1
    remote = systems.salesforce.store.get_record("Case", case.salesforce_id)
    assert remote is not None
    assert remote["Status"] == "Closed"
    account = systems.salesforce.store.get_record("Account", customer.id_mapping.salesforce_account_id)
    assert account is not None
    assert account["Id_Verification_Status__c"] == "Verified"


def test_rule_id_verification_case_is_new_again_when_a_supervisor_reopens_the_decision(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client, supervisor_client: Client
) -> None:
    customer = make_customer()
    response = api_for(customer).post(
        "/api/verification/residence-card", {"file": upload(png_bytes())}, format="multipart"
    )
    assert response.status_code == 201
    submission = ResidenceCardSubmission.objects.get(user=customer)
    agent_client.post(
        reverse("admin:console_idverificationqueueitem_reject", args=[submission.pk]),
        {"reject-reason": RejectionReason.BLURRY, "reject-message": "The photo is blurry."},
    )
    deliver_all()
    case = Case.objects.get(user=customer, type=CaseType.ID_VERIFICATION)
    assert case.status == CaseStatus.CLOSED

    response = supervisor_client.post(
        reverse("admin:console_idverificationqueueitem_reopen", args=[submission.pk]),
        {"reopen-note": "It is readable."},
    )

    assert response.status_code == 302
    deliver_all()
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW
    remote = systems.salesforce.store.get_record("Case", case.salesforce_id)
    assert remote is not None
    assert remote["Status"] == "New"
