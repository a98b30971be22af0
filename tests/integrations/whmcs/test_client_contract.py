"""Every client action against the emulator over HTTP, with its normalised, typed result."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from apps.integrations.whmcs.client import WhmcsClient
from apps.integrations.whmcs.exceptions import WhmcsApiError, WhmcsNotFound
from apps.integrations.whmcs.types import (
    AddOrderResult,
    OrderLine,
    WhmcsConfigOption,
    WhmcsInvoiceItem,
    WhmcsPayMethodRecord,
    WhmcsServiceRecord,
)
from emulators.whmcs import WhmcsEmulator

from .conftest import TOKYO, add_test_client


def _today(emulator: WhmcsEmulator) -> date:
    return emulator.state.today()


def _order_internet_and_sim(whmcs: WhmcsClient, client_id: int) -> AddOrderResult:
    return whmcs.add_order(
        client_id,
        [OrderLine(pid=1, billing_cycle="monthly", config_options={1: 2}), OrderLine(pid=4)],
        payment_method="mailin",
        notes="portal order 42",
    )


def test_add_client_returns_the_new_id_and_keeps_notes(whmcs: WhmcsClient, emulator: WhmcsEmulator) -> None:
    # when
    client_id = add_test_client(whmcs, email="Hanako@Example.com", first_name="花子")

    # then
    assert client_id == 1
    details = whmcs.get_client_details(client_id=client_id)
    assert details.id == 1
    assert details.first_name == "花子"
    assert details.email == "hanako@example.com"
    assert details.country == "JP"
    assert details.status == "Active"
    assert details.currency_code == "JPY"
    assert details.credit == Decimal("0.00")
    assert details.notes == "Created by the SonixNet portal"
    assert details.email_verified is False
    assert details.owner_user_id == 1
    assert emulator.state.users[0]["email"] == "hanako@example.com"


def test_get_client_details_by_email(whmcs: WhmcsClient, client_id: int) -> None:
    details = whmcs.get_client_details(email="taro@example.com")

    assert details.id == client_id
    assert details.last_name == "Yamada"


def test_update_client_changes_fields(whmcs: WhmcsClient, client_id: int) -> None:
    # when
    returned = whmcs.update_client(client_id, notes="portal user 9", status="Inactive", city="Minato-ku")

    # then
    assert returned == client_id
    details = whmcs.get_client_details(client_id=client_id)
    assert (details.notes, details.status, details.city) == ("portal user 9", "Inactive", "Minato-ku")


def test_close_client_cancels_invoices_and_services(
    whmcs: WhmcsClient, emulator: WhmcsEmulator, client_id: int
) -> None:
    # given an accepted order (Active services) and a pending one
    accepted = _order_internet_and_sim(whmcs, client_id)
    whmcs.accept_order(accepted.order_id)
    pending = whmcs.add_order(client_id, [OrderLine(pid=6)], payment_method="mailin")

    # when
    whmcs.close_client(client_id)

    # then
    assert whmcs.get_client_details(client_id=client_id).status == "Closed"
    statuses = {service.id: service.status for service in whmcs.get_clients_products(client_id)}
    assert statuses == {
        accepted.service_ids[0]: "Terminated",
        accepted.service_ids[1]: "Terminated",
        pending.service_ids[0]: "Cancelled",
    }
    assert [invoice.status for invoice in whmcs.get_invoices(client_id)] == ["Cancelled", "Cancelled"]


def test_delete_client_removes_everything_it_owns(
    whmcs: WhmcsClient, emulator: WhmcsEmulator, client_id: int
) -> None:
    # given a client with services, an invoice and a card
    _order_internet_and_sim(whmcs, client_id)
    emulator.add_pay_method(client_id)

    # when
    whmcs.delete_client(client_id)

    # then like real WHMCS the client goes with all its records, and its now client-less user
    assert emulator.state.clients == []
    assert emulator.state.services == []
    assert emulator.state.invoices == []
    assert emulator.state.orders == []
    assert emulator.state.paymethods == []
    assert emulator.state.users == []
    with pytest.raises(WhmcsNotFound):
        whmcs.get_client_details(client_id=client_id)


def test_delete_client_can_keep_the_user(whmcs: WhmcsClient, emulator: WhmcsEmulator, client_id: int) -> None:
    whmcs.delete_client(client_id, delete_users=False)

    assert emulator.state.clients == []
    assert [user["email"] for user in emulator.state.users] == ["taro@example.com"]


def test_iter_clients_filters_by_search_prefix_and_status(whmcs: WhmcsClient) -> None:
    # given
    add_test_client(whmcs, email="alice@example.com", first_name="Alice")
    bob = add_test_client(whmcs, email="bob@example.com", first_name="Bob")
    whmcs.close_client(bob)

    # when / then
    assert [c.email for c in whmcs.iter_clients(search="ali")] == ["alice@example.com"]
    assert [c.email for c in whmcs.iter_clients(status="Closed")] == ["bob@example.com"]
    summary = next(whmcs.iter_clients(search="bob"))
    assert (summary.id, summary.first_name, summary.status, summary.group_id) == (bob, "Bob", "Closed", 0)


def test_iter_clients_follows_pagination(whmcs: WhmcsClient, emulator: WhmcsEmulator) -> None:
    # given seven clients
    for index in range(7):
        add_test_client(whmcs, email=f"user{index}@example.com")
    emulator.reset_calls()

    # when
    clients = list(whmcs.iter_clients(page_size=3))

    # then three pages were read
    assert [c.email for c in clients] == [f"user{index}@example.com" for index in range(7)]
    assert emulator.call_count("GetClients") == 3


def test_iter_clients_of_an_empty_installation(whmcs: WhmcsClient, emulator: WhmcsEmulator) -> None:
    assert list(whmcs.iter_clients()) == []
    assert emulator.call_count("GetClients") == 1


def test_add_order_creates_pending_order_services_and_unpaid_invoice(
    whmcs: WhmcsClient, emulator: WhmcsEmulator, client_id: int
) -> None:
    # when
    result = _order_internet_and_sim(whmcs, client_id)

    # then the CSV service ids are parsed
    assert result == AddOrderResult(order_id=1, service_ids=(1, 2), addon_ids=(), invoice_id=1)
    [order] = whmcs.get_orders(client_id=client_id)
    assert order.id == 1
    assert order.status == "Pending"
    assert order.payment_status == "Unpaid"
    assert order.invoice_id == 1
    assert order.notes == "portal order 42"
    assert order.amount == Decimal("10550.00")  # 5500 + 550 router, 1200 + 3300 SIM activation
    assert order.placed_at is not None
    assert order.placed_at.tzinfo == TOKYO
    assert [(li.rel_id, li.product, li.billing_cycle, li.amount, li.status) for li in order.line_items] == [
        (1, "Home 1G", "Monthly", Decimal("6050.00"), "Pending"),
        (2, "SIM Data 5GB", "Monthly", Decimal("4500.00"), "Pending"),
    ]
    invoice = whmcs.get_invoice(1)
    assert invoice.status == "Unpaid"
    assert invoice.total == invoice.balance == Decimal("10550.00")
    assert [(item.type, item.rel_id, item.amount) for item in invoice.items] == [
        ("Hosting", 1, Decimal("6050.00")),
        ("Hosting", 2, Decimal("4500.00")),
    ]


def test_get_clients_products_returns_typed_services(
    whmcs: WhmcsClient, emulator: WhmcsEmulator, client_id: int
) -> None:
    # given
    result = _order_internet_and_sim(whmcs, client_id)

    # when
    services = whmcs.get_clients_products(client_id)

    # then
    today = _today(emulator)
    assert services[0] == WhmcsServiceRecord(
        id=result.service_ids[0],
        client_id=client_id,
        order_id=result.order_id,
        pid=1,
        name="Home 1G",
        group_name="Internet",
        domain="",
        status="Pending",
        billing_cycle="Monthly",
        first_payment_amount=Decimal("6050.00"),
        recurring_amount=Decimal("6050.00"),
        payment_method="mailin",
        registered_on=today,
        next_due_on=today,
        config_options=(
            WhmcsConfigOption(id=1, option="Router rental", type="dropdown", value="Wi-Fi 6 router"),
        ),
    )
    assert (services[1].pid, services[1].recurring_amount, services[1].config_options) == (
        4,
        Decimal("1200.00"),
        (),
    )


def test_one_time_products_have_no_next_due_date(whmcs: WhmcsClient, client_id: int) -> None:
    whmcs.add_order(client_id, [OrderLine(pid=3, billing_cycle="onetime")], payment_method="banktransfer")

    [service] = whmcs.get_clients_products(client_id)

    assert (service.billing_cycle, service.next_due_on, service.recurring_amount) == (
        "One Time",
        None,
        Decimal("0.00"),
    )


def test_get_clients_products_of_a_client_without_services(whmcs: WhmcsClient, client_id: int) -> None:
    assert whmcs.get_clients_products(client_id) == []


def test_accept_order_activates_order_and_services(whmcs: WhmcsClient, client_id: int) -> None:
    # given
    result = _order_internet_and_sim(whmcs, client_id)

    # when
    whmcs.accept_order(result.order_id)

    # then
    assert whmcs.get_orders(order_id=result.order_id)[0].status == "Active"
    assert [s.status for s in whmcs.get_clients_products(client_id)] == ["Active", "Active"]


def test_cancel_order_cancels_services_and_invoice(whmcs: WhmcsClient, client_id: int) -> None:
    result = _order_internet_and_sim(whmcs, client_id)

    whmcs.cancel_order(result.order_id)

    assert whmcs.get_orders(order_id=result.order_id)[0].status == "Cancelled"
    assert [s.status for s in whmcs.get_clients_products(client_id)] == ["Cancelled", "Cancelled"]
    assert whmcs.get_invoice(1).status == "Cancelled"


def test_get_orders_of_a_client_without_orders(whmcs: WhmcsClient, client_id: int) -> None:
    assert whmcs.get_orders(client_id=client_id) == []


def test_update_client_product_and_module_terminate(whmcs: WhmcsClient, client_id: int) -> None:
    # given
    result = _order_internet_and_sim(whmcs, client_id)
    internet, sim = result.service_ids

    # when
    whmcs.update_client_product(
        internet, status="Suspended", nextduedate=date(2031, 1, 31), configoptions={1: 1}
    )
    whmcs.module_terminate(sim)

    # then
    services = {s.id: s for s in whmcs.get_clients_products(client_id)}
    assert services[internet].status == "Suspended"
    assert services[internet].next_due_on == date(2031, 1, 31)
    assert services[internet].config_options[0].value == "No router"
    assert services[sim].status == "Terminated"


def test_module_terminate_needs_a_module(whmcs: WhmcsClient, client_id: int) -> None:
    result = whmcs.add_order(client_id, [OrderLine(pid=3, billing_cycle="onetime")], payment_method="mailin")

    with pytest.raises(WhmcsApiError, match="Service not assigned to a module"):
        whmcs.module_terminate(result.service_ids[0])


def test_get_invoices_and_status_filter(whmcs: WhmcsClient, emulator: WhmcsEmulator, client_id: int) -> None:
    # given two orders, the first paid
    _order_internet_and_sim(whmcs, client_id)
    whmcs.add_order(client_id, [OrderLine(pid=6, billing_cycle="annually")], payment_method="mailin")
    emulator.mark_invoice_paid(1, transaction_id="txn-1")

    # when
    invoices = whmcs.get_invoices(client_id)
    unpaid = whmcs.get_invoices(client_id, status="Unpaid")

    # then
    assert [(i.id, i.status, i.total) for i in invoices] == [
        (1, "Paid", Decimal("10550.00")),
        (2, "Unpaid", Decimal("9900.00")),
    ]
    assert invoices[0].paid_at is not None
    assert invoices[0].paid_at.tzinfo == TOKYO
    assert invoices[1].paid_at is None
    assert invoices[1].issued_on == invoices[1].due_on == _today(emulator)
    assert invoices[1].currency_code == "JPY"
    assert invoices[1].number == ""
    assert [i.id for i in unpaid] == [2]


def test_get_invoices_across_pages(whmcs: WhmcsClient, emulator: WhmcsEmulator, client_id: int) -> None:
    # given five invoices
    for _ in range(5):
        whmcs.add_order(client_id, [OrderLine(pid=6)], payment_method="mailin")
    emulator.reset_calls()

    # when
    invoices = whmcs.get_invoices(client_id, page_size=2)

    # then
    assert [invoice.id for invoice in invoices] == [1, 2, 3, 4, 5]
    assert emulator.call_count("GetInvoices") == 3


def test_get_invoice_with_payment_has_transactions_and_zero_balance(
    whmcs: WhmcsClient, emulator: WhmcsEmulator, client_id: int
) -> None:
    # given
    _order_internet_and_sim(whmcs, client_id)
    emulator.mark_invoice_paid(1, transaction_id="ch_123")

    # when
    invoice = whmcs.get_invoice(1)

    # then
    assert invoice.status == "Paid"
    assert invoice.balance == Decimal("0.00")
    assert [(t.transaction_id, t.amount_in, t.gateway) for t in invoice.transactions] == [
        ("ch_123", Decimal("10550.00"), "mailin")
    ]
    assert invoice.items[0] == WhmcsInvoiceItem(
        id=1,
        type="Hosting",
        rel_id=1,
        description=invoice.items[0].description,
        amount=Decimal("6050.00"),
        taxed=False,
    )
    assert invoice.items[0].description.startswith("Internet - Home 1G (")
    # paying moved the monthly service's next due date one month on
    internet = whmcs.get_clients_products(client_id)[0]
    assert internet.next_due_on is not None
    assert internet.next_due_on > _today(emulator)


def test_get_invoice_without_transactions_reads_the_empty_string(whmcs: WhmcsClient, client_id: int) -> None:
    _order_internet_and_sim(whmcs, client_id)

    assert whmcs.get_invoice(1).transactions == ()


def test_get_pay_methods_parses_card_expiry(
    whmcs: WhmcsClient, emulator: WhmcsEmulator, client_id: int
) -> None:
    # given
    card = emulator.add_pay_method(client_id, card_last_four="1111", expiry="02/28", card_type="Mastercard")
    bank = emulator.add_pay_method(
        client_id, type="BankAccount", bank_name="MUFG", gateway_name="banktransfer"
    )

    # when
    methods = whmcs.get_pay_methods(client_id)

    # then
    assert methods == [
        WhmcsPayMethodRecord(
            id=card,
            type="CreditCard",
            description="",
            gateway_name="stripe",
            card_type="Mastercard",
            card_last_four="1111",
            expires_on=date(2028, 2, 29),
            bank_name="",
        ),
        WhmcsPayMethodRecord(
            id=bank,
            type="BankAccount",
            description="",
            gateway_name="banktransfer",
            card_type="",
            card_last_four="",
            expires_on=None,
            bank_name="MUFG",
        ),
    ]


def test_get_pay_methods_of_a_client_without_any(whmcs: WhmcsClient, client_id: int) -> None:
    assert whmcs.get_pay_methods(client_id) == []


def test_get_products_skips_cycles_not_offered(whmcs: WhmcsClient) -> None:
    # when
    products = whmcs.get_products([1, 4])

    # then "-1.00" cycles are left out
    assert [(p.pid, p.name, p.pay_type, p.module) for p in products] == [
        (1, "Home 1G", "recurring", "sonixnet_fiber"),
        (4, "SIM Data 5GB", "recurring", "sonixnet_mobile"),
    ]
    [pricing] = products[0].pricing
    assert pricing.currency == "JPY"
    assert dict(pricing.cycles) == {"monthly": Decimal("5500.00"), "annually": Decimal("60500.00")}
    assert dict(products[1].pricing[0].setup_fees) == {"monthly": Decimal("3300.00")}
    assert len(whmcs.get_products()) == 6


def test_dates_are_in_the_whmcs_server_zone(
    whmcs: WhmcsClient, emulator: WhmcsEmulator, client_id: int
) -> None:
    _order_internet_and_sim(whmcs, client_id)

    [order] = whmcs.get_orders(client_id=client_id)

    assert order.placed_at is not None
    assert abs(order.placed_at - emulator.state.now()) < timedelta(minutes=1)
