"""Celery entry points for the WHMCS mirror: its sync and the daily checks that read it. Thin on
purpose: ids in, one service call.

Retryable errors (timeouts, dropped connections, 5xx) are retried on the shared backoff
(``apps.integrations.retry``); auth and business errors would fail the same way again and surface
in the worker log.

The task names are the ones these tasks had before they moved here (``integrations.whmcs.*``,
``notifications.check_*``) and stay as they are: beat's periodic tasks, created by
``apps/integrations/migrations/0002_periodic_tasks.py`` and editable in the admin, store them
as strings, and so may messages still waiting in the broker.
"""

from __future__ import annotations

from celery import shared_task

from apps.integrations.retry import Backoff, RetryableErrorTask


@shared_task(
    name="integrations.whmcs.sync_customer_billing",
    base=RetryableErrorTask,
    backoff=Backoff(initial=30, maximum=30 * 60),
    max_retries=6,
)
def sync_customer_billing_task(user_id: int) -> None:
    """Mirror one customer's WHMCS services, invoices and payment methods."""
    from apps.billing.services import sync_customer_billing

    sync_customer_billing(user_id=user_id)


@shared_task(name="integrations.whmcs.sync_all_customers_billing")
def sync_all_customers_billing_task() -> int:
    """Periodic reconciliation: enqueue one sync per user with a WHMCS client.

    One task per customer keeps a slow or failing client from holding up the others, and lets
    each retry on its own schedule. Returns how many were enqueued.
    """
    from apps.billing.selectors import whmcs_client_user_ids

    user_ids = whmcs_client_user_ids()
    for user_id in user_ids:
        sync_customer_billing_task.delay(user_id)
    return len(user_ids)


@shared_task(name="notifications.check_invoices_due", ignore_result=True)
def check_invoices_due_task() -> int:
    """``INVOICE_DUE`` for unpaid invoices due within 7 days or overdue (from the WHMCS mirror).
    Idempotent within a day (24-hour dedupe). Run daily from beat."""
    from apps.billing.checks import invoice_due_notifications_create

    return invoice_due_notifications_create()


@shared_task(name="notifications.check_payment_methods_expiring", ignore_result=True)
def check_payment_methods_expiring_task() -> int:
    """``PAYMENT_METHOD_EXPIRING`` for cards expiring within 30 days (from the WHMCS mirror).
    Idempotent within a day (24-hour dedupe). Run daily from beat."""
    from apps.billing.checks import payment_method_expiring_notifications_create

    return payment_method_expiring_notifications_create()
