"""The cleanup task, called directly as a worker would run it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.notifications import services, tasks
from apps.notifications.models import Notification
from apps.notifications.tasks import cleanup_expired_notifications_task
from tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db


def test_cleanup_task_deletes_expired_notifications_and_keeps_the_rest() -> None:
    now = timezone.now()
    NotificationFactory.create_batch(3, expires_at=now - timedelta(days=1))
    alive = NotificationFactory(expires_at=now + timedelta(days=1))

    deleted = cleanup_expired_notifications_task()

    assert deleted == 3
    assert list(Notification.objects.values_list("pk", flat=True)) == [alive.pk]


def test_cleanup_task_is_registered_under_its_explicit_name() -> None:
    assert cleanup_expired_notifications_task.name == "notifications.cleanup_expired"
    assert cleanup_expired_notifications_task.ignore_result is True


@pytest.mark.usefixtures("eager_celery")
def test_a_backlog_beyond_the_time_budget_continues_in_a_follow_up_task(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given more expired rows than one batch, and a budget that one batch exhausts
    monkeypatch.setattr(services, "CLEANUP_BATCH_SIZE", 2)
    monkeypatch.setattr(tasks, "CLEANUP_TIME_BUDGET_SECONDS", 0.0)
    now = timezone.now()
    NotificationFactory.create_batch(5, expires_at=now - timedelta(days=1))
    alive = NotificationFactory(expires_at=now + timedelta(days=1))
    runs: list[int] = []
    delete = services.notifications_delete_expired

    def counted(**kwargs: Any) -> int:
        runs.append(deleted := delete(**kwargs))
        return deleted

    monkeypatch.setattr(services, "notifications_delete_expired", counted)

    # When beat starts the cleanup (follow-ups run at once here)
    cleanup_expired_notifications_task.delay()

    # Then each task deleted one batch and queued the next until nothing was left
    assert runs == [2, 2, 1]
    assert list(Notification.objects.values_list("pk", flat=True)) == [alive.pk]


def test_the_cleanup_rests_between_batches_in_proportion_to_their_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = timezone.now()
    NotificationFactory.create_batch(5, expires_at=now - timedelta(days=1))
    pauses: list[float] = []
    monkeypatch.setattr(services.time, "sleep", pauses.append)

    deleted = services.notifications_delete_expired(batch_size=2, pause_ratio=1.0, now=now)

    # Three batches (2, 2, 1): a rest after each of the first two, none after the last
    assert deleted == 5
    assert len(pauses) == 2
    assert all(pause > 0 for pause in pauses)
