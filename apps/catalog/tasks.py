"""Celery entry points of the catalog. Thin on purpose: one service call each."""

from celery import shared_task

from apps.integrations.retry import RetryableErrorTask

# Task names keep their ``integrations.`` prefix: beat's schedule rows and queued messages name them.


@shared_task(name="integrations.sync_catalog", ignore_result=True, base=RetryableErrorTask)
def sync_catalog_task() -> dict[str, int]:
    """Mirror Product2 changes since the last run."""
    from apps.catalog.sync import sync_catalog

    report = sync_catalog()
    return {"fetched": report.fetched, "created": report.created, "updated": report.updated}
