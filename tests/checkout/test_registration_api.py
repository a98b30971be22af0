"""Registration during checkout."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import IdMapping, RegistrationSource
from apps.catalog.models import ProductType
from apps.integrations.outbox import outbox_deliver_due
from apps.opportunities.models import Opportunity, OpportunityStage
from emulators import EmulatorSuite
from tests.helpers import field_messages
from tests.scenarios import SIGNUP

pytestmark = pytest.mark.django_db


def test_rule_sim_opportunities_are_created_at_post_processing_by_checkout_registration(
    systems: EmulatorSuite, django_capture_on_commit_callbacks: Any
) -> None:
    api = APIClient()

    with django_capture_on_commit_callbacks(execute=False):
        response = api.post("/api/checkout/registration", {**SIGNUP, "order_type": "sim"}, format="json")
    report = outbox_deliver_due()

    assert response.status_code == 201, response.json()
    assert response.json()["registration_source"] == RegistrationSource.PORTAL_CHECKOUT
    mapping = IdMapping.objects.get()
    account = systems.salesforce.store.get_record("Account", mapping.salesforce_account_id)
    assert account["Portal_Registration_Source__c"] == "Portal Checkout"
    assert account["WH_Account__c"] == str(mapping.whmcs_client_id)
    opportunity = Opportunity.objects.get()
    assert opportunity.product_type == ProductType.SIM
    assert opportunity.stage == OpportunityStage.POST_PROCESSING
    assert opportunity.salesforce_id is not None
    remote = systems.salesforce.store.get_record("Opportunity", opportunity.salesforce_id)
    assert remote["AccountId"] == mapping.salesforce_account_id
    assert remote["StageName"] == "Post Processing"
    assert remote["Application_Stage__c"] == "INTRO-1"
    assert remote["CommodityType"] == "SIM"
    assert remote["Opportunity_Source__c"] == "Portal - Order Placement"
    assert report.api_calls == 1
    assert systems.salesforce.counters()["total"] == 2
    assert api.get("/api/me").status_code == 200


@pytest.mark.parametrize("order_type", ["internet", "vpn"])
def test_other_checkouts_open_no_opportunity_yet(systems: EmulatorSuite, order_type: str) -> None:
    response = APIClient().post(
        "/api/checkout/registration", {**SIGNUP, "order_type": order_type}, format="json"
    )

    assert response.status_code == 201
    assert not Opportunity.objects.exists()


def test_an_unknown_order_type_is_refused(systems: EmulatorSuite) -> None:
    response = APIClient().post("/api/checkout/registration", {**SIGNUP, "order_type": "tv"}, format="json")

    assert response.status_code == 400
    assert field_messages(response) == {"order_type": ['"tv" is not a valid choice.']}
    assert systems.salesforce.counters()["total"] == 0
