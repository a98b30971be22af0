"""Shared by the billing tests: a signed-in customer and the error bodies for the API tests, and
the WHMCS emulator and client fixtures of ``tests/integrations/whmcs`` for the sync tests."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client

from apps.accounts.models import User
from tests.factories import CustomerFactory
from tests.integrations.whmcs.conftest import (  # noqa: F401 (fixtures)
    emulator,
    whmcs,
    whmcs_settings,
)

SYNCED_AT = datetime.datetime(2025, 1, 10, 0, 0, tzinfo=datetime.UTC)


@pytest.fixture
def customer() -> User:
    return CustomerFactory.create(payment_method=None)


@pytest.fixture
def customer_client(client: Client, customer: User) -> Client:
    client.force_login(customer)
    return client
