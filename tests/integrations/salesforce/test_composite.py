"""Composite and sObject Collections: one customer action, one Salesforce API call."""

from __future__ import annotations

import pytest

from apps.integrations.salesforce.exceptions import SalesforceCollectionError, SalesforceCompositeError
from apps.integrations.salesforce.gateway import CompositeSubrequest, SalesforceGateway, SaveResult
from emulators.salesforce.http_server import SalesforceRestEmulator


def _registration(case_subject: str | None = "Internet eligibility check") -> list[CompositeSubrequest]:
    case_fields = {"AccountId": "@{refAccount.id}", "ContactId": "@{refContact.id}", "Origin": "Web"}
    if case_subject is not None:
        case_fields["Subject"] = case_subject
    return [
        CompositeSubrequest.create(
            "Account", "refAccount", {"Name": "Yamada Hanako", "Portal_Status__c": "Active"}
        ),
        CompositeSubrequest.create(
            "Contact",
            "refContact",
            {"AccountId": "@{refAccount.id}", "LastName": "Yamada", "FirstName": "Hanako"},
        ),
        CompositeSubrequest.create("Case", "refCase", case_fields),
    ]


def test_composite_creates_account_contact_and_case_in_one_api_call(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    # When
    result = gateway.composite(_registration())

    # Then
    account_id, contact_id, case_id = (result[ref].id for ref in ("refAccount", "refContact", "refCase"))
    assert result.ok is True
    assert [response.status_code for response in result.responses.values()] == [201, 201, 201]
    assert (
        result["refAccount"].http_headers["Location"] == f"/services/data/v59.0/sobjects/Account/{account_id}"
    )
    assert salesforce.counters()["composite"] == 1
    assert salesforce.counters()["total"] == 1
    assert gateway.calls_made == 1
    contact = salesforce.store.get_record("Contact", str(contact_id))
    case = salesforce.store.get_record("Case", str(case_id))
    assert contact is not None
    assert case is not None
    assert contact["AccountId"] == account_id
    assert contact["Name"] == "Hanako Yamada"
    assert (case["AccountId"], case["ContactId"], case["Subject"]) == (
        account_id,
        contact_id,
        "Internet eligibility check",
    )


def test_composite_references_into_query_results_and_urls(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    # Given
    account = salesforce.store.create_record("Account", Name="Lookup Me")

    # When
    result = gateway.composite(
        [
            CompositeSubrequest.query("SELECT Id FROM Account WHERE Name = 'Lookup Me'", "refQuery"),
            CompositeSubrequest(
                "PATCH", "sobjects/Account/@{refQuery.records[0].Id}", "refUpdate", {"Phone": "0120-000-000"}
            ),
        ]
    )

    # Then
    assert result["refQuery"].body["totalSize"] == 1
    assert result["refUpdate"].status_code == 204
    updated = salesforce.store.get_record("Account", account["Id"])
    assert updated is not None
    assert updated["Phone"] == "0120-000-000"


def test_all_or_none_failure_rolls_everything_back(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    # Given: the Contact has no LastName
    steps = _registration()
    steps[1] = CompositeSubrequest.create("Contact", "refContact", {"AccountId": "@{refAccount.id}"})

    # When
    with pytest.raises(SalesforceCompositeError) as caught:
        gateway.composite(steps, all_or_none=True)

    # Then
    error = caught.value
    assert error.error_code == "REQUIRED_FIELD_MISSING"
    assert error.retryable is False
    assert [(sub.reference_id, sub.status, sub.error_code) for sub in error.sub_errors] == [
        ("refAccount", 400, "PROCESSING_HALTED"),
        ("refContact", 400, "REQUIRED_FIELD_MISSING"),
        ("refCase", 400, "PROCESSING_HALTED"),
    ]
    assert error.sub_errors[1].errors[0].fields == ("LastName",)
    assert salesforce.store.find_records("Account") == []
    assert salesforce.store.find_records("Contact") == []
    assert salesforce.store.find_records("Case") == []
    assert salesforce.counters()["composite"] == 1


def test_without_all_or_none_independent_steps_commit(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    # Given: the Contact fails, the Case depends on it
    steps = _registration()
    steps[1] = CompositeSubrequest.create("Contact", "refContact", {"AccountId": "@{refAccount.id}"})

    # When
    result = gateway.composite(steps, all_or_none=False)

    # Then
    assert result.ok is False
    assert [response.status_code for response in result.responses.values()] == [201, 400, 400]
    assert [failure.error_code for failure in result.failures] == [
        "REQUIRED_FIELD_MISSING",
        "PROCESSING_HALTED",
    ]
    assert [record["Id"] for record in salesforce.store.find_records("Account")] == [result["refAccount"].id]
    assert salesforce.store.find_records("Case") == []


def test_composite_accepts_at_most_25_subrequests(gateway: SalesforceGateway) -> None:
    steps = [
        CompositeSubrequest.create("Account", f"ref{index}", {"Name": str(index)}) for index in range(26)
    ]

    with pytest.raises(ValueError, match="at most 25"):
        gateway.composite(steps)
    assert gateway.calls_made == 0


def test_collection_create_and_update(gateway: SalesforceGateway, salesforce: SalesforceRestEmulator) -> None:
    # When
    created = gateway.collection_create(
        [
            {"attributes": {"type": "Product2"}, "Name": "Fiber 1G", "ProductCode": "FIBER-1G"},
            {"attributes": {"type": "Product2"}, "Name": "SIM 5GB", "ProductCode": "SIM-5GB"},
        ]
    )
    ids = [result.id for result in created]
    updated = gateway.collection_update(
        [
            {"attributes": {"type": "Product2"}, "id": ids[0], "IsActive": True},
            {"attributes": {"type": "Product2"}, "id": ids[1], "IsActive": True},
        ]
    )

    # Then
    assert [result.success for result in created] == [True, True]
    assert updated == [SaveResult(id=ids[0], success=True), SaveResult(id=ids[1], success=True)]
    assert [record["IsActive"] for record in salesforce.store.find_records("Product2")] == [True, True]
    assert salesforce.counters()["collections"] == 2
    assert gateway.calls_made == 2


def test_collection_partial_success_without_all_or_none(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    results = gateway.collection_create(
        [
            {"attributes": {"type": "Account"}, "Name": "Good"},
            {"attributes": {"type": "Account"}, "Phone": "1"},
        ]
    )

    assert results[0].success is True
    assert results[1].success is False
    assert results[1].errors[0].error_code == "REQUIRED_FIELD_MISSING"
    assert [record["Name"] for record in salesforce.store.find_records("Account")] == ["Good"]


def test_collection_all_or_none_rolls_back(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    with pytest.raises(SalesforceCollectionError) as caught:
        gateway.collection_create(
            [
                {"attributes": {"type": "Account"}, "Name": "Good"},
                {"attributes": {"type": "Account"}, "Phone": "1"},
            ],
            all_or_none=True,
        )

    results = caught.value.results
    assert caught.value.error_code == "REQUIRED_FIELD_MISSING"
    assert [r.errors[0].error_code for r in results] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "REQUIRED_FIELD_MISSING",
    ]
    assert salesforce.store.find_records("Account") == []


def test_collection_delete(gateway: SalesforceGateway, salesforce: SalesforceRestEmulator) -> None:
    first, second = salesforce.store.create_records("Account", [{"Name": "A"}, {"Name": "B"}])

    results = gateway.collection_delete([first["Id"], second["Id"]])

    assert [result.success for result in results] == [True, True]
    assert salesforce.store.find_records("Account") == []
