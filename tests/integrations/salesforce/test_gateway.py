"""The REST gateway against the emulator: records, re-login, API usage accounting."""

from __future__ import annotations

import re

import pytest

from apps.integrations.salesforce.exceptions import SalesforceNotFound, SalesforceSessionExpired
from apps.integrations.salesforce.gateway import ApiUsage, SalesforceGateway, api_call_counter, get_gateway
from emulators.salesforce.http_server import SalesforceRestEmulator

SF_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")


def test_create_get_update_delete_round_trip(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    # When
    account_id = gateway.create("Account", {"Name": "Tanaka Taro", "Portal_Status__c": "Active"})
    gateway.update("Account", account_id, {"Phone": "03-1234-5678"})
    record = gateway.get("Account", account_id)

    # Then
    assert re.fullmatch(r"001[A-Za-z0-9]{15}", account_id)
    assert record["Id"] == account_id
    assert record["Name"] == "Tanaka Taro"
    assert record["Phone"] == "03-1234-5678"
    assert record["Portal_Status__c"] == "Active"
    assert "attributes" not in record
    assert SF_DATETIME.match(record["CreatedDate"])
    assert SF_DATETIME.match(record["SystemModstamp"])

    # When
    gateway.delete("Account", account_id)

    # Then
    assert salesforce.store.get_record("Account", account_id) is None
    with pytest.raises(SalesforceNotFound) as caught:
        gateway.get("Account", account_id)
    assert caught.value.error_code == "ENTITY_IS_DELETED"
    assert caught.value.status == 404


def test_get_with_fields_returns_only_those_fields(gateway: SalesforceGateway) -> None:
    account_id = gateway.create("Account", {"Name": "Sato", "Phone": "1"})

    record = gateway.get("Account", account_id, fields=["Name"])

    assert record == {"Id": account_id, "Name": "Sato"}


def test_fifteen_character_ids_are_accepted(gateway: SalesforceGateway) -> None:
    account_id = gateway.create("Account", {"Name": "Short Id"})

    record = gateway.get("Account", account_id[:15], fields=["Name"])

    assert record["Id"] == account_id


def test_auto_numbers_and_id_prefixes(gateway: SalesforceGateway) -> None:
    account_id = gateway.create("Account", {"Name": "Numbers"})
    order_id = gateway.create(
        "Order", {"AccountId": account_id, "Status": "Draft", "EffectiveDate": "2025-04-01"}
    )
    case_id = gateway.create("Case", {"AccountId": account_id, "Subject": "Eligibility"})

    order = gateway.get("Order", order_id, ["OrderNumber"])
    case = gateway.get("Case", case_id, ["CaseNumber", "Status"])

    assert order_id.startswith("801")
    assert case_id.startswith("500")
    assert order["OrderNumber"] == "00000100"
    assert case == {"Id": case_id, "CaseNumber": "00001001", "Status": "New"}


def test_relogin_once_after_the_session_expired(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    # Given
    account_id = gateway.create("Account", {"Name": "Before expiry"})
    tokens_before = salesforce.counters()["token"]
    salesforce.expire_sessions()

    # When
    record = gateway.get("Account", account_id, ["Name"])

    # Then
    assert record["Name"] == "Before expiry"
    assert gateway.relogins == 1
    assert salesforce.counters()["token"] == tokens_before + 1


def test_session_expired_again_after_relogin_raises(salesforce: SalesforceRestEmulator) -> None:
    # Given: every request is answered 401, as if the token were revoked at once each time
    gateway = get_gateway()
    salesforce.fail_next(2, status=401, error_code="INVALID_SESSION_ID", path_prefix="sobjects")

    # When
    with pytest.raises(SalesforceSessionExpired) as caught:
        gateway.create("Account", {"Name": "Never"})

    # Then
    assert caught.value.error_code == "INVALID_SESSION_ID"
    assert caught.value.status == 401
    assert gateway.relogins == 1


def test_api_usage_comes_from_sforce_limit_info(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    # Given
    salesforce.store.set_api_limit(5000, used=41)

    # When
    gateway.create("Account", {"Name": "Usage"})

    # Then
    assert gateway.api_usage == ApiUsage(used=42, max=5000)


def test_calls_are_counted_per_gateway_and_process_wide(salesforce: SalesforceRestEmulator) -> None:
    # Given
    first = get_gateway()
    second = get_gateway()

    # When
    first.create("Account", {"Name": "One"})
    first.query("SELECT Id FROM Account")
    second.limits()

    # Then
    assert first.calls_made == 2
    assert second.calls_made == 1
    assert api_call_counter.value == 3
    assert salesforce.counters()["total"] == 3


def test_limits_reports_daily_api_requests(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    salesforce.store.set_api_limit(100, used=10)

    limits = gateway.limits()

    assert limits["DailyApiRequests"] == {"Max": 100, "Remaining": 89}


def test_invalid_names_and_ids_are_refused_before_any_call(gateway: SalesforceGateway) -> None:
    with pytest.raises(ValueError, match="invalid sObject"):
        gateway.create("Account/../x", {})
    with pytest.raises(ValueError, match="invalid Salesforce record id"):
        gateway.get("Account", "001?x=1")
    assert gateway.calls_made == 0
