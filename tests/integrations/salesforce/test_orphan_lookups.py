"""The gateway's reads for the orphaned Account scan and cleanup, against the emulated org."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from apps.integrations.salesforce.exceptions import SalesforceUnavailable
from apps.integrations.salesforce.gateway import (
    AccountContact,
    AccountDependents,
    SalesforceGateway,
    SourcedAccount,
)
from emulators.salesforce.http_server import SalesforceRestEmulator

CUTOFF = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


def account(salesforce: SalesforceRestEmulator, *, created: str, source: str | None, number: str = "") -> str:
    record = salesforce.store.create_record(
        "Account",
        {
            "Name": "Sato Hana",
            "Portal_Registration_Source__c": source,
            "SF_Account_No__c": number or None,
            "CreatedDate": created,
        },
    )
    return str(record["Id"])


def test_accounts_by_registration_source_lists_older_portal_accounts_oldest_first(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    checkout = account(
        salesforce, created="2026-11-18T09:00:00.000+0000", source="Portal Checkout", number="P2"
    )
    signup = account(salesforce, created="2026-11-10T09:00:00.000+0000", source="Portal Signup", number="P1")
    account(salesforce, created="2026-11-20T00:00:01.000+0000", source="Portal Signup")  # too young
    account(salesforce, created="2026-11-01T09:00:00.000+0000", source="Legacy")
    account(salesforce, created="2026-11-01T09:00:00.000+0000", source=None)

    found = list(
        gateway.accounts_by_registration_source(
            sources=["portal_signup", "portal_checkout"], created_before=CUTOFF
        )
    )

    assert found == [
        SourcedAccount(signup, "P1", datetime(2026, 11, 10, 9, 0, tzinfo=UTC)),
        SourcedAccount(checkout, "P2", datetime(2026, 11, 18, 9, 0, tzinfo=UTC)),
    ]
    assert gateway.calls_made == 1


def test_account_contacts_gives_each_accounts_oldest_contact_two_hundred_accounts_a_query(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    store = salesforce.store
    accounts = [row["Id"] for row in store.create_records("Account", [{"Name": f"A{n}"} for n in range(201)])]
    first = store.create_record(
        "Contact", {"AccountId": accounts[0], "LastName": "Sato", "Email": "o'hara@example.com"}
    )
    store.create_record(
        "Contact", {"AccountId": accounts[0], "LastName": "Sato", "Email": "second@example.com"}
    )
    last = store.create_record(
        "Contact", {"AccountId": accounts[200], "LastName": "Ito", "Email": "ito@example.com"}
    )

    contacts = gateway.account_contacts(accounts)

    assert contacts == {
        accounts[0]: AccountContact(first["Id"], "o'hara@example.com"),
        accounts[200]: AccountContact(last["Id"], "ito@example.com"),
    }
    assert gateway.calls_made == 2


def test_account_dependents_counts_what_hangs_on_an_account_in_one_call(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    store = salesforce.store
    busy = account(salesforce, created="2026-11-01T00:00:00.000+0000", source="Portal Signup")
    bare = account(salesforce, created="2026-11-01T00:00:00.000+0000", source="Portal Signup")
    gone = account(salesforce, created="2026-11-01T00:00:00.000+0000", source="Portal Signup")
    store.create_record(
        "Opportunity", {"AccountId": busy, "Name": "SIM", "StageName": "Active", "CloseDate": "2026-12-31"}
    )
    store.create_record("Case", {"AccountId": busy, "Subject": "Hello"})
    store.create_record("Case", {"AccountId": busy, "Subject": "Again"})
    store.delete_record("Account", gone)

    dependents = [gateway.account_dependents(account_id) for account_id in (busy, bare, gone)]

    assert dependents == [
        AccountDependents(opportunities=1, orders=0, cases=2),
        AccountDependents(0, 0, 0),
        None,
    ]
    assert [found.any if found else None for found in dependents] == [True, False, None]
    assert gateway.calls_made == 3


def test_account_dependents_raises_when_salesforce_cannot_answer(
    gateway: SalesforceGateway, salesforce: SalesforceRestEmulator
) -> None:
    account_id = account(salesforce, created="2026-11-01T00:00:00.000+0000", source="Portal Signup")
    salesforce.fail_next(1, status=503, error_code="SERVER_UNAVAILABLE", path_prefix="composite")

    with pytest.raises(SalesforceUnavailable):
        gateway.account_dependents(account_id)


def test_account_ids_that_are_not_ids_are_refused_before_any_call(gateway: SalesforceGateway) -> None:
    with pytest.raises(ValueError, match="invalid Salesforce record id"):
        gateway.account_contacts(["001000000000001AAA", "x' OR Name != '"])
    with pytest.raises(ValueError, match="invalid Salesforce record id"):
        gateway.account_dependents("001' OR Id != '")
    assert gateway.calls_made == 0
