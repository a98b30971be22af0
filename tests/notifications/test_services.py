"""notification_create and the write services, called the way producers and the API call them."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from apps.accounts.models import User
from apps.notifications.models import Notification, NotificationSource, NotificationType
from apps.notifications.services import (
    ExpiredNotificationsRemoved,
    notification_create,
    notification_dismiss,
    notification_mark_all_read,
    notification_mark_read,
    notifications_delete_expired,
)
from tests.factories import CustomerFactory, NotificationFactory, UserFactory

NOW = datetime(2025, 3, 10, 3, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_create_renders_the_english_template_and_keeps_the_parameters() -> None:
    user = CustomerFactory()

    notification = notification_create(
        user_id=user.pk,
        type=NotificationType.ORDER_APPROVED,
        source=NotificationSource.PORTAL,
        source_id="801000000000001",
        context={"order_number": "00001234"},
        now=NOW,
    )

    assert notification is not None
    stored = Notification.objects.get(pk=notification.pk)
    assert stored.user_id == user.pk
    assert stored.type == NotificationType.ORDER_APPROVED
    assert stored.title == "Order approved"
    assert stored.message == (
        "Your order 00001234 has been approved and is being processed. "
        "We'll let you know when your service is active."
    )
    assert stored.action_url == "/account/orders"
    assert stored.action_label == "View order"
    assert stored.source == NotificationSource.PORTAL
    assert stored.source_id == "801000000000001"
    assert stored.context == {"order_number": "00001234"}
    assert stored.read is False
    assert stored.dismissed is False
    assert stored.created_at == NOW
    assert stored.expires_at == NOW + timedelta(days=30)


@pytest.mark.django_db
def test_create_defaults_to_the_salesforce_source() -> None:
    user = UserFactory()

    notification = notification_create(user_id=user.pk, type=NotificationType.VERIFICATION_VERIFIED)

    assert notification is not None
    assert notification.source == NotificationSource.SALESFORCE
    assert notification.source_id is None


@pytest.mark.django_db
def test_create_stores_only_the_parameters_the_template_uses() -> None:
    user = UserFactory()

    notification = notification_create(
        user_id=user.pk,
        type=NotificationType.ORDER_FAILED,
        source_id="801000000000002",
        context={"order_number": "00000042", "error": "WHMCS AddOrder: invalid pid 17", "empty": ""},
        now=NOW,
    )

    assert notification is not None
    assert notification.context == {"order_number": "00000042"}
    assert notification.message == (
        "We couldn't complete your order 00000042. Our team has been notified and will contact you. "
        "If you have any questions, please contact our support team."
    )
    assert "WHMCS" not in (notification.message or "")


@pytest.mark.django_db
def test_create_stores_dates_and_amounts_language_neutral() -> None:
    user = UserFactory()

    notification = notification_create(
        user_id=user.pk,
        type=NotificationType.INVOICE_DUE,
        source=NotificationSource.WHMCS,
        source_id="invoice:77",
        context={"invoice_number": "INV-00077", "amount": Decimal("4980.00"), "due_date": date(2025, 3, 15)},
        now=NOW,
    )

    assert notification is not None
    assert notification.context == {
        "invoice_number": "INV-00077",
        "amount": "4980.00",
        "due_date": "2025-03-15",
    }
    assert notification.message == "Invoice INV-00077 for ¥4,980 is due on March 15, 2025."


@pytest.mark.django_db
def test_a_datetime_parameter_keeps_its_japan_date() -> None:
    user = UserFactory()

    notification = notification_create(
        user_id=user.pk,
        type=NotificationType.CANCELLATION_SCHEDULED,
        source_id="006000000000001",
        context={"service_name": "Home 1G", "scheduled_date": datetime(2025, 3, 31, 15, 30, tzinfo=UTC)},
        now=NOW,
    )

    assert notification is not None
    assert notification.context["scheduled_date"] == "2025-04-01"


@pytest.mark.django_db
def test_create_for_an_unknown_user_raises_and_creates_nothing() -> None:
    with pytest.raises(User.DoesNotExist):
        notification_create(user_id=999_999, type=NotificationType.ORDER_APPROVED, source_id="x")

    assert Notification.objects.count() == 0


@pytest.mark.django_db
def test_create_rejects_an_unknown_type() -> None:
    user = UserFactory()

    with pytest.raises(ValueError, match="NOT_A_TYPE"):
        notification_create(user_id=user.pk, type="NOT_A_TYPE")

    assert Notification.objects.count() == 0


# --- Dedupe -------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "notification_type",
    [
        NotificationType.ELIGIBILITY_ELIGIBLE,
        NotificationType.ELIGIBILITY_INELIGIBLE,
        NotificationType.VERIFICATION_VERIFIED,
        NotificationType.VERIFICATION_REJECTED,
        NotificationType.ORDER_APPROVED,
        NotificationType.ORDER_ACTIVATED,
        NotificationType.ORDER_FAILED,
        NotificationType.CANCELLATION_SCHEDULED,
        NotificationType.CANCELLATION_COMPLETE,
    ],
)
def test_most_types_dedupe_within_one_hour(notification_type: NotificationType) -> None:
    user = UserFactory()
    first = notification_create(user_id=user.pk, type=notification_type, source_id="001A", now=NOW)

    within = notification_create(
        user_id=user.pk, type=notification_type, source_id="001A", now=NOW + timedelta(minutes=59)
    )
    after = notification_create(
        user_id=user.pk, type=notification_type, source_id="001A", now=NOW + timedelta(hours=1)
    )

    assert first is not None
    assert within is None
    assert after is not None
    assert Notification.objects.filter(user=user, type=notification_type).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "notification_type",
    [
        NotificationType.INVOICE_DUE,
        NotificationType.PAYMENT_METHOD_EXPIRING,
        NotificationType.SYSTEM_ANNOUNCEMENT,
    ],
)
def test_billing_and_announcement_types_dedupe_within_24_hours(notification_type: NotificationType) -> None:
    user = UserFactory()
    first = notification_create(user_id=user.pk, type=notification_type, source_id="inv-1", now=NOW)

    after_two_hours = notification_create(
        user_id=user.pk, type=notification_type, source_id="inv-1", now=NOW + timedelta(hours=2)
    )
    within_a_day = notification_create(
        user_id=user.pk, type=notification_type, source_id="inv-1", now=NOW + timedelta(hours=23, minutes=59)
    )
    after_a_day = notification_create(
        user_id=user.pk, type=notification_type, source_id="inv-1", now=NOW + timedelta(hours=24)
    )

    assert first is not None
    assert after_two_hours is None
    assert within_a_day is None
    assert after_a_day is not None
    assert Notification.objects.filter(user=user, type=notification_type).count() == 2


@pytest.mark.django_db
def test_read_and_dismissed_notifications_still_count_for_dedupe() -> None:
    user = UserFactory()
    read = notification_create(
        user_id=user.pk, type=NotificationType.ORDER_APPROVED, source_id="801A", now=NOW
    )
    dismissed = notification_create(
        user_id=user.pk, type=NotificationType.ORDER_ACTIVATED, source_id="801A", now=NOW
    )
    assert read is not None
    assert dismissed is not None
    notification_mark_read(user_id=user.pk, notification_id=read.pk)
    notification_dismiss(user_id=user.pk, notification_id=dismissed.pk)

    again_read = notification_create(
        user_id=user.pk,
        type=NotificationType.ORDER_APPROVED,
        source_id="801A",
        now=NOW + timedelta(minutes=5),
    )
    again_dismissed = notification_create(
        user_id=user.pk,
        type=NotificationType.ORDER_ACTIVATED,
        source_id="801A",
        now=NOW + timedelta(minutes=5),
    )

    assert again_read is None
    assert again_dismissed is None
    assert Notification.objects.filter(user=user).count() == 2


@pytest.mark.django_db
def test_dedupe_is_per_user_type_and_source_id() -> None:
    user, other_user = UserFactory(), UserFactory()
    notification_create(user_id=user.pk, type=NotificationType.ORDER_APPROVED, source_id="801A", now=NOW)

    other_source = notification_create(
        user_id=user.pk, type=NotificationType.ORDER_APPROVED, source_id="801B", now=NOW
    )
    other_type = notification_create(
        user_id=user.pk, type=NotificationType.ORDER_ACTIVATED, source_id="801A", now=NOW
    )
    other_customer = notification_create(
        user_id=other_user.pk, type=NotificationType.ORDER_APPROVED, source_id="801A", now=NOW
    )

    assert other_source is not None
    assert other_type is not None
    assert other_customer is not None
    assert Notification.objects.count() == 4


@pytest.mark.django_db
def test_without_a_source_id_nothing_is_deduped() -> None:
    user = UserFactory()

    first = notification_create(user_id=user.pk, type=NotificationType.SYSTEM_ANNOUNCEMENT, now=NOW)
    second = notification_create(user_id=user.pk, type=NotificationType.SYSTEM_ANNOUNCEMENT, now=NOW)

    assert first is not None
    assert second is not None
    assert Notification.objects.filter(user=user).count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_producers_create_exactly_one_notification() -> None:
    user = CustomerFactory()
    barrier = threading.Barrier(2, timeout=10)
    results: list[Notification | None] = []
    errors: list[BaseException] = []

    def produce() -> None:
        try:
            barrier.wait()
            results.append(
                notification_create(
                    user_id=user.pk,
                    type=NotificationType.ORDER_ACTIVATED,
                    source_id="801000000000009",
                    context={"order_number": "00000009"},
                )
            )
        except BaseException as exc:  # surfaced by the assertions below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=produce) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert len(results) == 2
    assert sum(result is not None for result in results) == 1
    assert Notification.objects.filter(user=user, type=NotificationType.ORDER_ACTIVATED).count() == 1


# --- Read, read all, dismiss --------------------------------------------------------------------


@pytest.mark.django_db
def test_mark_read_sets_read_and_read_at_once() -> None:
    notification = NotificationFactory()

    first = notification_mark_read(user_id=notification.user_id, notification_id=notification.pk, now=NOW)
    again = notification_mark_read(
        user_id=notification.user_id, notification_id=notification.pk, now=NOW + timedelta(hours=1)
    )

    assert first.read is True
    assert first.read_at == NOW
    notification.refresh_from_db()
    assert notification.read is True
    assert notification.read_at == NOW
    assert again.read_at == NOW


@pytest.mark.django_db
def test_mark_all_read_marks_only_the_users_visible_unread_notifications() -> None:
    user, other_user = UserFactory(), UserFactory()
    unread = NotificationFactory.create_batch(3, user=user)
    already_read = NotificationFactory(user=user, read=True, read_at=NOW - timedelta(days=1))
    dismissed = NotificationFactory(user=user, dismissed=True)
    others = NotificationFactory(user=other_user)

    updated = notification_mark_all_read(user_id=user.pk, now=NOW)

    assert updated == 3
    assert set(Notification.objects.filter(user=user, read=True).values_list("pk", flat=True)) == {
        *(n.pk for n in unread),
        already_read.pk,
    }
    assert set(Notification.objects.filter(read_at=NOW).values_list("pk", flat=True)) == {
        n.pk for n in unread
    }
    dismissed.refresh_from_db()
    others.refresh_from_db()
    assert dismissed.read is False
    assert others.read is False


@pytest.mark.django_db
def test_dismiss_hides_the_notification() -> None:
    notification = NotificationFactory()

    notification_dismiss(user_id=notification.user_id, notification_id=notification.pk)

    notification.refresh_from_db()
    assert notification.dismissed is True


@pytest.mark.django_db
def test_services_never_touch_another_users_notification() -> None:
    notification = NotificationFactory()
    intruder = UserFactory()

    with pytest.raises(Notification.DoesNotExist):
        notification_mark_read(user_id=intruder.pk, notification_id=notification.pk)
    with pytest.raises(Notification.DoesNotExist):
        notification_dismiss(user_id=intruder.pk, notification_id=notification.pk)
    updated = notification_mark_all_read(user_id=intruder.pk)

    assert updated == 0
    notification.refresh_from_db()
    assert notification.read is False
    assert notification.read_at is None
    assert notification.dismissed is False


# --- Cleanup ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_delete_expired_deletes_only_expired_rows_in_batches() -> None:
    expired = NotificationFactory.create_batch(5, expires_at=NOW - timedelta(days=1))
    just_expired = NotificationFactory(expires_at=NOW)
    alive = NotificationFactory.create_batch(2, expires_at=NOW + timedelta(seconds=1))

    removed = notifications_delete_expired(batch_size=2, now=NOW)

    assert removed.rows_deleted == 6
    assert set(Notification.objects.values_list("pk", flat=True)) == {n.pk for n in alive}
    assert not Notification.objects.filter(pk__in=[n.pk for n in [*expired, just_expired]]).exists()


@pytest.mark.django_db
@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="PostgreSQL deletes by partition (test_partitions.py)"
)
def test_delete_expired_works_batch_by_batch_on_the_plain_table() -> None:
    NotificationFactory.create_batch(5, expires_at=NOW - timedelta(days=1))
    statements: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        removed = notifications_delete_expired(batch_size=2, now=NOW)

    deletes = [sql for sql in statements if sql.lstrip().upper().startswith("DELETE")]
    selects = [
        sql for sql in statements if sql.lstrip().upper().startswith("SELECT") and '"notifications"' in sql
    ]
    assert removed == ExpiredNotificationsRemoved(partitions_detached=0, rows_deleted=5)
    assert len(deletes) == 3
    assert all("IN (" in sql for sql in deletes)
    assert len(selects) == 3
    assert all("LIMIT 2" in sql and "ORDER BY" in sql for sql in selects)
    assert Notification.objects.count() == 0


@pytest.mark.django_db
def test_delete_expired_with_nothing_expired_deletes_nothing() -> None:
    NotificationFactory(expires_at=NOW + timedelta(days=1))

    removed = notifications_delete_expired(now=NOW)

    assert removed == ExpiredNotificationsRemoved(partitions_detached=0, rows_deleted=0)
    assert Notification.objects.count() == 1
