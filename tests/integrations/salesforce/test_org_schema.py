"""The emulated org has its own schema: unknown fields (custom ones included) are INVALID_FIELD,
restricted picklists refuse unknown values, and Opportunity stages carry their probability and
closed/won flags, as in the real org."""

from __future__ import annotations

from typing import Any

import pytest

from apps.integrations.salesforce.exceptions import SalesforceErrorDetail, SalesforceMalformedRequest
from apps.integrations.salesforce.field_map import DEFAULT_FIELDS, DEFAULT_PICKLIST_VALUES, FieldMap
from apps.integrations.salesforce.gateway import SalesforceGateway, SaveResult
from emulators.salesforce.http_server import SalesforceRestEmulator
from emulators.salesforce.schema import OBJECT_TYPES


def test_a_misspelled_custom_field_is_refused_with_invalid_field(gateway: SalesforceGateway) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        gateway.create("Account", {"Name": "Sato Hana", "Portal_Stauts__c": "Active"})

    assert caught.value.error_code == "INVALID_FIELD"
    assert caught.value.status == 400
    assert caught.value.retryable is False
    assert caught.value.errors[0].message == "No such column 'Portal_Stauts__c' on sobject of type Account"
    assert caught.value.errors[0].fields == ("Portal_Stauts__c",)


def test_field_names_are_case_insensitive_and_stored_with_the_orgs_spelling(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    account_id = gateway.create("Account", {"name": "Sato Hana", "portal_status__C": "Active"})

    record = salesforce.store.get_record("Account", account_id)
    assert record is not None
    assert (record["Name"], record["Portal_Status__c"]) == ("Sato Hana", "Active")


def test_an_unknown_field_in_a_collection_fails_that_record_only(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    results = gateway.collection_create(
        [
            {"attributes": {"type": "Account"}, "Name": "Good"},
            {"attributes": {"type": "Account"}, "Name": "Bad", "WH_Acount__c": "7"},
        ]
    )

    assert results[0].success is True
    assert results[1] == SaveResult(
        id=None,
        success=False,
        errors=(
            SalesforceErrorDetail(
                "INVALID_FIELD", "No such column 'WH_Acount__c' on sobject of type Account", ("WH_Acount__c",)
            ),
        ),
    )
    assert [account["Name"] for account in salesforce.store.find_records("Account")] == ["Good"]


def test_an_agent_cannot_set_a_field_the_org_does_not_have_either(salesforce: SalesforceRestEmulator) -> None:
    with pytest.raises(Exception, match="No such column 'Favourite_Colour__c' on sobject of type Contact"):
        salesforce.store.create_record("Contact", {"LastName": "Sato", "Favourite_Colour__c": "blue"})


@pytest.mark.parametrize(
    ("sobject", "fields", "message", "field"),
    [
        (
            "Opportunity",
            {"Name": "x", "CloseDate": "2026-01-31", "StageName": "Closed Won"},
            "Stage: bad value for restricted picklist field: Closed Won",
            "StageName",
        ),
        (
            "Case",
            {"Subject": "x", "Status": "Resolved"},
            "Status: bad value for restricted picklist field: Resolved",
            "Status",
        ),
    ],
)
def test_a_restricted_picklist_refuses_a_value_outside_its_list(
    gateway: SalesforceGateway, sobject: str, fields: dict[str, Any], message: str, field: str
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        gateway.create(sobject, fields)

    assert caught.value.error_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert caught.value.errors[0].message == message
    assert caught.value.errors[0].fields == (field,)


def test_an_order_status_outside_the_orgs_list_is_refused(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    account = salesforce.store.create_record("Account", {"Name": "Sato Hana"})

    with pytest.raises(SalesforceMalformedRequest) as caught:
        gateway.create(
            "Order", {"AccountId": account["Id"], "EffectiveDate": "2026-01-05", "Status": "Shipped"}
        )

    assert caught.value.error_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert caught.value.errors[0].message == "Status: bad value for restricted picklist field: Shipped"


def test_an_unrestricted_custom_picklist_accepts_a_value_outside_its_list(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    account_id = gateway.create("Account", {"Name": "Sato Hana", "Portal_Status__c": "Suspended"})

    record = salesforce.store.get_record("Account", account_id)
    assert record is not None
    assert record["Portal_Status__c"] == "Suspended"


@pytest.mark.parametrize(
    ("stage", "probability", "closed", "won", "forecast"),
    [
        ("Introduction", 10, False, False, "Pipeline"),
        ("Post Processing", 75, False, False, "Pipeline"),
        ("Active", 90, False, False, "Pipeline"),
        ("△Cancelling", 100, False, False, "Pipeline"),
        ("〇Cancelled", 100, True, True, "Closed"),
        ("Void", 0, True, False, "Omitted"),
    ],
)
def test_each_stage_sets_its_probability_and_closed_won_flags(
    gateway: SalesforceGateway,
    salesforce: SalesforceRestEmulator,
    stage: str,
    probability: int,
    closed: bool,
    won: bool,
    forecast: str,
) -> None:
    opportunity_id = gateway.create(
        "Opportunity", {"Name": "Sato Hana - SIM", "CloseDate": "2026-01-31", "StageName": "Ready"}
    )

    gateway.update("Opportunity", opportunity_id, {"StageName": stage})

    record = salesforce.store.get_record("Opportunity", opportunity_id)
    assert record is not None
    assert (record["Probability"], record["IsClosed"], record["IsWon"], record["ForecastCategoryName"]) == (
        probability,
        closed,
        won,
        forecast,
    )


def test_describe_reports_the_orgs_custom_fields_and_picklists(salesforce: SalesforceRestEmulator) -> None:
    response = salesforce.api.dispatch("GET", "59.0", "sobjects/Opportunity/describe", {}, None, {})

    assert response.status == 200
    describe = response.body
    fields = {item["name"]: item for item in describe["fields"]}
    assert fields["StageName"]["restrictedPicklist"] is True
    assert [value["value"] for value in fields["StageName"]["picklistValues"]] == [
        "Introduction",
        "Ready",
        "Post Processing",
        "Pending",
        "Active",
        "△Cancelling",
        "〇Cancelled",
        "Void",
    ]
    assert fields["LineReturn__c"]["custom"] is True
    assert fields["LineReturn__c"]["restrictedPicklist"] is False
    assert [value["value"] for value in fields["LineReturn__c"]["picklistValues"]] == [
        "NotYet",
        "SentKit",
        "Returned1",
        "Returned2",
    ]
    assert fields["ScheduledCancellationDateAndTime__c"]["type"] == "datetime"
    assert fields["AccountId"]["referenceTo"] == ["Account"]


# --- The portal's field map against the org --------------------------------------------------------


def test_every_field_the_portals_field_map_names_exists_in_the_org() -> None:
    missing = [
        f"{sobject}.{api_name}"
        for sobject, attributes in DEFAULT_FIELDS.items()
        if sobject in OBJECT_TYPES
        for api_name in attributes.values()
        if api_name.lower() not in {name.lower() for name in OBJECT_TYPES[sobject].all_fields}
    ]

    assert missing == []


def test_every_picklist_value_the_portal_writes_is_one_of_the_orgs() -> None:
    field_map = FieldMap()
    unknown = []
    for key, values in DEFAULT_PICKLIST_VALUES.items():
        sobject, attribute = key.split(".")
        declared = OBJECT_TYPES[sobject].field(field_map.field(sobject, attribute))
        assert declared is not None, key
        assert declared.type == "picklist", key
        for portal_value in values:
            value = field_map.to_salesforce(sobject, attribute, portal_value)
            if value is not None and value not in declared.picklist:
                unknown.append(f"{key}: {value}")

    assert unknown == []


def test_the_global_describe_lists_objects_platform_events_and_change_event_entities(
    salesforce: SalesforceRestEmulator,
) -> None:
    salesforce.store.deselect_change_events("Product2")

    described = salesforce.api.dispatch("GET", "59.0", "sobjects", {}, None, {}).body

    entries = {item["name"]: item for item in described["sobjects"]}
    assert entries["Account"]["queryable"] is True
    assert entries["Account"]["urls"]["describe"] == "/services/data/v59.0/sobjects/Account/describe"
    assert entries["OrderProvisionRequested__e"]["custom"] is True
    assert entries["OrderProvisionRequested__e"]["queryable"] is False
    assert {"AccountChangeEvent", "OpportunityChangeEvent", "OrderChangeEvent", "CaseChangeEvent"} <= set(
        entries
    )
    # Every object that supports change events has its entity, selected or not (as in a real org);
    # the selection is what the Tooling API lists.
    assert "Product2ChangeEvent" in entries
    assert "CaseCommentChangeEvent" not in entries
    members = salesforce.api.dispatch(
        "GET",
        "59.0",
        "tooling/query",
        {"q": "SELECT DeveloperName, SelectedEntity FROM PlatformEventChannelMember"},
        None,
        {},
    ).body["records"]
    assert {member["SelectedEntity"] for member in members} == {
        "AccountChangeEvent",
        "OpportunityChangeEvent",
        "OrderChangeEvent",
        "CaseChangeEvent",
    }
    assert members[0]["DeveloperName"] == "ChangeEvents_AccountChangeEvent"


def test_a_platform_events_describe_lists_its_fields_and_a_removed_one_is_gone(
    salesforce: SalesforceRestEmulator,
) -> None:
    response = salesforce.api.dispatch(
        "GET", "59.0", "sobjects/Account_Internet_Eligibility_Update__e/describe", {}, None, {}
    )
    types = {item["name"]: item["type"] for item in response.body["fields"]}
    assert types["AccountId__c"] == "string"
    assert types["Internet_Eligibility_Checked_Date_Time__c"] == "datetime"

    salesforce.store.remove_platform_event("Account_Internet_Eligibility_Update__e")

    gone = salesforce.api.dispatch(
        "GET", "59.0", "sobjects/Account_Internet_Eligibility_Update__e/describe", {}, None, {}
    )
    assert gone.status == 404
    assert gone.body[0]["errorCode"] == "NOT_FOUND"
