"""The database guarantee behind order matching: one open Opportunity per customer and product
type (VPN exempt), whatever code writes the rows."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from apps.catalog.models import ProductType
from apps.opportunities.models import CommodityType, OpportunityStage
from tests.factories import OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "stage", [OpportunityStage.INTRODUCTION, OpportunityStage.READY, OpportunityStage.POST_PROCESSING]
)
def test_a_second_open_opportunity_of_one_type_is_refused(stage: str) -> None:
    user = UserFactory.create()
    OpportunityFactory.create(user=user, stage=OpportunityStage.READY)

    with pytest.raises(IntegrityError), transaction.atomic():
        OpportunityFactory.create(user=user, stage=stage)


def test_closed_active_and_other_customers_opportunities_do_not_count() -> None:
    user = UserFactory.create()
    OpportunityFactory.create(user=user, stage=OpportunityStage.READY)

    for stage in (
        OpportunityStage.ACTIVE,
        OpportunityStage.CANCELLING,
        OpportunityStage.CANCELLED,
        OpportunityStage.VOID,
    ):
        OpportunityFactory.create(user=user, stage=stage)
    OpportunityFactory.create(
        user=user,
        product_type=ProductType.SIM,
        commodity_type=CommodityType.SIM,
        stage=OpportunityStage.READY,
    )
    OpportunityFactory.create(stage=OpportunityStage.READY)

    assert user.opportunities.count() == 6


def test_vpn_opportunities_may_be_open_side_by_side() -> None:
    user = UserFactory.create()

    for _ in range(2):
        OpportunityFactory.create(
            user=user,
            product_type=ProductType.VPN,
            commodity_type=CommodityType.VPN,
            stage=OpportunityStage.POST_PROCESSING,
        )

    assert user.opportunities.count() == 2
