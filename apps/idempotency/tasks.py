"""Celery entry points for idempotency keys. Thin on purpose: one service call each."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="idempotency.delete_expired", ignore_result=True)
def delete_expired_idempotent_requests_task() -> int:
    """Delete the keys past their retention. Run hourly from beat; idempotent."""
    from apps.idempotency.services import idempotent_requests_delete_expired

    return idempotent_requests_delete_expired()
