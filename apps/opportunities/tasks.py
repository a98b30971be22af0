"""Celery entry points of opportunities and support cases. Thin on purpose: one service call."""

from celery import shared_task

from apps.integrations.retry import RetryableErrorTask

# Task names keep their ``integrations.`` prefix: beat's schedule rows and queued messages name them.


@shared_task(name="integrations.sync_case_comments", ignore_result=True, base=RetryableErrorTask)
def sync_case_comments_task() -> dict[str, int]:
    """Mirror agents' comments and status changes on support tickets made in Salesforce."""
    from apps.opportunities.case_comment_sync import sync_case_comments

    report = sync_case_comments()
    return {
        "cases_updated": report.cases_updated,
        "comments_created": report.comments_created,
        "comments_updated": report.comments_updated,
    }


@shared_task(name="opportunities.reconcile_opportunities", ignore_result=True, base=RetryableErrorTask)
def reconcile_opportunities_task(record_ids: list[str] | None = None) -> dict[str, int]:
    """Mirror Opportunities changed in Salesforce since the last run (the safety net behind
    Change Data Capture), or re-read ``record_ids`` after a change event gap."""
    from apps.opportunities.mirror import reconcile_opportunities

    report = reconcile_opportunities(record_ids=record_ids)
    return {"fetched": report.fetched, "updated": report.updated}


@shared_task(name="opportunities.reconcile_cases", ignore_result=True, base=RetryableErrorTask)
def reconcile_cases_task(record_ids: list[str] | None = None) -> dict[str, int]:
    """Mirror Case statuses changed in Salesforce since the last run, or re-read ``record_ids``."""
    from apps.opportunities.mirror import reconcile_cases

    report = reconcile_cases(record_ids=record_ids)
    return {"fetched": report.fetched, "updated": report.updated}
