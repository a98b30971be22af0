"""Error mapping, retries, timeouts and secret hygiene of the client, against the emulator."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import requests

from apps.integrations.whmcs.client import WhmcsClient
from apps.integrations.whmcs.exceptions import (
    WhmcsApiError,
    WhmcsAuthError,
    WhmcsError,
    WhmcsNotFound,
    WhmcsTransportError,
)
from apps.integrations.whmcs.types import OrderLine
from emulators.whmcs import WhmcsEmulator

from .conftest import ACCESS_KEY, IDENTIFIER, SECRET, add_test_client, make_whmcs_client

PASSWORD = "Portal-Passw0rd!"


def test_bad_secret_is_an_auth_error(emulator: WhmcsEmulator) -> None:
    # given
    client = make_whmcs_client(emulator, secret="wrong-secret-value")

    # when
    with pytest.raises(WhmcsAuthError) as caught:
        client.get_products()

    # then
    assert caught.value.message == "Authentication Failed"
    assert caught.value.status_code == 403
    assert caught.value.retryable is False
    assert caught.value.action == "GetProducts"


def test_unknown_identifier_is_an_auth_error(emulator: WhmcsEmulator) -> None:
    client = make_whmcs_client(emulator, identifier="nobody")

    with pytest.raises(WhmcsAuthError, match="Invalid or missing credentials"):
        client.get_products()


def test_bodiless_403_from_a_waf_is_an_auth_error(whmcs: WhmcsClient, emulator: WhmcsEmulator) -> None:
    emulator.inject_fault("GetProducts", kind="http_status", status=403, message="Invalid IP 203.0.113.9")

    with pytest.raises(WhmcsAuthError, match=r"Invalid IP 203\.0\.113\.9"):
        whmcs.get_products()


def test_unknown_client_is_not_found(whmcs: WhmcsClient) -> None:
    with pytest.raises(WhmcsNotFound) as caught:
        whmcs.get_client_details(client_id=999)

    assert caught.value.message == "Client Not Found"
    assert caught.value.retryable is False
    assert str(caught.value) == "WHMCS GetClientsDetails: Client Not Found"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.update_client(999, notes="x"), "Client ID Not Found"),
        (lambda c: c.close_client(999), "Client ID Not Found"),
        (lambda c: c.delete_client(999), "Client ID Not Found"),
        (lambda c: c.get_invoice(999), "Invoice ID Not Found"),
        (lambda c: c.get_pay_methods(999), "Client Not Found"),
        (lambda c: c.accept_order(999), "Order ID not found or Status not Pending"),
        (lambda c: c.cancel_order(999), "Order ID not found or Status not Pending"),
        (lambda c: c.module_terminate(999), "Service ID not found"),
        (lambda c: c.update_client_product(999, status="Active"), "Service ID Not Found"),
        (lambda c: c.add_order(999, [OrderLine(pid=1)], "mailin"), "Client ID Not Found"),
    ],
)
def test_every_not_found_message_maps_to_whmcs_not_found(whmcs: WhmcsClient, call: Any, message: str) -> None:
    with pytest.raises(WhmcsNotFound) as caught:
        call(whmcs)

    assert caught.value.message == message


def test_business_errors_are_api_errors(whmcs: WhmcsClient, client_id: int) -> None:
    with pytest.raises(WhmcsApiError) as invalid_gateway:
        whmcs.add_order(client_id, [OrderLine(pid=1)], payment_method="bitcoin")
    with pytest.raises(WhmcsApiError) as duplicate:
        add_test_client(whmcs, email="taro@example.com")
    with pytest.raises(WhmcsApiError) as cycle:
        whmcs.add_order(client_id, [OrderLine(pid=4, billing_cycle="annually")], payment_method="mailin")

    assert (
        invalid_gateway.value.message
        == "Invalid Payment Method. Valid options include mailin,banktransfer,stripe"
    )
    assert duplicate.value.message == "A user already exists with that email address"
    assert cycle.value.message == "Invalid Billing Cycle: annually for product 4"
    assert not isinstance(duplicate.value, WhmcsNotFound | WhmcsAuthError)
    assert duplicate.value.retryable is False


def test_accepting_an_order_twice_is_refused(whmcs: WhmcsClient, client_id: int) -> None:
    order = whmcs.add_order(client_id, [OrderLine(pid=6)], payment_method="mailin")
    whmcs.accept_order(order.order_id)

    with pytest.raises(WhmcsError, match="Status not Pending"):
        whmcs.accept_order(order.order_id)


def test_unknown_action_is_an_api_error(whmcs: WhmcsClient) -> None:
    with pytest.raises(WhmcsApiError) as caught:
        whmcs.call("UpdateBillableItem")

    assert caught.value.message == 'Invalid API Action: "updatebillableitem" is not a valid API action'


def test_add_client_validation_error(whmcs: WhmcsClient) -> None:
    with pytest.raises(WhmcsApiError, match="Valid country required"):
        add_test_client(whmcs, country="Japan")


def test_http_500_on_a_read_is_retried_and_succeeds(whmcs: WhmcsClient, emulator: WhmcsEmulator) -> None:
    # given one 500 on the next GetProducts
    emulator.inject_fault("GetProducts", kind="http_status", status=500, times=1)

    # when
    products = whmcs.get_products([1])

    # then
    assert [p.pid for p in products] == [1]
    assert emulator.call_count("GetProducts") == 2


def test_a_read_that_keeps_failing_raises_after_the_retries(
    whmcs: WhmcsClient, emulator: WhmcsEmulator, client_id: int
) -> None:
    emulator.inject_fault("GetClientsProducts", kind="http_status", status=503, times=None)

    with pytest.raises(WhmcsTransportError) as caught:
        whmcs.get_clients_products(client_id)

    assert caught.value.status_code == 503
    assert caught.value.retryable is True
    assert emulator.call_count("GetClientsProducts") == 3


def test_http_500_on_a_write_is_not_retried(
    whmcs: WhmcsClient, emulator: WhmcsEmulator, client_id: int
) -> None:
    # given
    emulator.inject_fault("AddOrder", kind="http_status", status=500, times=1)

    # when
    with pytest.raises(WhmcsTransportError) as caught:
        whmcs.add_order(client_id, [OrderLine(pid=1)], payment_method="mailin")

    # then exactly one attempt, and no order exists
    assert caught.value.retryable is True
    assert emulator.call_count("AddOrder") == 1
    assert emulator.state.orders == []


def test_dropped_connection_on_add_client_is_a_transport_error_and_not_retried(
    whmcs: WhmcsClient, emulator: WhmcsEmulator
) -> None:
    emulator.inject_fault("AddClient", kind="drop_connection")

    with pytest.raises(WhmcsTransportError, match="connection failed"):
        add_test_client(whmcs)

    assert emulator.call_count("AddClient") == 1
    assert emulator.state.clients == []


def test_latency_beyond_the_timeout_is_a_transport_error(emulator: WhmcsEmulator) -> None:
    # given a client with a short timeout and no retries
    client = make_whmcs_client(emulator, timeout=0.2, max_retries=0)
    emulator.inject_fault("GetProducts", kind="latency", seconds=1.0)

    # when
    with pytest.raises(WhmcsTransportError) as caught:
        client.get_products()

    # then
    assert caught.value.message == "timed out after 0.2s"
    assert caught.value.retryable is True


def test_a_slow_read_succeeds_on_retry(emulator: WhmcsEmulator) -> None:
    client = make_whmcs_client(emulator, timeout=0.2)
    emulator.inject_fault("GetProducts", kind="latency", seconds=1.0, times=1)

    assert len(client.get_products()) == 6
    assert emulator.call_count("GetProducts") == 2


def test_latency_below_the_timeout_is_served(whmcs: WhmcsClient, emulator: WhmcsEmulator) -> None:
    emulator.inject_fault("GetProducts", kind="latency", seconds=0.05)

    assert len(whmcs.get_products()) == 6
    assert emulator.call_count("GetProducts") == 1


def test_injected_business_error(whmcs: WhmcsClient, emulator: WhmcsEmulator) -> None:
    emulator.inject_fault("GetProducts", kind="error", message="Something went wrong")

    with pytest.raises(WhmcsApiError, match="Something went wrong"):
        whmcs.get_products()


class CannedSession(requests.Session):
    """Answers every POST with one canned body: for shapes the emulator never produces."""

    def __init__(self, body: bytes, status: int = 200) -> None:
        super().__init__()
        self.body = body
        self.status = status

    def post(self, url: Any, data: Any = None, json: Any = None, **kwargs: Any) -> requests.Response:
        response = requests.Response()
        response.status_code = self.status
        response._content = self.body
        return response


def test_non_json_success_body_is_an_api_error() -> None:
    client = WhmcsClient(
        "http://whmcs.invalid/includes/api.php", "id", "secret", session=CannedSession(b"<html/>")
    )

    with pytest.raises(WhmcsApiError, match="non-JSON"):
        client.get_products()


def test_warning_only_body_is_an_api_error() -> None:
    session = CannedSession(b'{"warning": "Module command failed"}')
    client = WhmcsClient("http://whmcs.invalid/includes/api.php", "id", "secret", session=session)

    with pytest.raises(WhmcsApiError, match="Module command failed"):
        client.module_terminate(5)


def test_status_error_envelope_is_an_error() -> None:
    session = CannedSession(b'{"status": "error", "message": "Email Not Found"}')
    client = WhmcsClient("http://whmcs.invalid/includes/api.php", "id", "secret", session=session)

    with pytest.raises(WhmcsNotFound, match="Email Not Found"):
        client.call("GetEmails")


@pytest.mark.parametrize(
    "invoices",
    ['""', "null", "{}", '{"invoice": []}', None],
    ids=["empty-string", "null", "empty-object", "empty-wrapped-list", "missing-key"],
)
def test_get_invoices_reads_every_empty_shape_as_no_invoices(invoices: str | None) -> None:
    # given a GetInvoices answer in one of the undocumented "nothing" shapes
    field = f', "invoices": {invoices}' if invoices is not None else ""
    body = f'{{"result": "success", "totalresults": 0, "startnumber": 0, "numreturned": 0{field}}}'
    client = WhmcsClient(
        "http://whmcs.invalid/includes/api.php", "id", "secret", session=CannedSession(body.encode())
    )

    # when / then
    assert client.get_invoices(1) == []


def test_secrets_never_reach_logs_or_exceptions(
    emulator: WhmcsEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    # given a WHMCS error that echoes the credentials back, and full debug logging
    caplog.set_level(logging.DEBUG)
    client = make_whmcs_client(emulator, backoff_seconds=0.0)
    emulator.inject_fault("GetClients", kind="error", message=f"bad login {IDENTIFIER}/{SECRET}/{ACCESS_KEY}")
    emulator.inject_fault("GetProducts", kind="http_status", status=502, times=None)
    errors: list[WhmcsError] = []

    # when a write, a failing write echoing the password, a failing read (with retries) and an
    # auth failure happen
    client_id = add_test_client(client)
    emulator.inject_fault("AddClient", kind="error", message=f"Password {PASSWORD} is too weak")
    with pytest.raises(WhmcsApiError) as weak:
        add_test_client(client, email="second@example.com")
    errors.append(weak.value)
    for call in (lambda: list(client.iter_clients()), client.get_products):
        with pytest.raises(WhmcsError) as caught:
            call()
        errors.append(caught.value)
    emulator.clear_faults()
    with pytest.raises(WhmcsAuthError) as auth:
        make_whmcs_client(emulator, secret=SECRET + "-old").get_products()
    errors.append(auth.value)

    # then no secret, identifier, access key or password appears anywhere
    texts = [str(error) for error in errors] + [repr(error) for error in errors] + [repr(client)]
    texts += [record.getMessage() for record in caplog.records]
    assert client_id == 1
    assert caplog.records, "expected the client to log"
    assert errors[0].message == "Password *** is too weak"
    assert errors[1].message == "bad login ***/***/***"
    for secret in (SECRET, IDENTIFIER, ACCESS_KEY, PASSWORD):
        assert not [text for text in texts if secret in text]
