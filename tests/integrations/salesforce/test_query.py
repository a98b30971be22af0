"""SOQL through the gateway: pagination and the operators the portal relies on."""

from __future__ import annotations

from typing import Any

import pytest

from apps.integrations.salesforce.exceptions import SalesforceMalformedRequest
from apps.integrations.salesforce.gateway import SalesforceGateway, _soql_literal
from emulators.salesforce.http_server import SalesforceRestEmulator


@pytest.fixture
def accounts(salesforce: SalesforceRestEmulator) -> dict[str, str]:
    """Five accounts created as an agent would (no API calls), keyed by name, with three custom
    fields the org does not have added to it first, as an administrator would."""
    salesforce.store.add_field("Account", "Active__c", "boolean")
    salesforce.store.add_field("Account", "Signed_Up__c", "datetime")
    salesforce.store.add_field("Account", "Contract_Date__c", "date")
    rows: list[dict[str, Any]] = [
        {
            "Name": "Alpha",
            "NumberOfEmployees": 10,
            "Rating": "Hot",
            "Active__c": True,
            "Signed_Up__c": "2025-01-10T09:00:00.000+0000",
            "Contract_Date__c": "2025-01-10",
        },
        {
            "Name": "Bravo",
            "NumberOfEmployees": 20,
            "Rating": "Warm",
            "Active__c": False,
            "Signed_Up__c": "2025-02-10T09:00:00.000+0000",
            "Contract_Date__c": "2025-02-10",
        },
        {
            "Name": "Charlie",
            "NumberOfEmployees": 30,
            "Rating": None,
            "Active__c": True,
            "Signed_Up__c": "2025-03-10T09:00:00.000+0000",
            "Contract_Date__c": "2025-03-10",
        },
        {
            "Name": "O'Brien",
            "NumberOfEmployees": 40,
            "Rating": "Cold",
            "Active__c": False,
            "Signed_Up__c": None,
            "Contract_Date__c": None,
        },
        {
            "Name": "delta",
            "NumberOfEmployees": None,
            "Rating": "Hot",
            "Active__c": True,
            "Signed_Up__c": "2024-12-31T23:59:59.000+0000",
            "Contract_Date__c": "2024-12-31",
        },
    ]
    return {record["Name"]: record["Id"] for record in salesforce.store.create_records("Account", rows)}


def _names(gateway: SalesforceGateway, where: str) -> list[str]:
    return [
        record["Name"] for record in gateway.query(f"SELECT Name FROM Account WHERE {where} ORDER BY Name")
    ]


def test_query_follows_next_records_url_across_batches(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    # Given
    salesforce.store.create_records("Account", [{"Name": f"Account {index:02d}"} for index in range(10)])

    # When
    records = gateway.query("SELECT Id, Name FROM Account ORDER BY Name", batch_size=3)

    # Then
    assert [record["Name"] for record in records] == [f"Account {index:02d}" for index in range(10)]
    assert salesforce.counters()["query"] == 4
    assert gateway.calls_made == 4


def test_query_iter_is_lazy_page_by_page(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    salesforce.store.create_records("Account", [{"Name": f"Lazy {index}"} for index in range(5)])

    iterator = gateway.query_iter("SELECT Name FROM Account", batch_size=2)
    first = next(iterator)

    assert first["Name"] == "Lazy 0"
    assert salesforce.counters()["query"] == 1
    assert len(list(iterator)) == 4
    assert salesforce.counters()["query"] == 3


def test_default_batch_is_a_single_page(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    salesforce.store.create_records("Account", [{"Name": f"Row {index}"} for index in range(250)])

    records = gateway.query("SELECT Id FROM Account")

    assert len(records) == 250
    assert salesforce.counters()["query"] == 1


@pytest.mark.usefixtures("accounts")
@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Name = 'alpha'", ["Alpha"]),
        ("Name != 'Alpha'", ["Bravo", "Charlie", "delta", "O'Brien"]),
        ("NumberOfEmployees < 20", ["Alpha"]),
        ("NumberOfEmployees > 20", ["Charlie", "O'Brien"]),
        ("NumberOfEmployees <= 20", ["Alpha", "Bravo"]),
        ("NumberOfEmployees >= 30", ["Charlie", "O'Brien"]),
        ("Rating IN ('Hot', 'Cold')", ["Alpha", "delta", "O'Brien"]),
        ("Rating NOT IN ('Hot')", ["Bravo", "Charlie", "O'Brien"]),
        ("Rating = null", ["Charlie"]),
        ("Rating != null AND NumberOfEmployees != null", ["Alpha", "Bravo", "O'Brien"]),
        ("Active__c = true", ["Alpha", "Charlie", "delta"]),
        ("Active__c = false", ["Bravo", "O'Brien"]),
        ("Rating = 'Hot' OR NumberOfEmployees = 20", ["Alpha", "Bravo", "delta"]),
        ("(Rating = 'Hot' OR Rating = 'Warm') AND NumberOfEmployees > 15", ["Bravo"]),
        ("NOT (Rating = 'Hot')", ["Bravo", "Charlie", "O'Brien"]),
        ("Name = 'O\\'Brien'", ["O'Brien"]),
        ("Name LIKE 'Br%'", ["Bravo"]),
        ("Signed_Up__c >= 2025-01-01T00:00:00Z", ["Alpha", "Bravo", "Charlie"]),
        ("Signed_Up__c < 2025-01-10T18:00:01+09:00", ["Alpha", "delta"]),
        ("Signed_Up__c < 2025-01-10T18:00:00+09:00", ["delta"]),
        ("Contract_Date__c > 2025-01-31", ["Bravo", "Charlie"]),
        ("SystemModstamp > 2020-01-01T00:00:00Z", ["Alpha", "Bravo", "Charlie", "delta", "O'Brien"]),
    ],
)
def test_where_operators(gateway: SalesforceGateway, where: str, expected: list[str]) -> None:
    assert _names(gateway, where) == expected


def test_ids_match_in_15_and_18_character_form(gateway: SalesforceGateway, accounts: dict[str, str]) -> None:
    alpha = accounts["Alpha"]

    assert _names(gateway, f"Id IN ({_soql_literal(alpha[:15])}, {_soql_literal(accounts['Bravo'])})") == [
        "Alpha",
        "Bravo",
    ]


@pytest.mark.usefixtures("accounts")
def test_order_by_nulls_limit_and_offset(gateway: SalesforceGateway) -> None:
    descending = gateway.query("SELECT Name FROM Account ORDER BY NumberOfEmployees DESC NULLS FIRST LIMIT 3")
    ascending = gateway.query(
        "SELECT Name FROM Account ORDER BY Rating ASC NULLS LAST, Name DESC LIMIT 2 OFFSET 1"
    )

    assert [record["Name"] for record in descending] == ["delta", "O'Brien", "Charlie"]
    assert [record["Name"] for record in ascending] == ["delta", "Alpha"]


@pytest.mark.usefixtures("accounts")
def test_selected_fields_come_back_with_their_api_names(gateway: SalesforceGateway) -> None:
    records = gateway.query("select name, RATING from account where name = 'Alpha'")

    assert records == [{"Name": "Alpha", "Rating": "Hot"}]


def test_query_all_includes_deleted_records(gateway: SalesforceGateway, accounts: dict[str, str]) -> None:
    gateway.delete("Account", accounts["Bravo"])

    live = gateway.query("SELECT Name FROM Account WHERE Name = 'Bravo'")
    everything = gateway.query(
        "SELECT Name, IsDeleted FROM Account WHERE Name = 'Bravo'", include_deleted=True
    )

    assert live == []
    assert everything == [{"Name": "Bravo", "IsDeleted": True}]


def test_soql_literal_round_trips_awkward_strings(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    name = "Back\\slash 'quote' \"double\"\nline"
    salesforce.store.create_record("Account", Name=name)

    records = gateway.query(f"SELECT Name FROM Account WHERE Name = {_soql_literal(name)}")

    assert records == [{"Name": name}]


@pytest.mark.parametrize(
    ("soql", "error_code"),
    [
        ("SELECT FROM Account", "MALFORMED_QUERY"),
        ("SELECT Id Account", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE Name = 'unterminated", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE Name >", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE Name = 'x' LIMIT many", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE Name = 'bad \\q escape'", "MALFORMED_QUERY"),
        ("SELECT Id, Nmae FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE Bogus = 1", "INVALID_FIELD"),
        ("SELECT Id, Account.Name FROM Contact", "INVALID_FIELD"),
        ("SELECT Id FROM Spaceship", "INVALID_TYPE"),
    ],
)
def test_bad_queries_raise_malformed_request(gateway: SalesforceGateway, soql: str, error_code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        gateway.query(soql)

    assert caught.value.error_code == error_code
    assert caught.value.status == 400
    assert caught.value.retryable is False


def test_a_custom_field_the_org_does_not_have_is_an_invalid_field(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    salesforce.store.create_record("Account", Name="Schemaless")

    with pytest.raises(SalesforceMalformedRequest) as caught:
        gateway.query("SELECT Name, Never_Written__c FROM Account")

    assert caught.value.error_code == "INVALID_FIELD"
    assert "No such column 'Never_Written__c' on entity 'Account'." in caught.value.errors[0].message


def test_fields_of_the_org_that_were_never_written_are_null(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    salesforce.store.create_record("Account", Name="Schemaless")
    salesforce.store.add_field("Account", "Added_Later__c")

    assert gateway.query("SELECT Name, Internet_Eligibility_Notes__c, Added_Later__c FROM Account") == [
        {"Name": "Schemaless", "Internet_Eligibility_Notes__c": None, "Added_Later__c": None}
    ]


def test_an_object_named_like_a_keyword_can_be_queried(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    account = salesforce.store.create_record("Account", {"Name": "Customer"})
    salesforce.store.create_record(
        "Order", {"AccountId": account["Id"], "EffectiveDate": "2026-11-21", "Status": "Draft"}
    )

    records = gateway.query("SELECT Id, Status FROM Order ORDER BY CreatedDate")

    assert [record["Status"] for record in records] == ["Draft"]
