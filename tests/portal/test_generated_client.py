"""The schema is complete enough to generate a typed client from: openapi-python-client generates
one from openapi.yaml into a temporary folder, and that client drives a customer's journey against
the running portal, parsing every answer (errors included) into the schema's models."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from django.conf import settings

from emulators import EmulatorSuite
from tests.scenarios import ADDRESS, SIGNUP

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

PACKAGE = "portal_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    folder = tmp_path_factory.mktemp("client")
    generator = Path(sys.executable).with_name("openapi-python-client")
    result = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(Path(settings.BASE_DIR) / "openapi.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(folder / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Post-generation formatting aside, nothing of the schema may be skipped.
    assert "Unable to" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def operation(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def model(name: str) -> Any:
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


def test_a_generated_client_drives_a_customer_journey(
    generated: ModuleType, systems: EmulatorSuite, live_server: Any
) -> None:
    http = httpx.Client(base_url=live_server.url, timeout=30)
    # The CSRF token is the client's "token": the schema's `csrf` scheme is an X-CSRFToken header.
    client = generated.AuthenticatedClient(
        base_url=live_server.url, token="", prefix="", auth_header_name="X-CSRFToken"
    ).set_httpx_client(http)

    def fresh_csrf_token() -> None:
        answer = operation("auth.auth_csrf").sync(client=client)
        http.headers["X-CSRFToken"] = answer.csrf_token

    fresh_csrf_token()
    signup = model("RegistrationInputRequest").from_dict({**SIGNUP, "email": "hana.sato@example.com"})
    created = operation("auth.auth_signup").sync_detailed(
        client=client, body=signup, idempotency_key="journey-signup"
    )
    assert created.status_code == 201, created.content
    assert created.parsed.email == "hana.sato@example.com"

    fresh_csrf_token()  # signing in rotates the token
    me = operation("me.me").sync(client=client)
    assert isinstance(me, model("MeOutput"))
    assert me.customer_number == created.parsed.customer_number

    catalog = operation("catalog.catalog_internet_list").sync(client=client)
    assert isinstance(catalog, model("InternetCatalog"))

    asked = operation("eligibility.eligibility_request").sync_detailed(
        client=client,
        body=model("EligibilityRequestInputRequest").from_dict({**ADDRESS, "housing_type": "house"}),
        idempotency_key="journey-eligibility",
    )
    assert asked.status_code == 201, asked.content
    status = operation("eligibility.eligibility_status").sync(client=client)
    assert str(status.status) == "pending"

    orders = operation("orders.orders_list").sync(client=client, page_size=10)
    assert (orders.count, orders.results) == (0, [])

    missing = operation("orders.orders_retrieve").sync_detailed(client=client, order_id=999999)
    assert missing.status_code == 404
    assert isinstance(missing.parsed, model("Error"))
    assert missing.parsed.code == "not_found"
    assert missing.parsed.request_id == missing.headers["X-Request-ID"]

    refused = operation("orders.orders_create").sync_detailed(
        client=client,
        body=model("OrderCreateInputRequest").from_dict({"product_type": "internet", "items": []}),
        idempotency_key="journey-order",
    )
    assert refused.status_code == 400
    assert refused.parsed.code == "invalid"
    assert "items" in refused.parsed.fields.additional_properties

    assert operation("auth.auth_logout").sync_detailed(client=client).status_code == 204
    signed_out = operation("me.me").sync_detailed(client=client)
    assert signed_out.status_code == 401
    assert signed_out.parsed.code == "not_authenticated"
    assert signed_out.headers["WWW-Authenticate"] == 'Session realm="api"'
