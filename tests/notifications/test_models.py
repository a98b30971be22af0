from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.notifications.models import Notification, NotificationSource, NotificationType
from tests.factories import NotificationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_notification_expires_thirty_days_after_creation() -> None:
    before = timezone.now()

    notification = Notification.objects.create(
        user=UserFactory(), type=NotificationType.ORDER_APPROVED, title="Order approved"
    )

    assert before + timedelta(days=30) <= notification.expires_at <= timezone.now() + timedelta(days=30)


def test_defaults_match_the_seed_schema() -> None:
    notification = NotificationFactory(type=NotificationType.INVOICE_DUE)

    assert notification.source == NotificationSource.SALESFORCE
    assert notification.read is False
    assert notification.read_at is None
    assert notification.dismissed is False
    assert notification.message is not None
    assert len(str(notification.id)) == 36


def test_the_twelve_types_of_the_seed_the_console_order_decisions_and_four_sources() -> None:
    assert set(NotificationType.values) == {
        "ELIGIBILITY_ELIGIBLE",
        "ELIGIBILITY_INELIGIBLE",
        "VERIFICATION_VERIFIED",
        "VERIFICATION_REJECTED",
        "ORDER_APPROVED",
        "ORDER_ACTIVATED",
        "ORDER_FAILED",
        # The console's order decisions (issue 17), beyond the seed.
        "ORDER_REJECTED",
        "ORDER_ON_HOLD",
        "ORDER_HOLD_RELEASED",
        "CANCELLATION_SCHEDULED",
        "CANCELLATION_COMPLETE",
        "PAYMENT_METHOD_EXPIRING",
        "INVOICE_DUE",
        "SYSTEM_ANNOUNCEMENT",
    }
    assert set(NotificationSource.values) == {"SALESFORCE", "WHMCS", "PORTAL", "SYSTEM"}


def test_the_three_indexes_exist_in_the_database() -> None:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Notification._meta.db_table)
    indexed_columns = {tuple(info["columns"]) for info in constraints.values() if info["index"]}

    assert ("user_id", "read", "dismissed", "expires_at") in indexed_columns
    assert ("user_id", "created_at", "id") in indexed_columns  # the bell's cursor order
    assert ("expires_at",) in indexed_columns


def test_deleting_a_user_deletes_their_notifications() -> None:
    notification = NotificationFactory()

    notification.user.delete()

    assert not Notification.objects.filter(pk=notification.pk).exists()
