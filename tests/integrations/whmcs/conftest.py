"""The WHMCS contract tests run a real client over HTTP against the session's WHMCS emulator
(``systems`` in ``tests/conftest.py``), emptied before each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from apps.integrations.whmcs.client import WhmcsClient
from emulators import EmulatorSuite
from emulators.whmcs import WhmcsEmulator

IDENTIFIER = EmulatorSuite.whmcs_identifier
SECRET = EmulatorSuite.whmcs_secret
ACCESS_KEY = (
    "test-access-key-M3n8"  # Sent by the client; the emulator, like WHMCS without one set, ignores it.
)
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def emulator(systems: EmulatorSuite) -> WhmcsEmulator:
    return systems.whmcs


def make_whmcs_client(emulator: WhmcsEmulator, **overrides: Any) -> WhmcsClient:
    options: dict[str, Any] = {
        "api_url": emulator.url,
        "identifier": IDENTIFIER,
        "secret": SECRET,
        "access_key": ACCESS_KEY,
        "timeout": 5.0,
        "backoff_seconds": 0.01,
        "server_timezone": TOKYO,
    }
    options.update(overrides)
    return WhmcsClient(**options)


@pytest.fixture
def whmcs(emulator: WhmcsEmulator) -> Iterator[WhmcsClient]:
    client = make_whmcs_client(emulator)
    yield client
    client._session.close()


def add_test_client(whmcs: WhmcsClient, email: str = "taro@example.com", **overrides: Any) -> int:
    fields: dict[str, Any] = {
        "first_name": "Taro",
        "last_name": "Yamada",
        "email": email,
        "address1": "1-2-3 Jingumae",
        "city": "Shibuya-ku",
        "state": "Tokyo",
        "postcode": "150-0001",
        "country": "JP",
        "phone_number": "0312345678",
        "password": "Portal-Passw0rd!",
        "notes": "Created by the SonixNet portal",
    }
    fields.update(overrides)
    return whmcs.add_client(**fields)


@pytest.fixture
def client_id(whmcs: WhmcsClient) -> int:
    return add_test_client(whmcs)


@pytest.fixture
def whmcs_settings(settings: Any, emulator: WhmcsEmulator) -> dict[str, Any]:
    """Point ``settings.WHMCS`` (and so ``get_whmcs_client()``) at the test emulator."""
    settings.WHMCS = {
        "API_URL": emulator.url,
        "IDENTIFIER": IDENTIFIER,
        "SECRET": SECRET,
        "ACCESS_KEY": ACCESS_KEY,
        "PAYMENT_METHOD": "mailin",
        "TIMEOUT_SECONDS": 5.0,
        "SERVER_TIMEZONE": "Asia/Tokyo",
        "RETRY_BACKOFF_SECONDS": 0.01,
    }
    return dict(settings.WHMCS)
