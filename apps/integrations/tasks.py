"""Celery entry points of the integration layer: outbox delivery, Salesforce sync, orphaned WHMCS
clients. The WHMCS billing sync tasks belong to ``apps.billing.tasks``."""

from celery import shared_task

from apps.integrations.retry import Backoff, RetryableErrorTask


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


@shared_task(
    name="integrations.sync_catalog",
    ignore_result=True,
    base=RetryableErrorTask,
)
def sync_catalog_task() -> dict[str, int]:
    """Mirror Product2 changes since the last run."""
    from apps.integrations.salesforce.sync import sync_catalog

    report = sync_catalog()
    return {"fetched": report.fetched, "created": report.created, "updated": report.updated}


@shared_task(
    name="integrations.reconcile_account_statuses",
    ignore_result=True,
    base=RetryableErrorTask,
)
def reconcile_account_statuses_task() -> dict[str, int]:
    """Catch Account status changes whose platform event was missed."""
    from apps.integrations.salesforce.sync import reconcile_account_statuses

    report = reconcile_account_statuses()
    return {"fetched": report.fetched, "updated": report.updated}


@shared_task(
    name="integrations.detect_orphaned_whmcs_clients",
    base=RetryableErrorTask,
    backoff=Backoff(initial=10 * 60, maximum=60 * 60),
    ignore_result=True,
    max_retries=3,
    soft_time_limit=30 * 60,
    time_limit=35 * 60,
)
def detect_orphaned_whmcs_clients_task() -> int:
    """Record WHMCS clients the portal created that no portal user maps to. Changes nothing in
    WHMCS (``manage.py cleanup_orphaned_whmcs_clients --apply`` acts on them); retries when WHMCS
    is unreachable. Run daily from beat."""
    from apps.integrations.orphans import orphaned_whmcs_clients_detect

    return len(orphaned_whmcs_clients_detect())


@shared_task(
    name="integrations.sync_case_comments",
    ignore_result=True,
    base=RetryableErrorTask,
)
def sync_case_comments_task() -> dict[str, int]:
    """Mirror agents' comments and status changes on support tickets made in Salesforce."""
    from apps.integrations.salesforce.case_comments import sync_case_comments

    report = sync_case_comments()
    return {
        "cases_updated": report.cases_updated,
        "comments_created": report.comments_created,
        "comments_updated": report.comments_updated,
    }
