"""Daily billing reminders built from the WHMCS mirror: invoices due and cards expiring.

Both read only the portal's mirror (kept fresh by the hourly WHMCS sync), never WHMCS itself, and
create notifications through ``notification_create``, whose 24-hour dedupe for these two types
makes a re-run on the same day a no-op while a daily run reminds
the customer again the next day until they act.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from django.utils import timezone

from apps.billing.models import WhmcsInvoice, WhmcsPaymentMethod
from apps.notifications.models import NotificationSource, NotificationType
from apps.notifications.services import notification_create

logger = logging.getLogger(__name__)

INVOICE_DUE_WITHIN = timedelta(days=7)
PAYMENT_METHOD_EXPIRING_WITHIN = timedelta(days=30)
CARD_TYPES = (WhmcsPaymentMethod.Type.CREDIT_CARD, WhmcsPaymentMethod.Type.REMOTE_CREDIT_CARD)


def invoice_due_notifications_create(*, today: date | None = None) -> int:
    """``INVOICE_DUE`` for every unpaid invoice due within 7 days or already overdue.
    ``source_id`` is the WHMCS invoice id. Returns how many were created."""
    today = today or timezone.localdate()
    invoices = WhmcsInvoice.objects.filter(
        status=WhmcsInvoice.Status.UNPAID, due_on__lte=today + INVOICE_DUE_WITHIN
    ).order_by("due_on", "whmcs_id")
    created = 0
    for invoice in invoices.iterator():
        notification = notification_create(
            user_id=invoice.user_id,
            type=NotificationType.INVOICE_DUE,
            source=NotificationSource.WHMCS,
            source_id=str(invoice.whmcs_id),
            context={
                "invoice_number": invoice.number or str(invoice.whmcs_id),
                "amount": invoice.total,
                "currency": invoice.currency_code,
                "due_date": invoice.due_on,
            },
        )
        created += notification is not None
    logger.info("Invoice due check: %d notifications created", created)
    return created


def payment_method_expiring_notifications_create(*, today: date | None = None) -> int:
    """``PAYMENT_METHOD_EXPIRING`` for every stored card that expires within 30 days (and has
    not expired yet). ``source_id`` is the WHMCS pay method id. Returns how many were created."""
    today = today or timezone.localdate()
    cards = WhmcsPaymentMethod.objects.filter(
        type__in=CARD_TYPES,
        expires_on__gte=today,
        expires_on__lte=today + PAYMENT_METHOD_EXPIRING_WITHIN,
    ).order_by("expires_on", "whmcs_id")
    created = 0
    for card in cards.iterator():
        notification = notification_create(
            user_id=card.user_id,
            type=NotificationType.PAYMENT_METHOD_EXPIRING,
            source=NotificationSource.WHMCS,
            source_id=str(card.whmcs_id),
            context={"card": str(card), "expires_on": card.expires_on},
        )
        created += notification is not None
    logger.info("Payment method expiry check: %d notifications created", created)
    return created
