"""Celery entry points for notifications. Thin on purpose: one service call each."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="notifications.cleanup_expired", ignore_result=True)
def cleanup_expired_notifications_task() -> int:
    """Delete notifications past their 30-day retention. Idempotent and safe to overlap: each
    batch deletes only rows that are still there. Run daily from beat."""
    from apps.notifications.services import notifications_delete_expired

    return notifications_delete_expired()
