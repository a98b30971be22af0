"""Seed rule (flow review, data flow of a residence card submission): the upload opens an ID
Verification Case, origin Portal, on the customer's Account, in the same single Salesforce call."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.integrations.outbox import outbox_deliver_due
from apps.opportunities.models import Case, CaseOrigin, CaseStatus, CaseType
from emulators import EmulatorSuite
from tests.scenarios import png_bytes, upload

pytestmark = pytest.mark.django_db

URL = "/api/verification/residence-card"


def test_rule_id_verification_case_origin_portal_on_residence_card_submission(
    api: APIClient, customer: User, systems: EmulatorSuite
) -> None:
    # When the customer uploads their residence card
    response = api.post(URL, {"file": upload(png_bytes())}, format="multipart")

    # Then an ID Verification Case (origin Portal, New) waits for an agent, in the portal ...
    assert response.status_code == 201, response.json()
    case = Case.objects.get(user=customer)
    assert (case.type, case.origin, case.status, case.subject) == (
        CaseType.ID_VERIFICATION,
        CaseOrigin.PORTAL,
        CaseStatus.NEW,
        "ID verification request (Portal)",
    )

    # ... and in Salesforce, created by the same single call as the card and the Account's fields
    report = outbox_deliver_due()
    assert report.api_calls == 1
    case.refresh_from_db()
    remote = systems.salesforce.store.get_record("Case", case.salesforce_id)
    assert remote is not None
    assert {name: remote[name] for name in ("AccountId", "Type", "Origin", "Status", "Subject")} == {
        "AccountId": customer.id_mapping.salesforce_account_id,
        "Type": "ID Verification",
        "Origin": "Portal",
        "Status": "New",
        "Subject": "ID verification request (Portal)",
    }
    assert "Residence card uploaded through the customer portal" in remote["Description"]


def test_rule_id_verification_case_is_not_shown_as_a_support_ticket(api: APIClient, customer: User) -> None:
    assert api.post(URL, {"file": upload(png_bytes())}, format="multipart").status_code == 201

    response = api.get("/api/support/cases")

    assert response.status_code == 200
    assert response.json()["results"] == []
