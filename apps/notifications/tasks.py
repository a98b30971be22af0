"""Celery entry points for notifications. Thin on purpose: one service call each."""

from __future__ import annotations

from celery import Task, shared_task

# Well inside the task soft time limit (CELERY_TASK_SOFT_TIME_LIMIT, 240 s by default).
CLEANUP_TIME_BUDGET_SECONDS = 150.0
CLEANUP_CONTINUE_AFTER_SECONDS = 30


@shared_task(name="notifications.cleanup_expired", bind=True, ignore_result=True)
def cleanup_expired_notifications_task(self: Task) -> int:
    """Delete notifications past their 30-day retention, paced so requests keep their speed, and
    (PostgreSQL) keep the day partitions ready a week beyond the retention: wholly expired days
    are dropped, the rest deleted in batches. Idempotent and safe to overlap: each batch deletes
    only rows that are still there. Run daily from beat; a backlog larger than one task's time
    budget continues in a follow-up task, so no run outlives the task time limit."""
    from apps.notifications.selectors import notifications_expired_exist
    from apps.notifications.services import notification_partitions_ensure, notifications_delete_expired

    notification_partitions_ensure()
    deleted = notifications_delete_expired(time_budget=CLEANUP_TIME_BUDGET_SECONDS)
    if notifications_expired_exist():
        self.apply_async(countdown=CLEANUP_CONTINUE_AFTER_SECONDS)
    return deleted
