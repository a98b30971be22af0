"""Customers whose Salesforce Account exists in the emulator, and API clients signed in as them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User
from emulators import EmulatorSuite
from tests.factories import CustomerFactory

MakeCustomer = Callable[..., User]


@pytest.fixture
def make_customer(systems: EmulatorSuite) -> MakeCustomer:
    def make(**profile_fields: object) -> User:
        account = systems.salesforce.store.create_record("Account", {"Name": "Sato Hana"})
        return CustomerFactory.create(
            id_mapping__salesforce_account_id=account["Id"],
            **{f"profile__{name}": value for name, value in profile_fields.items()},
        )

    return make


@pytest.fixture
def customer(make_customer: MakeCustomer) -> User:
    return make_customer()


@pytest.fixture
def api(customer: User) -> APIClient:
    client = APIClient()
    client.force_login(customer)
    return client


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


def salesforce_account(systems: EmulatorSuite, account_id: str) -> dict[str, Any]:
    """The emulator's live Account record (it must exist)."""
    record = systems.salesforce.store.get_record("Account", account_id)
    assert record is not None
    return dict(record)
