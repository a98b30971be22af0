"""The gateway's typed reads against the emulator: frozen records in the portal's names and
values, Salesforce's errors as typed ones, the API calls each costs, and customer input quoted."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from apps.integrations.salesforce.exceptions import SalesforceNotFound, SalesforceUnknownPicklistValue
from apps.integrations.salesforce.field_map import parse_salesforce_datetime
from apps.integrations.salesforce.gateway import SalesforceGateway
from apps.integrations.salesforce.records import (
    SalesforceAccount,
    SalesforceContact,
    SalesforceOrder,
    SalesforceOrderItem,
)
from emulators.salesforce.http_server import SalesforceRestEmulator


def test_an_order_is_read_with_its_items_in_one_call(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    # Given an Order with two items
    store = salesforce.store
    account = store.create_record("Account", {"Name": "Yamada Taro"})
    opportunity = store.create_record(
        "Opportunity",
        {
            "AccountId": account["Id"],
            "Name": "Yamada",
            "StageName": "Post Processing",
            "CloseDate": "2026-12-31",
        },
    )
    order = store.create_record(
        "Order",
        {
            "AccountId": account["Id"],
            "OpportunityId": opportunity["Id"],
            "EffectiveDate": "2026-11-20",
            "Status": "Pending Review",
        },
    )
    standard = store.find_records("Pricebook2", IsStandard=True)[0]
    items = []
    for name, quantity, price in (("Plan", 2, 5500), ("Installation", 1, 22000)):
        product = store.create_record("Product2", {"Name": name})
        store.create_record(
            "PricebookEntry",
            {
                "Pricebook2Id": standard["Id"],
                "Product2Id": product["Id"],
                "UnitPrice": price,
                "IsActive": True,
            },
        )
        items.append(
            store.create_record(
                "OrderItem",
                {
                    "OrderId": order["Id"],
                    "Product2Id": product["Id"],
                    "Quantity": quantity,
                    "UnitPrice": price,
                },
            )
        )
    order = store.get_record("Order", order["Id"])

    # When
    read = gateway.order_with_items(order["Id"])

    # Then
    assert gateway.calls_made == 1
    assert read == SalesforceOrder(
        id=order["Id"],
        account_id=account["Id"],
        opportunity_id=opportunity["Id"],
        order_number=order["OrderNumber"],
        status="pending_review",
        effective_date=date(2026, 11, 20),
        activation_status="",
        modified_at=parse_salesforce_datetime(order["SystemModstamp"]),
        items=(
            SalesforceOrderItem(
                id=items[0]["Id"],
                product_id=items[0]["Product2Id"],
                quantity=Decimal(2),
                unit_price=Decimal(5500),
            ),
            SalesforceOrderItem(
                id=items[1]["Id"],
                product_id=items[1]["Product2Id"],
                quantity=Decimal(1),
                unit_price=Decimal(22000),
            ),
        ),
    )


def test_an_order_salesforce_does_not_have_is_not_found(gateway: SalesforceGateway) -> None:
    with pytest.raises(SalesforceNotFound, match="Salesforce has no Order 801000000000000AAA"):
        gateway.order_with_items("801000000000000AAA")
    assert gateway.calls_made == 1

    with pytest.raises(SalesforceNotFound, match="is not a Salesforce record id"):
        gateway.order_with_items("801' OR Id != '")
    assert gateway.calls_made == 1


def test_a_picklist_value_the_field_map_does_not_know_is_a_terminal_error(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    # Given an administrator added an Order status the portal has never heard of
    salesforce.store.add_picklist_value("Order", "Status", "On Hold")
    account = salesforce.store.create_record("Account", {"Name": "Sato"})
    order = salesforce.store.create_record(
        "Order", {"AccountId": account["Id"], "EffectiveDate": "2026-11-20", "Status": "On Hold"}
    )

    with pytest.raises(SalesforceUnknownPicklistValue) as caught:
        gateway.order_with_items(order["Id"])

    assert caught.value.error_code == "UNKNOWN_PICKLIST_VALUE"
    assert caught.value.retryable is False
    assert "'On Hold'" in caught.value.message


def test_an_account_is_found_only_when_its_customer_number_names_one(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    store = salesforce.store
    account = store.create_record(
        "Account",
        {
            "Name": "Tanaka Kenji",
            "SF_Account_No__c": "P0000777",
            "WH_Account__c": "4242",
            "Internet_Eligibility__c": "Home 1G",
            "Internet_Eligibility_Status__c": "Eligible",
            "Internet_Eligibility_Checked_Date_Time__c": "2026-01-05T01:00:00.000+0000",
        },
    )
    for name in ("Twin A", "Twin B"):
        store.create_record("Account", {"Name": name, "SF_Account_No__c": "P0000888"})
    account = store.get_record("Account", account["Id"])

    found = gateway.find_account_by_customer_number("P0000777")

    assert found == SalesforceAccount(
        id=account["Id"],
        name="Tanaka Kenji",
        customer_number="P0000777",
        whmcs_client_id=4242,
        portal_status="",
        internet_eligibility="Home 1G",
        internet_eligibility_status="eligible",
        internet_eligibility_requested_at=None,
        internet_eligibility_checked_at=parse_salesforce_datetime("2026-01-05T01:00:00.000+0000"),
        internet_eligibility_notes="",
        internet_eligibility_case_id="",
        id_verification_status="",
        id_verification_submitted_at=None,
        id_verification_verified_at=None,
        id_verification_note="",
        id_verification_rejection_message="",
        modified_at=parse_salesforce_datetime(account["SystemModstamp"]),
    )
    assert gateway.find_account_by_customer_number("P0000888") is None
    assert gateway.find_account_by_customer_number("P0000999") is None
    assert gateway.calls_made == 3


def test_customer_input_is_quoted_never_read_as_soql(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    store = salesforce.store
    account = store.create_record("Account", {"Name": "O'Brien", "SF_Account_No__c": "P0000123"})
    contact = store.create_record(
        "Contact",
        {
            "AccountId": account["Id"],
            "FirstName": "Sean",
            "LastName": "O'Brien",
            "Email": "o'brien@example.com",
        },
    )

    assert gateway.find_account_by_customer_number("x' OR Name != 'y") is None
    assert gateway.find_contact(account_id=account["Id"], email='x" OR Email != "y') is None
    assert gateway.find_contact(account_id=account["Id"], email="o'brien@example.com") == SalesforceContact(
        id=contact["Id"], first_name="Sean", last_name="O'Brien", email="o'brien@example.com"
    )
    assert gateway.calls_made == 3
