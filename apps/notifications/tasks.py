"""Celery entry points for notifications. Thin on purpose: one service call each."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task

logger = logging.getLogger(__name__)

# Well inside the task soft time limit (CELERY_TASK_SOFT_TIME_LIMIT, 240 s by default).
CLEANUP_TIME_BUDGET_SECONDS = 150.0
CLEANUP_CONTINUE_AFTER_SECONDS = 30


@shared_task(name="notifications.cleanup_expired", bind=True, ignore_result=True)
def cleanup_expired_notifications_task(self: Task) -> dict[str, Any]:
    """Remove notifications past their 30-day retention, paced so requests keep their speed, and
    (PostgreSQL) keep the day partitions ready a week beyond the retention: wholly expired days
    are detached, then dropped, the rest deleted in batches. Idempotent and safe to overlap: each
    batch deletes only rows that are still there. Run daily from beat; a backlog larger than one
    task's time budget (or a day whose lock was never free) continues in a follow-up task, so no
    run outlives the task time limit. Returns what it did, as it logs it."""
    from apps.notifications.selectors import notifications_expired_exist
    from apps.notifications.services import (
        notification_expired_partitions_drop,
        notification_partitions_ensure,
        notifications_delete_expired,
    )

    notification_partitions_ensure()
    removed = notifications_delete_expired(time_budget=CLEANUP_TIME_BUDGET_SECONDS)
    dropped = notification_expired_partitions_drop()
    follow_up = notifications_expired_exist()
    logger.info(
        "notifications cleanup: %d expired day partitions detached, %d dropped, %d rows deleted in batches%s",
        removed.partitions_detached,
        dropped,
        removed.rows_deleted,
        "; more left for a follow-up" if follow_up else "",
    )
    if follow_up:
        self.apply_async(countdown=CLEANUP_CONTINUE_AFTER_SECONDS)
    return {
        "partitions_detached": removed.partitions_detached,
        "partitions_dropped": dropped,
        "rows_deleted": removed.rows_deleted,
    }
