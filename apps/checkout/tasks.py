"""Celery entry points for checkout. Thin on purpose: ids in, one service call each."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import shared_task

from apps.integrations.retry import Backoff, RetryableErrorTask

FULFILLMENT_MAX_RETRIES = 8
FULFILLMENT_BACKOFF = Backoff(initial=30, maximum=30 * 60, jitter=0.25)
"""30 s, 1 min, 2 min ... capped at 30 min."""


@shared_task(
    name="checkout.fulfill_order",
    bind=True,
    ignore_result=True,
    max_retries=FULFILLMENT_MAX_RETRIES,
    acks_late=True,
    soft_time_limit=240,
    time_limit=300,
)
def fulfill_order_task(self: Any, run_id: int) -> str | None:
    """Provision one approved order in WHMCS and report back to Salesforce (see
    ``apps.checkout.fulfillment``). Safe to run twice or concurrently: the run is claimed and
    every finished step is skipped. Transient errors retry with backoff; the last retry fails
    the order."""
    from apps.checkout.fulfillment import FulfillmentRetry, fulfillment_run_execute

    delay = timedelta(seconds=FULFILLMENT_BACKOFF.delay(self.request.retries))
    try:
        run = fulfillment_run_execute(
            run_id=run_id,
            claimant=self.request.id or "",
            final_attempt=self.request.retries >= self.max_retries,
            retry_delay=delay,
        )
    except FulfillmentRetry as exc:
        raise self.retry(exc=exc, countdown=exc.delay.total_seconds()) from exc
    return run.status if run is not None else None


@shared_task(name="checkout.resume_fulfillments", ignore_result=True)
def resume_fulfillments_task() -> int:
    """Re-queue fulfillment runs whose task was lost (broker outage, a worker killed past its
    time limit). Run every few minutes from beat."""
    from apps.checkout.fulfillment import fulfillment_runs_resume_due

    return len(fulfillment_runs_resume_due())


@shared_task(name="checkout.reconcile_orders", ignore_result=True, base=RetryableErrorTask)
def reconcile_orders_task(record_ids: list[str] | None = None) -> dict[str, int]:
    """Mirror Order statuses changed in Salesforce since the last run (the safety net behind
    Change Data Capture), or re-read ``record_ids`` after a change event gap."""
    from apps.checkout.mirror import reconcile_orders

    report = reconcile_orders(record_ids=record_ids)
    return {"fetched": report.fetched, "updated": report.updated}
