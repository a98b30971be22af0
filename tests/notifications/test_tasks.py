"""The cleanup task, called directly as a worker would run it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

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
