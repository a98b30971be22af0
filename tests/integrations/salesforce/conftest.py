"""The Salesforce contract tests run against the session's emulated org (``systems`` in
``tests/conftest.py``): ``salesforce`` is its REST emulator, with ``settings.SALESFORCE`` pointed
at it, an empty org, no faults and no cached session."""

from __future__ import annotations

import pytest

from apps.integrations.salesforce.gateway import SalesforceGateway, get_gateway
from emulators import EmulatorSuite
from emulators.salesforce.http_server import SalesforceRestEmulator


@pytest.fixture
def salesforce(systems: EmulatorSuite) -> SalesforceRestEmulator:
    return systems.salesforce


@pytest.fixture
def gateway(salesforce: SalesforceRestEmulator) -> SalesforceGateway:
    return get_gateway()


@pytest.fixture
def private_key_text(salesforce: SalesforceRestEmulator) -> str:
    """The PEM body (without armour lines) that must never appear in logs or errors."""
    lines = salesforce.jwt_files.private_key.read_text().splitlines()
    return "".join(line for line in lines if not line.startswith("-----"))
