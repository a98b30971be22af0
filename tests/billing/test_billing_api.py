"""Invoices and payment methods, read from the WHMCS mirror through the billing API."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from apps.accounts.models import User
from apps.billing.models import WhmcsInvoice, WhmcsPaymentMethod
from tests.billing.conftest import SYNCED_AT
from tests.factories import CustomerFactory, WhmcsInvoiceFactory, WhmcsPaymentMethodFactory
from tests.helpers import error_code, error_message, field_messages

pytestmark = pytest.mark.django_db

INVOICES_URL = "/api/billing/invoices"
PAYMENT_METHODS_URL = "/api/billing/payment-methods"


def invoice_for(user: User, **kwargs: object) -> WhmcsInvoice:
    return WhmcsInvoiceFactory.create(user=user, synced_at=SYNCED_AT, **kwargs)


# --- Invoices ------------------------------------------------------------------------------


def test_invoice_list_shows_the_customers_invoices_newest_first(
    customer_client: Client, customer: User
) -> None:
    # Given a paid December invoice, an unpaid January invoice, and another customer's invoice
    paid = invoice_for(
        customer,
        whmcs_id=501,
        number="INV-00501",
        status=WhmcsInvoice.Status.PAID,
        issued_on=datetime.date(2024, 12, 1),
        due_on=datetime.date(2024, 12, 15),
        paid_at=datetime.datetime(2024, 12, 5, 3, 30, tzinfo=datetime.UTC),
    )
    unpaid = invoice_for(
        customer,
        whmcs_id=502,
        number="INV-00502",
        status=WhmcsInvoice.Status.UNPAID,
        issued_on=datetime.date(2025, 1, 1),
        due_on=datetime.date(2025, 1, 15),
        subtotal=Decimal("6345.45"),
        tax=Decimal("634.55"),
        total=Decimal("6980.00"),
    )
    invoice_for(CustomerFactory.create(), issued_on=datetime.date(2025, 2, 1))

    # When the customer lists their invoices
    response = customer_client.get(INVOICES_URL)

    # Then both of theirs are listed, newest first, money as integers in the currency's minor unit
    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": unpaid.pk,
                "whmcs_id": 502,
                "number": "INV-00502",
                "status": "unpaid",
                "issued_on": "2025-01-01",
                "due_on": "2025-01-15",
                "paid_at": None,
                "subtotal": 6345,  # WHMCS sent 6345.45 yen: yen have no minor unit, half rounds up
                "tax": 635,
                "total": 6980,
                "currency": "JPY",
                "synced_at": "2025-01-10T09:00:00+09:00",
            },
            {
                "id": paid.pk,
                "whmcs_id": 501,
                "number": "INV-00501",
                "status": "paid",
                "issued_on": "2024-12-01",
                "due_on": "2024-12-15",
                "paid_at": "2024-12-05T12:30:00+09:00",
                "subtotal": 4528,
                "tax": 452,
                "total": 4980,
                "currency": "JPY",
                "synced_at": "2025-01-10T09:00:00+09:00",
            },
        ],
    }


def test_invoice_list_filters_by_status(customer_client: Client, customer: User) -> None:
    # Given a paid and an unpaid invoice
    invoice_for(customer, status=WhmcsInvoice.Status.PAID)
    unpaid = invoice_for(customer, status=WhmcsInvoice.Status.UNPAID)

    # When the customer asks for unpaid invoices only
    response = customer_client.get(INVOICES_URL, {"status": "unpaid"})

    # Then only the unpaid one is listed
    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert [invoice["id"] for invoice in response.json()["results"]] == [unpaid.pk]


def test_invoice_list_rejects_an_unknown_status(customer_client: Client) -> None:
    response = customer_client.get(INVOICES_URL, {"status": "Overdue"})

    assert response.status_code == 400
    assert field_messages(response) == {"status": ['"Overdue" is not a valid choice.']}


def test_invoice_list_is_paginated_by_twenty(customer_client: Client, customer: User) -> None:
    # Given 25 unpaid invoices, one a day, and a paid one
    first_day = datetime.date(2025, 1, 1)
    invoices = [invoice_for(customer, issued_on=first_day + datetime.timedelta(days=n)) for n in range(25)]
    invoice_for(customer, status=WhmcsInvoice.Status.PAID)

    # When the customer pages through their unpaid invoices
    page_1 = customer_client.get(INVOICES_URL, {"status": "unpaid"}).json()
    page_2 = customer_client.get(INVOICES_URL, {"status": "unpaid", "page": "2"}).json()
    page_3 = customer_client.get(INVOICES_URL, {"status": "unpaid", "page": "3"})

    # Then pages hold 20 and 5 invoices, newest first, and the links keep the filter
    newest_first = [invoice.pk for invoice in reversed(invoices)]
    assert page_1["count"] == 25
    assert page_1["previous"] is None
    assert page_1["next"] == "http://testserver/api/billing/invoices?page=2&status=unpaid"
    assert [invoice["id"] for invoice in page_1["results"]] == newest_first[:20]
    assert page_2["previous"] == "http://testserver/api/billing/invoices?status=unpaid"
    assert page_2["next"] is None
    assert [invoice["id"] for invoice in page_2["results"]] == newest_first[20:]
    assert page_3.status_code == 404
    assert (error_code(page_3), error_message(page_3)) == ("not_found", "Invalid page.")


def test_invoice_detail_shows_one_invoice(customer_client: Client, customer: User) -> None:
    invoice = invoice_for(
        customer,
        whmcs_id=777,
        number="INV-00777",
        issued_on=datetime.date(2025, 1, 1),
        due_on=datetime.date(2025, 1, 15),
        currency_code="USD",
        subtotal=Decimal("45.45"),
        tax=Decimal("4.55"),
        total=Decimal("50.00"),
    )

    response = customer_client.get(f"{INVOICES_URL}/{invoice.pk}")

    assert response.status_code == 200
    assert response.json() == {
        "id": invoice.pk,
        "whmcs_id": 777,
        "number": "INV-00777",
        "status": "unpaid",
        "issued_on": "2025-01-01",
        "due_on": "2025-01-15",
        "paid_at": None,
        "subtotal": 4545,
        "tax": 455,
        "total": 5000,
        "currency": "USD",
        "synced_at": "2025-01-10T09:00:00+09:00",
    }


def test_another_customers_invoice_is_not_found(customer_client: Client) -> None:
    # Given customer B's invoice
    other_invoice = invoice_for(CustomerFactory.create())

    # When customer A asks for it
    response = customer_client.get(f"{INVOICES_URL}/{other_invoice.pk}")

    # Then it does not exist for them
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_an_unknown_invoice_is_not_found(customer_client: Client) -> None:
    response = customer_client.get(f"{INVOICES_URL}/999999")

    assert response.status_code == 404
    assert error_code(response) == "not_found"


# --- Payment methods -----------------------------------------------------------------------


def test_payment_methods_are_listed_with_their_count(customer_client: Client, customer: User) -> None:
    # Given a card and a bank account of the customer's and another customer's card
    card = WhmcsPaymentMethodFactory.create(user=customer, whmcs_id=11, synced_at=SYNCED_AT)
    bank = WhmcsPaymentMethodFactory.create(
        user=customer,
        whmcs_id=12,
        type=WhmcsPaymentMethod.Type.BANK_ACCOUNT,
        description="MUFG savings",
        card_type="",
        card_last_four="",
        expires_on=None,
        bank_name="MUFG Bank",
        synced_at=SYNCED_AT,
    )
    WhmcsPaymentMethodFactory.create(user=CustomerFactory.create())

    # When the customer lists their payment methods
    response = customer_client.get(PAYMENT_METHODS_URL)

    # Then both of theirs are listed, unpaginated, with the total
    assert response.status_code == 200
    assert response.json() == {
        "payment_methods": [
            {
                "id": card.pk,
                "whmcs_id": 11,
                "type": "credit_card",
                "description": "Visa ending 4242",
                "gateway_name": "",
                "card_type": "Visa",
                "card_last_four": "4242",
                "expires_on": "2030-12-31",
                "bank_name": "",
                "synced_at": "2025-01-10T09:00:00+09:00",
            },
            {
                "id": bank.pk,
                "whmcs_id": 12,
                "type": "bank_account",
                "description": "MUFG savings",
                "gateway_name": "",
                "card_type": "",
                "card_last_four": "",
                "expires_on": None,
                "bank_name": "MUFG Bank",
                "synced_at": "2025-01-10T09:00:00+09:00",
            },
        ],
        "total_count": 2,
    }


def test_a_customer_without_payment_methods_gets_an_empty_list(customer_client: Client) -> None:
    response = customer_client.get(PAYMENT_METHODS_URL)

    assert response.status_code == 200
    assert response.json() == {"payment_methods": [], "total_count": 0}


# --- Permissions and query counts ------------------------------------------------------------


@pytest.mark.parametrize("path", [INVOICES_URL, f"{INVOICES_URL}/{{invoice_id}}", PAYMENT_METHODS_URL])
def test_anonymous_visitors_cannot_read_billing(client: Client, path: str) -> None:
    # Given an existing invoice
    invoice = invoice_for(CustomerFactory.create())

    # When an anonymous visitor asks for billing data
    response = client.get(path.format(invoice_id=invoice.pk))

    # Then session authentication refuses with 401 and its WWW-Authenticate challenge
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


@pytest.mark.parametrize("rows", [1, 30])
def test_billing_reads_run_a_constant_number_of_queries(
    customer_client: Client, customer: User, django_assert_max_num_queries: DjangoAssertNumQueries, rows: int
) -> None:
    # Given any number of invoices and payment methods
    invoices = [invoice_for(customer) for _ in range(rows)]
    for _ in range(rows):
        WhmcsPaymentMethodFactory.create(user=customer)

    # Then each read takes session and user lookups plus at most count and page queries
    with django_assert_max_num_queries(4):
        assert customer_client.get(INVOICES_URL).status_code == 200
    with django_assert_max_num_queries(3):
        assert customer_client.get(f"{INVOICES_URL}/{invoices[0].pk}").status_code == 200
    with django_assert_max_num_queries(3):
        assert customer_client.get(PAYMENT_METHODS_URL).status_code == 200
