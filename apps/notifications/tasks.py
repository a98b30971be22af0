"""Celery entry points for notifications. Thin on purpose: one service call each."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="notifications.cleanup_expired", ignore_result=True)
def cleanup_expired_notifications_task() -> int:
    """Delete notifications past their 30-day retention. Idempotent and safe to overlap: each
    batch deletes only rows that are still there. Run daily from beat."""
    from apps.notifications.services import notifications_delete_expired

    return notifications_delete_expired()


@shared_task(name="notifications.check_invoices_due", ignore_result=True)
def check_invoices_due_task() -> int:
    """``INVOICE_DUE`` for unpaid invoices due within 7 days or overdue (from the WHMCS mirror).
    Idempotent within a day (24-hour dedupe). Run daily from beat."""
    from apps.notifications.billing_checks import invoice_due_notifications_create

    return invoice_due_notifications_create()


@shared_task(name="notifications.check_payment_methods_expiring", ignore_result=True)
def check_payment_methods_expiring_task() -> int:
    """``PAYMENT_METHOD_EXPIRING`` for cards expiring within 30 days (from the WHMCS mirror).
    Idempotent within a day (24-hour dedupe). Run daily from beat."""
    from apps.notifications.billing_checks import payment_method_expiring_notifications_create

    return payment_method_expiring_notifications_create()
