"""The cleanup task, called directly as a worker would run it."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
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

    done = cleanup_expired_notifications_task()

    # Rows expiring yesterday: on PostgreSQL in the DEFAULT partition (the test database has day
    # partitions from its creation day on), so deleted by statements on both databases.
    assert done == {"partitions_detached": 0, "partitions_dropped": 0, "rows_deleted": 3}
    assert list(Notification.objects.values_list("pk", flat=True)) == [alive.pk]


def test_cleanup_task_logs_what_it_did(caplog: pytest.LogCaptureFixture) -> None:
    now = timezone.now()
    NotificationFactory.create_batch(2, expires_at=now - timedelta(days=1))

    with caplog.at_level(logging.INFO, logger="apps.notifications.tasks"):
        cleanup_expired_notifications_task()

    assert caplog.messages == [
        "notifications cleanup: 0 expired day partitions detached, 0 dropped, 2 rows deleted in batches"
    ]


def test_cleanup_task_is_registered_under_its_explicit_name() -> None:
    assert cleanup_expired_notifications_task.name == "notifications.cleanup_expired"
    assert cleanup_expired_notifications_task.ignore_result is True


@pytest.mark.usefixtures("eager_celery")
def test_a_backlog_beyond_the_time_budget_continues_in_a_follow_up_task(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given more expired rows than one batch, and a budget that one batch exhausts
    monkeypatch.setattr(services, "CLEANUP_BATCH_SIZE", 2)
    monkeypatch.setattr(services, "CLEANUP_PARTITION_BATCH_SIZE", 2)
    monkeypatch.setattr(tasks, "CLEANUP_TIME_BUDGET_SECONDS", 0.0)
    now = timezone.now()
    NotificationFactory.create_batch(5, expires_at=now - timedelta(days=1))
    alive = NotificationFactory(expires_at=now + timedelta(days=1))
    runs: list[int] = []
    delete = services.notifications_delete_expired

    def counted(**kwargs: Any) -> services.ExpiredNotificationsRemoved:
        removed = delete(**kwargs)
        runs.append(removed.rows_deleted)
        return removed

    monkeypatch.setattr(services, "notifications_delete_expired", counted)

    # When beat starts the cleanup (follow-ups run at once here)
    cleanup_expired_notifications_task.delay()

    # Then each task deleted one batch and queued the next until nothing was left
    assert runs == [2, 2, 1]
    assert list(Notification.objects.values_list("pk", flat=True)) == [alive.pk]


def test_the_cleanup_rests_in_proportion_to_its_work_once_it_has_worked_a_stretch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given batches that each work longer than the stretch the cleanup works without a rest
    monkeypatch.setattr(services, "CLEANUP_REST_AFTER_SECONDS", 0.0)
    now = timezone.now()
    NotificationFactory.create_batch(5, expires_at=now - timedelta(days=1))
    pauses: list[float] = []
    monkeypatch.setattr(services.time, "sleep", pauses.append)
    deletes: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if "DELETE" in sql.upper():
            deletes.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        removed = services.notifications_delete_expired(batch_size=2, pause_ratio=1.0, now=now)

    # Batches of 2, 2 and 1 (on PostgreSQL after an empty one on the current day): a rest between
    # every two batches, none before the first or after the last
    assert removed.rows_deleted == 5
    assert len(deletes) == (4 if connection.vendor == "postgresql" else 3)
    assert len(pauses) == len(deletes) - 1
    assert all(pause > 0 for pause in pauses)


def test_a_cleanup_shorter_than_a_stretch_never_rests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "CLEANUP_REST_AFTER_SECONDS", 3600.0)
    now = timezone.now()
    NotificationFactory.create_batch(5, expires_at=now - timedelta(days=1))
    pauses: list[float] = []
    monkeypatch.setattr(services.time, "sleep", pauses.append)

    removed = services.notifications_delete_expired(batch_size=2, pause_ratio=1.0, now=now)

    assert removed.rows_deleted == 5
    assert pauses == []
