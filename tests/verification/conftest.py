"""API clients for the verification tests (customers come from ``make_customer``/``customer``)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User
from emulators import EmulatorSuite


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
