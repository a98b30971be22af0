"""Fixtures: one HTTPS Salesforce emulator per test session, settings pointed at it per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.integrations.salesforce.auth import clear_session_cache
from apps.integrations.salesforce.gateway import SalesforceGateway, api_call_counter, get_gateway
from emulators.salesforce.http_server import SalesforceRestEmulator

CONSUMER_KEY = "contract-test-consumer-key"
USERNAME = "integration@contract-tests.example"


@pytest.fixture(scope="session")
def sf_cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("salesforce-emulator")


@pytest.fixture(scope="session")
def sf_emulator(sf_cert_dir: Path) -> Iterator[SalesforceRestEmulator]:
    """The emulator on a free loopback port, with its CA, server certificate and JWT keys in a tmp dir."""
    emulator = SalesforceRestEmulator(
        host="127.0.0.1", port=0, cert_dir=sf_cert_dir, consumer_key=CONSUMER_KEY, username=USERNAME
    )
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def salesforce(sf_emulator: SalesforceRestEmulator, settings) -> Iterator[SalesforceRestEmulator]:
    """Point ``settings.SALESFORCE`` at the emulator; every test starts with an empty org and no session."""
    settings.SALESFORCE = {
        **settings.SALESFORCE,
        "LOGIN_URL": sf_emulator.base_url,
        "CLIENT_ID": CONSUMER_KEY,
        "USERNAME": USERNAME,
        "PRIVATE_KEY_PATH": str(sf_emulator.jwt_files.private_key),
        "PRIVATE_KEY_BASE64": "",
        "CA_BUNDLE": str(sf_emulator.ca_bundle),
        "TIMEOUT_SECONDS": 5.0,
    }
    sf_emulator.reset()
    sf_emulator.clear_faults()
    clear_session_cache()
    api_call_counter.reset()
    yield sf_emulator
    sf_emulator.clear_faults()
    clear_session_cache()


@pytest.fixture
def gateway(salesforce: SalesforceRestEmulator) -> SalesforceGateway:
    return get_gateway()


@pytest.fixture
def private_key_text(sf_emulator: SalesforceRestEmulator) -> str:
    """The PEM body (without armour lines) that must never appear in logs or errors."""
    lines = sf_emulator.jwt_files.private_key.read_text().splitlines()
    return "".join(line for line in lines if not line.startswith("-----"))
