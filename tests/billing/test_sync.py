"""Billing sync: WHMCS (the emulator) → the portal's mirror tables."""

from __future__ import annotations

import pickle
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from apps.accounts.models import User
from apps.billing.models import WhmcsInvoice, WhmcsPaymentMethod, WhmcsService
from apps.billing.selectors import whmcs_client_user_ids
from apps.billing.services import SyncResult, sync_customer_billing
from apps.billing.tasks import sync_all_customers_billing_task, sync_customer_billing_task
from apps.catalog.models import ProductType
from apps.integrations.whmcs.client import WhmcsClient
from apps.integrations.whmcs.exceptions import WhmcsTransportError
from apps.integrations.whmcs.types import AddOrderResult, OrderLine
from emulators.whmcs import WhmcsEmulator
from tests.integrations.whmcs.conftest import add_test_client

from .factories import IdMappingFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(whmcs: WhmcsClient) -> User:
    """A portal user mapped to a fresh WHMCS client."""
    mapping = IdMappingFactory.create(whmcs_client_id=add_test_client(whmcs))
    return mapping.user


@pytest.fixture
def placed_order(whmcs: WhmcsClient, emulator: WhmcsEmulator, customer: User) -> AddOrderResult:
    """An accepted internet + SIM order, and a card on file."""
    client_id = customer.id_mapping.whmcs_client_id
    assert client_id is not None
    order = whmcs.add_order(
        client_id,
        [OrderLine(pid=1, config_options={1: 2}), OrderLine(pid=4)],
        payment_method="mailin",
    )
    whmcs.accept_order(order.order_id)
    emulator.add_pay_method(client_id, card_last_four="4242", expiry="12/30", description="Visa ending 4242")
    return order


def _services(user: User) -> list[tuple[Any, ...]]:
    return list(
        WhmcsService.objects.filter(user=user)
        .order_by("whmcs_id")
        .values_list("whmcs_id", "whmcs_product_id", "product_type", "status", "recurring_amount")
    )


def test_sync_mirrors_services_invoices_and_payment_methods(
    whmcs: WhmcsClient, emulator: WhmcsEmulator, customer: User, placed_order: AddOrderResult
) -> None:
    # given the catalog knows WHMCS pid 1 as an internet plan (pid 4 is not in the catalog)
    internet = ProductFactory.create(whmcs_product_id=1, product_type=ProductType.INTERNET)
    today = emulator.state.today()

    # when
    result = sync_customer_billing(user_id=customer.pk, client=whmcs)

    # then
    assert result == SyncResult(
        user_id=customer.pk, whmcs_client_id=1, services=2, invoices=1, payment_methods=1, deleted=0
    )
    home, sim = WhmcsService.objects.filter(user=customer).order_by("whmcs_id")
    assert (home.whmcs_id, home.product, home.product_type, home.name) == (1, internet, "internet", "Home 1G")
    assert (home.status, home.billing_cycle, home.whmcs_order_id) == (
        "Active",
        "Monthly",
        placed_order.order_id,
    )
    assert (home.recurring_amount, home.registered_on, home.next_due_on) == (Decimal("6050.00"), today, today)
    assert (sim.whmcs_id, sim.product, sim.product_type, sim.whmcs_product_id) == (2, None, "", 4)

    invoice = WhmcsInvoice.objects.get(user=customer)
    assert (invoice.whmcs_id, invoice.status, invoice.number) == (placed_order.invoice_id, "Unpaid", "")
    assert (invoice.subtotal, invoice.tax, invoice.total) == (
        Decimal("10550.00"),
        Decimal("0"),
        Decimal("10550.00"),
    )
    assert (invoice.issued_on, invoice.due_on, invoice.paid_at, invoice.currency_code) == (
        today,
        today,
        None,
        "JPY",
    )

    card = WhmcsPaymentMethod.objects.get(user=customer)
    assert (card.whmcs_id, card.type, card.card_type, card.card_last_four) == (
        1,
        "CreditCard",
        "Visa",
        "4242",
    )
    assert (card.expires_on, card.description, card.gateway_name) == (
        date(2030, 12, 31),
        "Visa ending 4242",
        "stripe",
    )
    assert home.synced_at == invoice.synced_at == card.synced_at


def test_a_later_sync_applies_changes_and_removes_absent_records(
    whmcs: WhmcsClient, emulator: WhmcsEmulator, customer: User, placed_order: AddOrderResult
) -> None:
    # given a first sync
    sync_customer_billing(user_id=customer.pk, client=whmcs)
    first_synced_at = WhmcsService.objects.get(whmcs_id=1).synced_at

    # and then, in WHMCS: the SIM service is deleted, the internet one suspended, the invoice paid
    # and the card removed
    internet_id, sim_id = placed_order.service_ids
    emulator.delete_service(sim_id)
    emulator.set_service_status(internet_id, "Suspended")
    assert placed_order.invoice_id is not None
    emulator.mark_invoice_paid(placed_order.invoice_id)
    emulator.delete_pay_method(1)

    # when
    result = sync_customer_billing(user_id=customer.pk, client=whmcs)

    # then
    assert (result.services, result.invoices, result.payment_methods, result.deleted) == (1, 1, 0, 2)
    assert _services(customer) == [(1, 1, "", "Suspended", Decimal("6050.00"))]
    invoice = WhmcsInvoice.objects.get(user=customer)
    assert invoice.status == "Paid"
    assert invoice.paid_at is not None
    assert WhmcsPaymentMethod.objects.filter(user=customer).count() == 0
    assert WhmcsService.objects.get(whmcs_id=1).synced_at > first_synced_at


def test_sync_is_idempotent(whmcs: WhmcsClient, customer: User, placed_order: AddOrderResult) -> None:
    sync_customer_billing(user_id=customer.pk, client=whmcs)
    before = _services(customer)

    result = sync_customer_billing(user_id=customer.pk, client=whmcs)

    assert result.deleted == 0
    assert _services(customer) == before
    assert WhmcsInvoice.objects.count() == 1
    assert WhmcsPaymentMethod.objects.count() == 1


def test_sync_leaves_other_customers_rows_alone(
    whmcs: WhmcsClient, customer: User, placed_order: AddOrderResult
) -> None:
    # given another customer with their own order, already mirrored
    other = IdMappingFactory.create(whmcs_client_id=add_test_client(whmcs, email="other@example.com")).user
    whmcs.add_order(other.id_mapping.whmcs_client_id or 0, [OrderLine(pid=6)], payment_method="mailin")
    sync_customer_billing(user_id=other.pk, client=whmcs)

    # when
    sync_customer_billing(user_id=customer.pk, client=whmcs)

    # then
    assert _services(other) == [(3, 6, "", "Pending", Decimal("900.00"))]
    assert WhmcsInvoice.objects.filter(user=other).count() == 1


def test_users_without_a_whmcs_client_are_skipped(emulator: WhmcsEmulator, whmcs: WhmcsClient) -> None:
    # given a user without a mapping and one whose mapping has no WHMCS client
    unmapped = UserFactory.create()
    salesforce_only = IdMappingFactory.create(whmcs_client_id=None).user

    # when
    results = [sync_customer_billing(user_id=user.pk, client=whmcs) for user in (unmapped, salesforce_only)]

    # then no WHMCS call was made
    assert results == [
        SyncResult(user_id=unmapped.pk, whmcs_client_id=None, skipped=True),
        SyncResult(user_id=salesforce_only.pk, whmcs_client_id=None, skipped=True),
    ]
    assert emulator.calls == {}


def test_a_failed_fetch_keeps_the_previous_mirror(
    whmcs: WhmcsClient, emulator: WhmcsEmulator, customer: User, placed_order: AddOrderResult
) -> None:
    # given a mirrored customer whose service then changes in WHMCS
    sync_customer_billing(user_id=customer.pk, client=whmcs)
    emulator.set_service_status(placed_order.service_ids[0], "Suspended")
    # and WHMCS failing on the last of the three reads
    emulator.inject_fault("GetPayMethods", kind="http_status", status=500, times=None)

    # when
    with pytest.raises(WhmcsTransportError):
        sync_customer_billing(user_id=customer.pk, client=whmcs)

    # then nothing was written
    assert [row[3] for row in _services(customer)] == ["Active", "Active"]
    assert WhmcsPaymentMethod.objects.filter(user=customer).count() == 1


def test_sync_task_uses_the_configured_client(
    whmcs_settings: dict[str, Any], customer: User, placed_order: AddOrderResult
) -> None:
    # when the task runs (in-process)
    outcome = sync_customer_billing_task.apply(args=(customer.pk,))

    # then
    assert outcome.successful()
    assert [row[0] for row in _services(customer)] == [1, 2]
    assert sync_customer_billing_task.name == "integrations.whmcs.sync_customer_billing"


def test_sync_all_fans_out_per_mapped_user(
    whmcs_settings: dict[str, Any],
    eager_celery: Any,
    whmcs: WhmcsClient,
    emulator: WhmcsEmulator,
    customer: User,
    placed_order: AddOrderResult,
) -> None:
    # given a second mapped customer and a user without WHMCS
    second = IdMappingFactory.create(whmcs_client_id=add_test_client(whmcs, email="second@example.com")).user
    IdMappingFactory.create(whmcs_client_id=None)
    emulator.reset_calls()

    # when
    outcome = sync_all_customers_billing_task.apply()

    # then one sync ran per mapped user
    assert whmcs_client_user_ids() == [customer.pk, second.pk]
    assert outcome.result == 2
    assert WhmcsService.objects.filter(user=customer).count() == 2
    assert WhmcsService.objects.filter(user=second).count() == 0
    assert emulator.call_count("GetPayMethods") == 2
    assert sync_all_customers_billing_task.name == "integrations.whmcs.sync_all_customers_billing"


def test_sync_task_retries_on_transport_errors(
    whmcs_settings: dict[str, Any], emulator: WhmcsEmulator, customer: User, placed_order: AddOrderResult
) -> None:
    # given WHMCS failing the first task run: three 503s use up the client's own read retries
    emulator.reset_calls()
    emulator.inject_fault("GetClientsProducts", kind="http_status", status=503, times=3)

    # when the task runs (eagerly, so Celery re-runs it in-process on retry)
    outcome = sync_customer_billing_task.apply(args=(customer.pk,))

    # then Celery retried the task once, and the second run mirrored the services
    assert outcome.successful()
    assert emulator.call_count("GetClientsProducts") == 4
    assert [row[0] for row in _services(customer)] == [1, 2]


def test_whmcs_errors_survive_pickling() -> None:
    error = WhmcsTransportError("HTTP 503", "GetInvoices", status_code=503)

    copy = pickle.loads(pickle.dumps(error))

    assert (type(copy), str(copy), copy.retryable, copy.status_code) == (
        WhmcsTransportError,
        "WHMCS GetInvoices: HTTP 503",
        True,
        503,
    )
