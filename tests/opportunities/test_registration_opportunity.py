"""The SIM Opportunity a SIM checkout registration opens, through its owner's service."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import transaction

from apps.accounts.models import User
from apps.catalog.models import ProductType
from apps.integrations.outbox import account_record_key, outbox_deliver_due, outbox_enqueue_salesforce
from apps.opportunities.models import CommodityType, Opportunity, OpportunitySource, OpportunityStage
from apps.opportunities.services import opportunity_match_for_order, sim_opportunity_open_for_registration
from emulators import EmulatorSuite
from tests.helpers import account_id_of

pytestmark = pytest.mark.django_db


def test_a_sim_registration_opens_the_opportunity_its_order_then_finds(
    systems: EmulatorSuite, customer: User
) -> None:
    # Given the registration's transaction opens the SIM Opportunity and queues it
    account_id = account_id_of(customer)
    with transaction.atomic():
        opened = sim_opportunity_open_for_registration(
            user=customer, account_id=account_id, today=date(2026, 4, 1)
        )
        outbox_enqueue_salesforce(
            operation="registration.link_whmcs_client",
            record_key=account_record_key(account_id),
            subrequests=[opened.subrequest],
            write_backs=[opened.write_back],
        )

    # When the outbox delivers it
    report = outbox_deliver_due()

    # Then the portal and Salesforce have the same Opportunity, in Post Processing
    opportunity = Opportunity.objects.get(pk=opened.opportunity.pk)
    assert report.api_calls == 1
    assert (
        opportunity.name,
        opportunity.product_type,
        opportunity.stage,
        opportunity.commodity_type,
        opportunity.source,
        opportunity.close_date,
    ) == (
        "Sato Hana - SIM",
        ProductType.SIM,
        OpportunityStage.POST_PROCESSING,
        CommodityType.SIM,
        OpportunitySource.ORDER_PLACEMENT,
        date(2026, 4, 1),
    )
    record = systems.salesforce.store.get_record("Opportunity", opportunity.salesforce_id)
    assert record is not None
    assert (
        record["AccountId"],
        record["Name"],
        record["StageName"],
        record["CommodityType"],
        record["Application_Stage__c"],
    ) == (account_id, "Sato Hana - SIM", "Post Processing", "SIM", "INTRO-1")

    # And the SIM order placed next joins it
    with transaction.atomic():
        match = opportunity_match_for_order(
            user=customer, account_id=account_id, product_type=ProductType.SIM, today=date(2026, 4, 2)
        )
    assert (match.opportunity.pk, match.created) == (opportunity.pk, False)
