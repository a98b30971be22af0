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
