"""Celery entry points for WHMCS billing sync. Thin on purpose: ids in, one service call.

Retryable errors (timeouts, dropped connections, 5xx) are retried on the shared backoff
(``apps.integrations.retry``); auth and business errors would fail the same way again and surface
in the worker log.
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
    from .sync import sync_customer_billing

    sync_customer_billing(user_id=user_id)


@shared_task(name="integrations.whmcs.sync_all_customers_billing")
def sync_all_customers_billing_task() -> int:
    """Periodic reconciliation: enqueue one sync per user with a WHMCS client.

    One task per customer keeps a slow or failing client from holding up the others, and lets
    each retry on its own schedule. Returns how many were enqueued.
    """
    from .sync import mapped_billing_user_ids

    user_ids = mapped_billing_user_ids()
    for user_id in user_ids:
        sync_customer_billing_task.delay(user_id)
    return len(user_ids)
