"""Daily billing reminders from the WHMCS mirror: invoices due and cards expiring."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import formats, timezone, translation

from apps.billing.models import WhmcsInvoice, WhmcsPaymentMethod
from apps.billing.tasks import check_invoices_due_task, check_payment_methods_expiring_task
from apps.notifications.models import Notification, NotificationSource, NotificationType
from tests.factories import CustomerFactory, WhmcsInvoiceFactory, WhmcsPaymentMethodFactory

pytestmark = pytest.mark.django_db


def days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


def test_unpaid_invoices_due_within_a_week_or_overdue_are_notified_once_a_day() -> None:
    # Given invoices due soon, overdue, later, and paid
    customer = CustomerFactory()
    due_soon = WhmcsInvoiceFactory(
        user=customer, whmcs_id=501, number="INV-501", due_on=days(3), total=Decimal("5500")
    )
    overdue = WhmcsInvoiceFactory(
        user=customer, whmcs_id=502, number="", due_on=days(-2), total=Decimal("22000")
    )
    WhmcsInvoiceFactory(user=customer, whmcs_id=503, due_on=days(10))
    WhmcsInvoiceFactory(user=customer, whmcs_id=504, due_on=days(1), status=WhmcsInvoice.Status.PAID)

    # When the daily check runs twice
    created = check_invoices_due_task.apply().get()
    again = check_invoices_due_task.apply().get()

    # Then the two unpaid, due invoices are notified once each
    assert (created, again) == (2, 0)
    rows = Notification.objects.filter(user=customer).order_by("source_id")
    assert [(n.type, n.source, n.source_id, n.context) for n in rows] == [
        (
            NotificationType.INVOICE_DUE,
            NotificationSource.WHMCS,
            "501",
            {
                "invoice_number": "INV-501",
                "amount": "5500.00",
                "currency": "JPY",
                "due_date": due_soon.due_on.isoformat(),
            },
        ),
        (
            NotificationType.INVOICE_DUE,
            NotificationSource.WHMCS,
            "502",
            {
                "invoice_number": "502",
                "amount": "22000.00",
                "currency": "JPY",
                "due_date": overdue.due_on.isoformat(),
            },
        ),
    ]
    with translation.override("en"):
        due_text = formats.date_format(due_soon.due_on, "DATE_FORMAT")
    assert rows[0].message == f"Invoice INV-501 for ¥5,500 is due on {due_text}."


def test_cards_expiring_within_30_days_are_notified() -> None:
    # Given a card expiring soon, one expired, one far off and a bank account
    customer = CustomerFactory()
    expiring = WhmcsPaymentMethodFactory(
        user=customer, whmcs_id=71, expires_on=days(20), description="Visa ending 4242"
    )
    WhmcsPaymentMethodFactory(user=customer, whmcs_id=72, expires_on=days(-1))
    WhmcsPaymentMethodFactory(user=customer, whmcs_id=73, expires_on=days(60))
    WhmcsPaymentMethodFactory(
        user=customer,
        whmcs_id=74,
        type=WhmcsPaymentMethod.Type.BANK_ACCOUNT,
        card_last_four="",
        card_type="",
        expires_on=days(5),
    )

    # When the daily check runs twice
    created = check_payment_methods_expiring_task.apply().get()
    again = check_payment_methods_expiring_task.apply().get()

    # Then only the card about to expire is notified, once
    assert (created, again) == (1, 0)
    [notification] = Notification.objects.filter(user=customer)
    assert (notification.type, notification.source, notification.source_id, notification.context) == (
        NotificationType.PAYMENT_METHOD_EXPIRING,
        NotificationSource.WHMCS,
        "71",
        {"card": "Visa ending 4242", "expires_on": expiring.expires_on.isoformat()},
    )
