"""Celery entry points of the integration layer: outbox delivery. The sync jobs live with the
records they mirror (``apps.catalog.tasks``, ``apps.accounts.tasks``, ``apps.opportunities.tasks``,
``apps.billing.tasks``)."""

from celery import shared_task


@shared_task(name="integrations.deliver_outbox", ignore_result=True)
def deliver_outbox_task() -> dict[str, int]:
    """Deliver due outbox entries. Safe to run often and concurrently: entries are claimed."""
    from apps.integrations.outbox import outbox_deliver_due

    report = outbox_deliver_due()
    return {
        "delivered": len(report.delivered),
        "retrying": len(report.retrying),
        "failed": len(report.failed),
    }
