"""Emulator behaviour other parts of the portal build on: listeners, driver API, files, state."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from apps.integrations.salesforce.gateway import CompositeSubrequest, SalesforceGateway
from emulators.salesforce.http_server import SalesforceRestEmulator
from emulators.salesforce.store import SalesforceStore

Change = tuple[str, str, dict[str, Any] | None, dict[str, Any]]


@pytest.fixture
def changes(salesforce: SalesforceRestEmulator) -> Iterator[list[Change]]:
    seen: list[Change] = []

    def listener(sobject: str, record_id: str, before: dict[str, Any] | None, after: dict[str, Any]) -> None:
        seen.append((sobject, record_id, before, after))

    salesforce.store.add_listener(listener)
    yield seen
    salesforce.store.remove_listener(listener)


@pytest.fixture
def driver(salesforce: SalesforceRestEmulator) -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(salesforce.ca_bundle)
    yield session
    session.close()


def test_listeners_see_api_and_agent_changes(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator, changes: list[Change]
) -> None:
    # When
    order_account = gateway.create("Account", {"Name": "Flow"})
    order = salesforce.store.create_record(
        "Order", AccountId=order_account, Status="Draft", EffectiveDate="2025-04-01"
    )
    # (Not "Approved": that would run the org's Order flow, whose own change listeners see too.)
    salesforce.store.update_record("Order", order["Id"], {"Status": "Pending Review"})

    # Then
    assert [(sobject, before is None) for sobject, _, before, _ in changes] == [
        ("Account", True),
        ("Order", True),
        ("Order", False),
    ]
    _, record_id, before, after = changes[2]
    assert record_id == order["Id"]
    assert before is not None
    assert (before["Status"], after["Status"]) == ("Draft", "Pending Review")


def test_listeners_run_after_commit_and_not_for_rolled_back_work(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator, changes: list[Change]
) -> None:
    # Given: a listener that reads the store, which must not deadlock
    seen_in_store: list[bool] = []
    salesforce.store.add_listener(
        lambda sobject, record_id, before, after: seen_in_store.append(
            salesforce.store.get_record(sobject, record_id) is not None
        )
    )

    # When
    gateway.composite(
        [
            CompositeSubrequest.create("Account", "a", {"Name": "Kept"}),
            CompositeSubrequest.create("Contact", "c", {"AccountId": "@{a.id}", "LastName": "Kept"}),
        ]
    )
    with pytest.raises(Exception, match="rolled back"):
        gateway.composite(
            [
                CompositeSubrequest.create("Account", "a", {"Name": "Gone"}),
                CompositeSubrequest.create("Contact", "c", {"AccountId": "@{a.id}"}),
            ]
        )

    # Then
    assert [(sobject, after["Name"]) for sobject, _, _, after in changes] == [
        ("Account", "Kept"),
        ("Contact", "Kept"),
    ]
    assert seen_in_store == [True, True]


def test_content_version_upload_is_linked_to_the_account(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    # Given
    account_id = gateway.create("Account", {"Name": "Card holder"})
    data = b"\x89PNG residence card"

    # When
    version_id = gateway.create(
        "ContentVersion",
        {
            "PathOnClient": "residence-card.png",
            "VersionData": base64.b64encode(data).decode(),
            "FirstPublishLocationId": account_id,
        },
    )

    # Then
    record = gateway.get("ContentVersion", version_id)
    assert version_id.startswith("068")
    assert record["Title"] == "residence-card"
    assert record["ContentDocumentId"].startswith("069")
    assert record["ContentSize"] == len(data)
    assert record["FileExtension"] == "png"
    assert record["VersionData"] == f"/services/data/v59.0/sobjects/ContentVersion/{version_id}/VersionData"
    linked = gateway.query(f"SELECT Id FROM ContentVersion WHERE FirstPublishLocationId = '{account_id}'")
    assert linked == [{"Id": version_id}]


def test_deleting_an_account_deletes_its_contacts_as_salesforce_does(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    account_id = gateway.create("Account", {"Name": "Sato Hana"})
    contact_id = gateway.create("Contact", {"AccountId": account_id, "LastName": "Sato"})
    other_id = salesforce.store.create_record("Contact", {"LastName": "Tanaka"})["Id"]

    gateway.delete("Account", account_id)

    assert salesforce.store.get_record("Contact", contact_id) is None
    assert gateway.query("SELECT Id FROM Contact") == [{"Id": other_id}]
    deleted = gateway.query(
        f"SELECT Id, IsDeleted FROM Contact WHERE Id = '{contact_id}'", include_deleted=True
    )
    assert deleted == [{"Id": contact_id, "IsDeleted": True}]


def test_order_items_resolve_the_standard_price_book(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    # Given
    standard = salesforce.store.find_records("Pricebook2", IsStandard=True)[0]
    product = salesforce.store.create_record("Product2", Name="Fiber", IsActive=True)
    entry = salesforce.store.create_record(
        "PricebookEntry", Pricebook2Id=standard["Id"], Product2Id=product["Id"], UnitPrice=5000, IsActive=True
    )
    account = salesforce.store.create_record("Account", Name="Buyer")
    order = salesforce.store.create_record(
        "Order", AccountId=account["Id"], Status="Draft", EffectiveDate="2025-05-01"
    )

    # When
    item_id = gateway.create(
        "OrderItem", {"OrderId": order["Id"], "Product2Id": product["Id"], "Quantity": 2, "UnitPrice": 5000}
    )

    # Then
    item = gateway.get("OrderItem", item_id, ["PricebookEntryId", "TotalPrice"])
    assert item == {"Id": item_id, "PricebookEntryId": entry["Id"], "TotalPrice": 10000.0}
    assert gateway.get("Order", order["Id"], ["TotalAmount"])["TotalAmount"] == 10000.0


def test_driver_http_api_acts_as_an_agent_without_counting_calls(
    salesforce: SalesforceRestEmulator, driver: requests.Session
) -> None:
    base = f"{salesforce.base_url}/__emulator__"

    # When
    created = driver.post(f"{base}/records/Account", json={"Name": "Via driver"}, timeout=5).json()
    updated = driver.patch(f"{base}/records/Account/{created['Id']}", json={"Phone": "1"}, timeout=5).json()
    found = driver.get(f"{base}/records/Account", params={"Name": "Via driver"}, timeout=5).json()
    counters = driver.get(f"{base}/counters", timeout=5).json()

    # Then
    assert updated["Phone"] == "1"
    assert [record["Id"] for record in found] == [created["Id"]]
    assert counters == {
        "calls": {
            "query": 0,
            "sobject": 0,
            "composite": 0,
            "collections": 0,
            "limits": 0,
            "other": 0,
            "token": 0,
            "total": 0,
        },
        "api_usage": {"used": 0, "max": 15000},
    }


def test_driver_http_api_injects_and_clears_faults(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator, driver: requests.Session
) -> None:
    base = f"{salesforce.base_url}/__emulator__"

    added = driver.post(
        f"{base}/faults",
        json={"status": 503, "error_code": "SERVER_UNAVAILABLE", "path_prefix": "query", "count": 2},
        timeout=5,
    )
    listed = driver.get(f"{base}/faults", timeout=5).json()
    cleared = driver.delete(f"{base}/faults", timeout=5)

    assert added.status_code == 201
    assert [(rule["kind"], rule["remaining"]) for rule in listed] == [("failure", 2)]
    assert cleared.status_code == 200
    assert gateway.query("SELECT Id FROM Account") == []


def test_driver_http_api_expires_sessions(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator, driver: requests.Session
) -> None:
    gateway.limits()

    driver.post(f"{salesforce.base_url}/__emulator__/sessions/expire", timeout=5)
    gateway.limits()

    assert gateway.relogins == 1


def test_every_rest_response_carries_limit_info_and_errors_are_json_arrays(
    salesforce: SalesforceRestEmulator, driver: requests.Session
) -> None:
    response = driver.get(
        f"{salesforce.base_url}/services/data/v59.0/query", params={"q": "SELECT Id FROM Account"}, timeout=5
    )

    assert response.status_code == 401
    assert response.headers["Sforce-Limit-Info"] == "api-usage=0/15000"
    assert response.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_state_file_keeps_records_across_restarts(tmp_path: Path) -> None:
    # Given
    state_file = tmp_path / "salesforce-state.json"
    store = SalesforceStore(state_file=state_file)
    account = store.create_record("Account", Name="Persistent")
    token = store.issue_token()

    # When
    reopened = SalesforceStore(state_file=state_file)

    # Then
    assert reopened.get_record("Account", account["Id"]) == account
    assert reopened.org_id == store.org_id
    assert reopened.validate_token(token) is True
    assert reopened.create_record("Account", Name="Next")["Id"] != account["Id"]


def test_tokens_expire_after_their_lifetime() -> None:
    from datetime import timedelta

    store = SalesforceStore(token_lifetime=timedelta(seconds=-1))

    assert store.validate_token(store.issue_token()) is False
    assert store.validate_token("made-up") is False
