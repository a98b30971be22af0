"""The emulator itself: raw wire shapes, the control endpoint, persistence and call counts."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import requests

from apps.integrations.whmcs.client import WhmcsClient
from apps.integrations.whmcs.exceptions import WhmcsTransportError
from apps.integrations.whmcs.types import OrderLine
from emulators.whmcs import WhmcsEmulator, serve
from tests.helpers import wait_until

from .conftest import IDENTIFIER, SECRET, add_test_client, make_whmcs_client


def _raw(emulator: WhmcsEmulator, **params: Any) -> requests.Response:
    return requests.post(
        emulator.url,
        data={"identifier": IDENTIFIER, "secret": SECRET, "responsetype": "json", **params},
        timeout=5,
    )


def test_action_is_case_insensitive(emulator: WhmcsEmulator) -> None:
    response = _raw(emulator, action="getproducts", pid="1")

    assert response.status_code == 200
    assert response.json()["result"] == "success"
    assert emulator.call_count("GetProducts") == 1


def test_auth_failure_is_403_with_a_json_body(emulator: WhmcsEmulator) -> None:
    response = requests.post(
        emulator.url, data={"identifier": IDENTIFIER, "secret": "x", "action": "GetClients"}, timeout=5
    )

    assert response.status_code == 403
    assert response.json() == {"result": "error", "message": "Authentication Failed"}


def test_empty_lists_are_empty_strings_with_numreturned_zero(emulator: WhmcsEmulator) -> None:
    clients = _raw(emulator, action="GetClients").json()
    products = _raw(emulator, action="GetClientsProducts", clientid="1").json()

    assert clients == {
        "result": "success",
        "totalresults": 0,
        "startnumber": 0,
        "numreturned": 0,
        "clients": "",
    }
    assert products["products"] == ""
    assert products["totalresults"] == "0"
    assert products["numreturned"] == 0


def test_ids_and_money_keep_the_whmcs_types(
    whmcs: WhmcsClient, emulator: WhmcsEmulator, client_id: int
) -> None:
    whmcs.add_order(client_id, [OrderLine(pid=1), OrderLine(pid=4)], payment_method="mailin")

    order = _raw(
        emulator, action="AddOrder", clientid=str(client_id), paymentmethod="mailin", **{"pid[0]": "6"}
    ).json()
    services = _raw(emulator, action="GetClientsProducts", clientid=str(client_id), limitnum="25").json()
    invoices = _raw(emulator, action="GetInvoices", userid=str(client_id)).json()
    product = _raw(emulator, action="GetProducts", pid="4").json()["products"]["product"][0]

    assert order == {
        "result": "success",
        "orderid": "2",
        "serviceids": "3",
        "addonids": "",
        "domainids": "",
        "invoiceid": "2",
    }
    first = services["products"]["product"][0]
    assert (first["id"], first["pid"], first["recurringamount"], first["overidesuspenduntil"]) == (
        "1",
        "1",
        "5500.00",
        "0000-00-00",
    )
    assert services["totalresults"] == "3"
    assert invoices["invoices"]["invoice"][0]["id"] == 1
    assert invoices["invoices"]["invoice"][0]["datepaid"] == "0000-00-00 00:00:00"
    assert product["pricing"]["JPY"]["annually"] == "-1.00"
    assert product["pricing"]["JPY"]["monthly"] == "1200.00"


def test_add_order_requires_array_parameters(
    emulator: WhmcsEmulator, whmcs: WhmcsClient, client_id: int
) -> None:
    response = _raw(emulator, action="AddOrder", clientid=str(client_id), paymentmethod="mailin", pid="1")

    assert response.json() == {"result": "error", "message": "Expecting parameter 'pid' to be an array"}


def test_default_page_size_is_25(emulator: WhmcsEmulator, whmcs: WhmcsClient) -> None:
    for index in range(27):
        add_test_client(whmcs, email=f"user{index:02d}@example.com")

    first = _raw(emulator, action="GetClients").json()
    second = _raw(emulator, action="GetClients", limitstart="25").json()

    assert (first["totalresults"], first["numreturned"], len(first["clients"]["client"])) == (27, 25, 25)
    assert (second["startnumber"], second["numreturned"]) == (25, 2)


def test_control_endpoint_injects_and_clears_faults(emulator: WhmcsEmulator, whmcs: WhmcsClient) -> None:
    # given a fault injected over HTTP
    injected = requests.post(
        f"{emulator.base_url}/__emulator__/inject_fault",
        json={"action": "GetProducts", "kind": "error", "message": "Down for maintenance", "times": 2},
        timeout=5,
    )
    armed = requests.get(f"{emulator.base_url}/__emulator__/faults", timeout=5).json()

    # when
    first = _raw(emulator, action="GetProducts").json()
    requests.post(f"{emulator.base_url}/__emulator__/clear_faults", json={}, timeout=5)
    second = _raw(emulator, action="GetProducts").json()

    # then
    assert injected.status_code == 200
    assert [(f["action"], f["kind"], f["times"]) for f in armed] == [("GetProducts", "error", 2)]
    assert first == {"result": "error", "message": "Down for maintenance"}
    assert second["result"] == "success"
    assert requests.get(f"{emulator.base_url}/__emulator__/calls", timeout=5).json() == {"getproducts": 2}


def test_control_endpoint_admin_operations_state_and_reset(
    emulator: WhmcsEmulator, whmcs: WhmcsClient
) -> None:
    # given
    client_id = add_test_client(whmcs)
    order = whmcs.add_order(client_id, [OrderLine(pid=1)], payment_method="mailin")
    base = f"{emulator.base_url}/__emulator__"

    # when an operator acts through the control API
    card = requests.post(
        f"{base}/add_pay_method", json={"client_id": client_id, "expiry": "07/29"}, timeout=5
    )
    requests.post(f"{base}/mark_invoice_paid", json={"invoice_id": order.invoice_id}, timeout=5)
    requests.post(
        f"{base}/set_service_status",
        json={"service_id": order.service_ids[0], "status": "Suspended"},
        timeout=5,
    )
    state = requests.get(f"{base}/state", timeout=5).json()
    bad = requests.post(f"{base}/set_service_status", json={"service_id": 99, "status": "Active"}, timeout=5)
    unknown = requests.post(f"{base}/drop_tables", json={}, timeout=5)
    requests.post(f"{base}/reset", json={}, timeout=5)

    # then
    assert card.json() == {"ok": True, "result": 1}
    assert state["invoices"]["1"]["status"] == "Paid"
    assert state["services"]["1"]["status"] == "Suspended"
    assert state["paymethods"]["1"]["expiry_date"] == "07/29"
    assert (bad.status_code, bad.json()) == (400, {"error": "Service ID Not Found"})
    assert unknown.status_code == 404
    assert emulator.state.clients == []
    assert emulator.calls == {}


def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    # given an emulator with a state file and one client
    state_file = tmp_path / "whmcs.json"
    with WhmcsEmulator(IDENTIFIER, SECRET, port=0, state_file=state_file) as first:
        client_id = add_test_client(make_whmcs_client(first))
        first.add_pay_method(client_id)

    # when a new emulator starts on the same file
    with WhmcsEmulator(IDENTIFIER, SECRET, port=0, state_file=state_file) as second:
        client = make_whmcs_client(second)
        details = client.get_client_details(client_id=client_id)
        next_id = add_test_client(client, email="second@example.com")

    # then records and id counters were kept
    assert details.email == "taro@example.com"
    assert next_id == client_id + 1
    assert [p["id"] for p in second.state.paymethods] == [1]


def test_custom_product_catalog() -> None:
    catalog = [
        {
            "pid": 42,
            "gid": 3,
            "name": "VPN Pro",
            "product_type": "vpn",
            "slug": "vpn-pro",
            "description": "",
            "module": "vpn",
            "paytype": "recurring",
            "pricing": {"monthly": "1500.00", "msetupfee": "0.00"},
            "configoptions": [],
        }
    ]
    with WhmcsEmulator(IDENTIFIER, SECRET, port=0, products=catalog) as emulator:
        products = make_whmcs_client(emulator).get_products()

    assert [(p.pid, p.name) for p in products] == [(42, "VPN Pro")]


def test_serve_runs_until_stopped(tmp_path: Path) -> None:
    # given serve() running in a thread on a fixed free port
    with WhmcsEmulator(IDENTIFIER, SECRET, port=0) as probe:
        port = probe.port
    stop = threading.Event()
    state_file = tmp_path / "served.json"
    thread = threading.Thread(
        target=serve, args=("127.0.0.1", port, state_file, IDENTIFIER, SECRET), kwargs={"stop_event": stop}
    )
    thread.start()

    # when a client talks to it and it is stopped
    client = WhmcsClient(f"http://127.0.0.1:{port}/includes/api.php", IDENTIFIER, SECRET, timeout=2.0)
    client_ids: list[int] = []

    def served() -> bool:
        try:
            client_ids.append(add_test_client(client))
        except WhmcsTransportError:  # not listening yet
            return False
        return True

    try:
        wait_until(served, timeout=5, interval=0.02, message="the emulator to answer")
    finally:
        stop.set()
        thread.join(timeout=5)

    # then it served the call and kept the state on disk
    assert client_ids == [1]
    assert not thread.is_alive()
    assert '"taro@example.com"' in state_file.read_text(encoding="utf-8")
