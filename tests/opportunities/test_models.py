from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from apps.opportunities.models import CLOSED_STAGES, OPEN_STAGES, OpportunityStage
from tests.factories import CaseFactory, OpportunityFactory

pytestmark = pytest.mark.django_db


def test_stage_picklist_has_every_value_of_the_seeds() -> None:
    assert [stage.label for stage in OpportunityStage] == [
        "Introduction",
        "Ready",
        "Post Processing",
        "Active",
        "Pending",
        "△Cancelling",
        "〇Cancelled",
        "Void",
    ]
    assert not set(OPEN_STAGES) & set(CLOSED_STAGES)


def test_an_opportunity_may_wait_for_its_salesforce_id() -> None:
    first = OpportunityFactory(salesforce_id=None)
    second = OpportunityFactory(salesforce_id=None)

    assert first.pk != second.pk


def test_a_salesforce_case_is_mirrored_once() -> None:
    case = CaseFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        CaseFactory(salesforce_id=case.salesforce_id)
