"""Seed rule (dashboard seed, "Dedupe Behavior"): a notification is a duplicate of one with the
same type and sourceId (for account decisions: the Salesforce Account id) within 1 hour, 24 hours
for invoice due, payment method expiring and system announcements. Decisions come from the
emulated org's Account status flow, as an agent's change in Salesforce would send them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.status_events import account_status_event_apply
from apps.notifications.models import Notification, NotificationSource, NotificationType
from apps.notifications.services import notification_create
from emulators import EmulatorSuite
from tests.helpers import account_id_of, make_customer
from tests.scenarios import ACCOUNT_TOPIC

pytestmark = pytest.mark.django_db


def agent_sets(systems: EmulatorSuite, account_id: str, **fields: object) -> None:
    """An agent changes the Account in Salesforce; its status event is handled."""
    systems.salesforce.store.update_record("Account", account_id, fields)
    account_status_event_apply(payload=systems.bus.decode(systems.bus.events(ACCOUNT_TOPIC)[-1]))


def told(user: User) -> list[tuple[str, str | None]]:
    return list(
        Notification.objects.filter(user=user).order_by("created_at").values_list("type", "source_id")
    )


def age_notifications(user: User, by: timedelta) -> None:
    for notification in Notification.objects.filter(user=user):
        Notification.objects.filter(pk=notification.pk).update(created_at=notification.created_at - by)


def test_rule_dedupe_a_second_id_rejection_after_a_resubmission_22_hours_later_is_notified(
    systems: EmulatorSuite,
) -> None:
    # Given a rejection the customer was told of 22 hours ago
    customer = make_customer(
        systems,
        account={
            "Id_Verification_Status__c": "Submitted",
            "Id_Verification_Submitted_Date_Time__c": "2026-11-01T01:00:00.000+0000",
        },
    )
    account_id = account_id_of(customer)
    agent_sets(systems, account_id, Id_Verification_Status__c="Rejected")
    age_notifications(customer, timedelta(hours=22))

    # When the customer uploads a new card and it is rejected again
    agent_sets(
        systems,
        account_id,
        Id_Verification_Status__c="Submitted",
        Id_Verification_Submitted_Date_Time__c=timezone.now().strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
    )
    agent_sets(systems, account_id, Id_Verification_Status__c="Rejected")

    # Then the second decision is notified too, both keyed by the Salesforce Account id
    assert told(customer) == [
        (NotificationType.VERIFICATION_REJECTED, account_id),
        (NotificationType.VERIFICATION_REJECTED, account_id),
    ]


def test_rule_dedupe_a_second_eligibility_result_after_a_new_request_is_notified(
    systems: EmulatorSuite,
) -> None:
    customer = make_customer(systems, account={"Internet_Eligibility_Status__c": "Pending"})
    account_id = account_id_of(customer)
    agent_sets(
        systems, account_id, Internet_Eligibility_Status__c="Eligible", Internet_Eligibility__c="Home 1G"
    )
    age_notifications(customer, timedelta(hours=22))

    agent_sets(
        systems,
        account_id,
        Internet_Eligibility_Status__c="Pending",
        Internet_Eligibility_Request_Date_Time__c=timezone.now().strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
    )
    agent_sets(
        systems, account_id, Internet_Eligibility_Status__c="Eligible", Internet_Eligibility__c="Home 10G"
    )

    assert told(customer) == [
        (NotificationType.ELIGIBILITY_ELIGIBLE, account_id),
        (NotificationType.ELIGIBILITY_ELIGIBLE, account_id),
    ]


def test_rule_dedupe_the_same_type_for_the_same_account_within_an_hour_is_one_notification(
    systems: EmulatorSuite,
) -> None:
    customer = make_customer(systems, account={"Id_Verification_Status__c": "Submitted"})
    account_id = account_id_of(customer)
    agent_sets(systems, account_id, Id_Verification_Status__c="Rejected")
    age_notifications(customer, timedelta(minutes=59))

    agent_sets(systems, account_id, Id_Verification_Status__c="Submitted")
    agent_sets(systems, account_id, Id_Verification_Status__c="Rejected")

    assert told(customer) == [(NotificationType.VERIFICATION_REJECTED, account_id)]


def test_rule_dedupe_another_type_for_the_same_account_is_not_a_duplicate(systems: EmulatorSuite) -> None:
    customer = make_customer(
        systems,
        account={"Id_Verification_Status__c": "Submitted", "Internet_Eligibility_Status__c": "Pending"},
    )
    account_id = account_id_of(customer)

    agent_sets(systems, account_id, Id_Verification_Status__c="Verified")
    agent_sets(systems, account_id, Internet_Eligibility_Status__c="Ineligible")

    assert sorted(told(customer)) == [
        (NotificationType.ELIGIBILITY_INELIGIBLE, account_id),
        (NotificationType.VERIFICATION_VERIFIED, account_id),
    ]


@pytest.mark.parametrize(
    ("notification_type", "window"),
    [
        (NotificationType.INVOICE_DUE, timedelta(hours=24)),
        (NotificationType.PAYMENT_METHOD_EXPIRING, timedelta(hours=24)),
        (NotificationType.SYSTEM_ANNOUNCEMENT, timedelta(hours=24)),
        (NotificationType.ORDER_FAILED, timedelta(hours=1)),
        (NotificationType.CANCELLATION_SCHEDULED, timedelta(hours=1)),
    ],
)
def test_rule_dedupe_windows_are_24_hours_for_the_three_seed_types_and_1_hour_otherwise(
    systems: EmulatorSuite, notification_type: NotificationType, window: timedelta
) -> None:
    customer = make_customer(systems)
    start = timezone.now()

    def create(after: timedelta) -> Notification | None:
        return notification_create(
            user_id=customer.pk,
            type=notification_type,
            source=NotificationSource.PORTAL,
            source_id="same-source",
            context={"message": "Maintenance tonight."},
            now=start + after,
        )

    assert create(timedelta(0)) is not None
    assert create(window - timedelta(minutes=1)) is None
    assert create(window + timedelta(minutes=1)) is not None
