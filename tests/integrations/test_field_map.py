from __future__ import annotations

import pytest
from pytest_django.fixtures import Settings

from apps.checkout.models import ActivationStatus
from apps.integrations.salesforce.field_map import DEFAULT_PICKLIST_VALUES, FieldMap, get_field_map
from apps.opportunities.models import (
    OpportunityStage,
)
from tests.helpers import PICKLIST_CHOICES


def test_defaults_follow_the_flow_review() -> None:
    field_map = FieldMap()

    assert field_map.field("Order", "activation_error_code") == "Activation_Error_Code__c"
    assert field_map.field("Order", "activation_error_message") == "Activation_Error_Message__c"
    assert field_map.to_salesforce("Order", "activation_status", ActivationStatus.ACTIVATED) == "Activated"
    assert field_map.to_salesforce("Opportunity", "stage", OpportunityStage.CANCELLING) == "△Cancelling"
    assert field_map.to_salesforce("Opportunity", "stage", OpportunityStage.CANCELLED) == "〇Cancelled"
    assert field_map.to_salesforce("Account", "registration_source", "portal_checkout") == "Portal Checkout"


def test_picklist_values_round_trip() -> None:
    field_map = FieldMap()

    for stage in OpportunityStage:
        sf_value = field_map.to_salesforce("Opportunity", "stage", stage)
        assert field_map.from_salesforce("Opportunity", "stage", sf_value) == stage


def test_an_unknown_picklist_value_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown Salesforce picklist value 'Teleported'"):
        FieldMap().from_salesforce("Opportunity", "stage", "Teleported")


def test_overrides_rename_fields_and_picklist_values(settings: Settings) -> None:
    settings.SALESFORCE = {
        **settings.SALESFORCE,
        "FIELD_MAP_OVERRIDES": {
            "fields": {"Order": {"activation_error_message": "Activation_Error__c"}},
            "picklists": {"Order.activation_status": {"activated": "Provisioned"}},
        },
    }

    field_map = get_field_map()

    assert field_map.field("Order", "activation_error_message") == "Activation_Error__c"
    assert field_map.to_salesforce("Order", "activation_status", "activated") == "Provisioned"
    assert field_map.from_salesforce("Order", "activation_status", "Provisioned") == "activated"


def test_record_translates_attributes_and_clears_empty_picklists() -> None:
    body = FieldMap().record(
        "Account",
        {
            "internet_eligibility_status": "pending",
            "id_verification_status": "",
            "internet_eligibility_notes": "x",
        },
    )

    assert body == {
        "Internet_Eligibility_Status__c": "Pending",
        "Id_Verification_Status__c": None,
        "Internet_Eligibility_Notes__c": "x",
    }


def test_every_choice_the_portal_stores_has_its_picklist_value() -> None:
    field_map = FieldMap()

    assert set(PICKLIST_CHOICES) == set(DEFAULT_PICKLIST_VALUES)
    for key, choices in PICKLIST_CHOICES.items():
        sobject, attribute = key.split(".")
        values = {choice.value for choice in choices if choice.value}
        assert values == set(DEFAULT_PICKLIST_VALUES[key]), key
        for value in values:
            assert (
                field_map.from_salesforce(
                    sobject, attribute, field_map.to_salesforce(sobject, attribute, value)
                )
                == value
            )
