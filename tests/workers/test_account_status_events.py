"""Account status platform events: an agent's decision in Salesforce becomes the profile mirror and
exactly one notification, end to end through the emulated org's flow and the events subscriber."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.models import CustomerProfile, EligibilityStatus, IdVerificationStatus, User
from apps.accounts.status_events import account_status_event_apply, account_status_events_apply
from apps.integrations.models import EventReplayCursor
from apps.integrations.salesforce.events import TopicConsumer, build_subscriber
from apps.notifications.models import Notification, NotificationSource, NotificationType
from apps.verification.models import RejectionReason, ResidenceCardSubmission
from emulators import EmulatorSuite
from tests.factories import ResidenceCardSubmissionFactory
from tests.helpers import account_id_of, make_customer
from tests.scenarios import ACCOUNT_TOPIC, republish_last, run_subscriber, seed_cursor


def customer_with_account(systems: EmulatorSuite, **fields: object) -> tuple[User, str]:
    """A customer whose Salesforce Account has ``fields``; returns them and the Account ID."""
    customer = make_customer(systems, account=fields)
    return customer, account_id_of(customer)


def notifications(user: User) -> list[tuple[str, str | None, str | None]]:
    return list(
        Notification.objects.filter(user=user)
        .order_by("created_at")
        .values_list("type", "source_id", "message")
    )


def last_event(systems: EmulatorSuite) -> dict[str, object]:
    return systems.bus.decode(systems.bus.events(ACCOUNT_TOPIC)[-1])


@pytest.mark.django_db(transaction=True)
def test_an_eligibility_decision_delivered_twice_gives_one_notification(systems: EmulatorSuite) -> None:
    # Given a customer waiting for an eligibility check and the subscriber's position
    customer, account_id = customer_with_account(
        systems,
        Internet_Eligibility_Status__c="Pending",
        Internet_Eligibility_Request_Date_Time__c="2026-11-18T01:00:00.000+0000",
    )
    seed_cursor(systems, ACCOUNT_TOPIC)

    # When the agent records "Eligible" in Salesforce and the bus delivers the event twice
    systems.salesforce.store.update_record(
        "Account",
        account_id,
        {
            "Internet_Eligibility_Status__c": "Eligible",
            "Internet_Eligibility__c": "Home 1G",
            "Internet_Eligibility_Checked_Date_Time__c": "2026-11-20T02:00:00.000+0000",
        },
    )
    republish_last(systems, ACCOUNT_TOPIC)
    run_subscriber(ACCOUNT_TOPIC, 2)

    # Then the profile mirrors the decision and there is exactly one notification
    profile = CustomerProfile.objects.get(user=customer)
    assert (
        profile.internet_eligibility_status,
        profile.internet_eligibility,
        profile.internet_eligibility_checked_at,
        profile.internet_eligibility_requested_at,
    ) == (
        EligibilityStatus.ELIGIBLE,
        "Home 1G",
        datetime(2026, 11, 20, 2, tzinfo=UTC),
        datetime(2026, 11, 18, 1, tzinfo=UTC),
    )
    assert notifications(customer) == [
        (
            NotificationType.ELIGIBILITY_ELIGIBLE,
            account_id,
            "We've confirmed that internet service is available at your address. Your eligible offering: "
            "Home 1G. You can now choose a plan and complete your order.",
        )
    ]
    assert Notification.objects.get(user=customer).source == NotificationSource.SALESFORCE
    assert EventReplayCursor.objects.get(topic=ACCOUNT_TOPIC).events_processed == 2


@pytest.mark.django_db(transaction=True)
def test_a_subscriber_restart_between_deliveries_still_gives_one_notification(systems: EmulatorSuite) -> None:
    # Given a verification decision handled by one subscriber run
    customer, account_id = customer_with_account(systems, Id_Verification_Status__c="Submitted")
    seed_cursor(systems, ACCOUNT_TOPIC)
    systems.salesforce.store.update_record(
        "Account",
        account_id,
        {
            "Id_Verification_Status__c": "Rejected",
            "Id_Verification_Rejection_Message__c": "The photo is blurry.",
        },
    )
    run_subscriber(ACCOUNT_TOPIC, 1)

    # When the subscriber restarts and the same event is delivered again, more than an hour later
    Notification.objects.filter(user=customer).update(created_at=timezone.now() - timedelta(hours=3))
    republish_last(systems, ACCOUNT_TOPIC)
    run_subscriber(ACCOUNT_TOPIC, 1)

    # Then the decision is still notified once, with the agent's reason
    profile = CustomerProfile.objects.get(user=customer)
    assert (profile.id_verification_status, profile.id_verification_rejection_message) == (
        IdVerificationStatus.REJECTED,
        "The photo is blurry.",
    )
    assert notifications(customer) == [
        (
            NotificationType.VERIFICATION_REJECTED,
            account_id,
            "We were unable to verify your identity from the document you submitted. Please resubmit a "
            "clear photo of your residence card. Reason: The photo is blurry.",
        )
    ]
    assert EventReplayCursor.objects.get(topic=ACCOUNT_TOPIC).events_processed == 2


@pytest.mark.django_db
def test_ineligible_carries_the_agents_notes(systems: EmulatorSuite) -> None:
    customer, account_id = customer_with_account(systems, Internet_Eligibility_Status__c="Pending")
    systems.salesforce.store.update_record(
        "Account",
        account_id,
        {
            "Internet_Eligibility_Status__c": "Ineligible",
            "Internet_Eligibility_Notes__c": "No fibre in the building.",
        },
    )

    outcome = account_status_event_apply(payload=last_event(systems))

    assert outcome.notifications == (NotificationType.ELIGIBILITY_INELIGIBLE,)
    assert notifications(customer) == [
        (
            NotificationType.ELIGIBILITY_INELIGIBLE,
            account_id,
            "Unfortunately, after checking with NTT, internet service is not currently available at your "
            "address. If you believe this is an error or your situation changes, please contact our support "
            "team. Notes: No fibre in the building.",
        )
    ]
    assert (
        CustomerProfile.objects.get(user=customer).internet_eligibility_notes == "No fibre in the building."
    )


@pytest.mark.django_db
def test_verified_is_notified(systems: EmulatorSuite) -> None:
    customer, account_id = customer_with_account(systems, Id_Verification_Status__c="Submitted")
    systems.salesforce.store.update_record("Account", account_id, {"Id_Verification_Status__c": "Verified"})

    account_status_event_apply(payload=last_event(systems))

    assert [(t, s) for t, s, _ in notifications(customer)] == [
        (NotificationType.VERIFICATION_VERIFIED, account_id)
    ]
    assert CustomerProfile.objects.get(user=customer).id_verification_status == IdVerificationStatus.VERIFIED


@pytest.mark.django_db
def test_a_rejection_made_in_salesforce_closes_the_submission_under_review(systems: EmulatorSuite) -> None:
    customer, account_id = customer_with_account(systems, Id_Verification_Status__c="Submitted")
    submission = ResidenceCardSubmissionFactory(user=customer)
    systems.salesforce.store.update_record(
        "Account",
        account_id,
        {
            "Id_Verification_Status__c": "Rejected",
            "Id_Verification_Rejection_Message__c": "The card is expired.",
        },
    )

    account_status_event_apply(payload=last_event(systems))

    submission.refresh_from_db()
    assert submission.status == ResidenceCardSubmission.Status.REJECTED
    assert submission.rejection_reason == RejectionReason.OTHER
    assert submission.rejection_message == "The card is expired."
    assert [(c.from_status, c.to_status, c.note) for c in submission.history.all()] == [
        ("submitted", "rejected", "Decided in Salesforce")
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"Internet_Eligibility_Status__c": "Pending"},
            ("internet_eligibility_status", EligibilityStatus.PENDING),
        ),
        (
            {"Id_Verification_Status__c": "Submitted"},
            ("id_verification_status", IdVerificationStatus.SUBMITTED),
        ),
    ],
)
def test_pending_and_submitted_are_mirrored_without_a_notification(
    systems: EmulatorSuite, fields: dict[str, str], expected: tuple[str, str]
) -> None:
    customer, account_id = customer_with_account(systems)
    systems.salesforce.store.update_record("Account", account_id, fields)

    outcome = account_status_event_apply(payload=last_event(systems))

    attribute, value = expected
    assert getattr(CustomerProfile.objects.get(user=customer), attribute) == value
    assert (outcome.changed, outcome.notifications) == ((attribute,), ())
    assert notifications(customer) == []


@pytest.mark.django_db
def test_an_event_without_a_changed_status_does_nothing(systems: EmulatorSuite) -> None:
    customer, account_id = customer_with_account(systems)
    profile_before = CustomerProfile.objects.get(user=customer)

    outcome = account_status_event_apply(
        payload={
            "AccountId__c": account_id,
            "Internet_Eligibility__c": "Home 10G",
            "Internet_Eligibility_Status__c": None,
            "Id_Verification_Status__c": None,
        }
    )

    profile = CustomerProfile.objects.get(user=customer)
    assert (outcome.changed, outcome.notifications) == ((), ())
    assert (profile.internet_eligibility, profile.updated_at) == ("", profile_before.updated_at)
    assert notifications(customer) == []


@pytest.mark.django_db
def test_an_account_without_a_portal_user_and_an_unknown_status_are_ignored(systems: EmulatorSuite) -> None:
    # An Account that never signed up, and a picklist value the portal does not know
    ignored = account_status_event_apply(
        payload={"AccountId__c": "001000000000999AAA", "Internet_Eligibility_Status__c": "Eligible"}
    )
    _customer, account_id = customer_with_account(systems)
    unknown = account_status_event_apply(
        payload={"AccountId__c": account_id, "Internet_Eligibility_Status__c": "Maybe Later"}
    )

    assert (ignored.user_id, ignored.notifications) == (None, ())
    assert (unknown.changed, unknown.notifications) == ((), ())
    assert Notification.objects.count() == 0


@pytest.mark.django_db
def test_a_new_decision_days_later_is_notified_again(systems: EmulatorSuite) -> None:
    # Given a rejection notified a week ago
    customer, account_id = customer_with_account(systems, Id_Verification_Status__c="Submitted")
    systems.salesforce.store.update_record("Account", account_id, {"Id_Verification_Status__c": "Rejected"})
    account_status_event_apply(payload=last_event(systems))
    Notification.objects.filter(user=customer).update(created_at=timezone.now() - timedelta(days=7))

    # When the customer submits a new card and it is rejected again
    systems.salesforce.store.update_record("Account", account_id, {"Id_Verification_Status__c": "Submitted"})
    account_status_event_apply(payload=last_event(systems))
    systems.salesforce.store.update_record("Account", account_id, {"Id_Verification_Status__c": "Rejected"})
    account_status_event_apply(payload=last_event(systems))

    # Then the second decision is notified too
    assert [t for t, _, _ in notifications(customer)] == [
        NotificationType.VERIFICATION_REJECTED,
        NotificationType.VERIFICATION_REJECTED,
    ]


@pytest.mark.django_db
def test_a_late_event_does_not_overwrite_a_newer_mirror(systems: EmulatorSuite) -> None:
    # Given reconciliation already mirrored a newer Account state (a new request is pending)
    customer, account_id = customer_with_account(systems, Internet_Eligibility_Status__c="Pending")
    systems.salesforce.store.update_record(
        "Account", account_id, {"Internet_Eligibility_Status__c": "Eligible"}
    )
    late = last_event(systems)
    CustomerProfile.objects.filter(user=customer).update(
        internet_eligibility_status=EligibilityStatus.PENDING,
        salesforce_modified_at=datetime.fromtimestamp(int(late["CreatedDate"]) / 1000, tz=UTC)  # type: ignore[call-overload]
        + timedelta(minutes=5),
    )

    # When the older event arrives
    outcome = account_status_event_apply(payload=late)

    # Then the mirror keeps the newer state; the decision itself is still notified once
    assert outcome.stale is True
    assert CustomerProfile.objects.get(user=customer).internet_eligibility_status == EligibilityStatus.PENDING
    assert [t for t, _, _ in notifications(customer)] == [NotificationType.ELIGIBILITY_ELIGIBLE]


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_decisions_is_handled_in_batches_each_notified_once(systems: EmulatorSuite) -> None:
    # Given 40 customers waiting for decisions, one with a residence card under review
    customers = [customer_with_account(systems, Internet_Eligibility_Status__c="Pending") for _ in range(40)]
    under_review = ResidenceCardSubmissionFactory(user=customers[4][0])
    seed_cursor(systems, ACCOUNT_TOPIC)

    # When agents decide them all in Salesforce, one decision is redelivered at once, and an
    # Account without a portal user changes too
    decisions = {}
    for index, (customer, account_id) in enumerate(customers):
        if index % 2:
            fields = {"Internet_Eligibility_Status__c": "Eligible", "Internet_Eligibility__c": "Home 1G"}
            decisions[customer.pk] = NotificationType.ELIGIBILITY_ELIGIBLE
        else:
            fields = {"Id_Verification_Status__c": "Verified"}
            decisions[customer.pk] = NotificationType.VERIFICATION_VERIFIED
        systems.salesforce.store.update_record("Account", account_id, fields)
    republish_last(systems, ACCOUNT_TOPIC)
    stranger = systems.salesforce.store.create_record("Account", {"Name": "Walk-in"})
    systems.salesforce.store.update_record(
        "Account", stranger["Id"], {"Internet_Eligibility_Status__c": "Eligible"}
    )
    run_subscriber(ACCOUNT_TOPIC, 42)

    # Then every customer has exactly the one notification of their decision, and the mirrors moved
    told = list(Notification.objects.values_list("user_id", "type"))
    assert sorted(told) == sorted(decisions.items())
    profiles = CustomerProfile.objects.filter(user_id__in=decisions)
    assert profiles.filter(internet_eligibility_status=EligibilityStatus.ELIGIBLE).count() == 20
    assert profiles.filter(id_verification_status=IdVerificationStatus.VERIFIED).count() == 20
    under_review.refresh_from_db()
    assert under_review.status == ResidenceCardSubmission.Status.VERIFIED
    assert EventReplayCursor.objects.get(topic=ACCOUNT_TOPIC).events_processed == 42


@pytest.mark.django_db
def test_a_batch_costs_the_same_statements_whatever_its_size(
    systems: EmulatorSuite, django_assert_max_num_queries: Any
) -> None:
    # Given decisions for 5 customers, then for up to 30: as many as one insert statement of whole
    # profile rows holds on SQLite (999 parameters), so the count does not change as the profile
    # gains columns; PostgreSQL has no such limit.
    columns = len(CustomerProfile._meta.concrete_fields)
    large_size = min(30, (connection.features.max_query_params or 30 * columns) // columns)

    def decided(count: int) -> list[dict[str, object]]:
        payloads = []
        for _ in range(count):
            _customer, account_id = customer_with_account(systems, Id_Verification_Status__c="Submitted")
            systems.salesforce.store.update_record(
                "Account", account_id, {"Id_Verification_Status__c": "Rejected"}
            )
            payloads.append(last_event(systems))
        return payloads

    small, large = decided(5), decided(large_size)

    # When each batch is applied, then both take the same, small number of statements
    with CaptureQueriesContext(connection) as small_batch:
        assert len(account_status_events_apply(payloads=small)) == 5
    with django_assert_max_num_queries(len(small_batch)):
        outcomes = account_status_events_apply(payloads=large)
    assert len(small_batch) <= 20  # Savepoints included.
    assert {outcome.notifications for outcome in outcomes} == {(NotificationType.VERIFICATION_REJECTED,)}


def decisions_told(users: list[User]) -> list[tuple[int, str]]:
    return sorted(Notification.objects.filter(user__in=users).values_list("user_id", "type"))


@pytest.mark.django_db(transaction=True)
def test_a_customer_decided_twice_in_one_batch_gets_each_decision_and_the_latest_mirror(
    systems: EmulatorSuite,
) -> None:
    # Given four customers waiting for both checks
    customers = [
        customer_with_account(
            systems, Internet_Eligibility_Status__c="Pending", Id_Verification_Status__c="Submitted"
        )
        for _ in range(4)
    ]
    seed_cursor(systems, ACCOUNT_TOPIC)

    # When agents decide each one's eligibility and then ID, and change the first two's
    # eligibility again, all before the subscriber fetches (one batch of 10 events)
    for _customer, account_id in customers:
        systems.salesforce.store.update_record(
            "Account",
            account_id,
            {"Internet_Eligibility_Status__c": "Eligible", "Internet_Eligibility__c": "Home 1G"},
        )
        systems.salesforce.store.update_record(
            "Account", account_id, {"Id_Verification_Status__c": "Verified"}
        )
    for _customer, account_id in customers[:2]:
        systems.salesforce.store.update_record(
            "Account",
            account_id,
            {
                "Internet_Eligibility_Status__c": "Ineligible",
                "Internet_Eligibility_Notes__c": "No fibre yet.",
            },
        )
    run_subscriber(ACCOUNT_TOPIC, 10)

    # Then every decision event has its own notification, and each mirror holds the latest decision
    users = [customer for customer, _ in customers]
    expected = [(user.pk, NotificationType.ELIGIBILITY_ELIGIBLE) for user in users]
    expected += [(user.pk, NotificationType.VERIFICATION_VERIFIED) for user in users]
    expected += [(user.pk, NotificationType.ELIGIBILITY_INELIGIBLE) for user in users[:2]]
    assert decisions_told(users) == sorted(expected)
    mirrors = dict(
        CustomerProfile.objects.filter(user__in=users).values_list("user_id", "internet_eligibility_status")
    )
    assert mirrors == {
        users[0].pk: EligibilityStatus.INELIGIBLE,
        users[1].pk: EligibilityStatus.INELIGIBLE,
        users[2].pk: EligibilityStatus.ELIGIBLE,
        users[3].pk: EligibilityStatus.ELIGIBLE,
    }
    assert set(
        CustomerProfile.objects.filter(user__in=users).values_list("id_verification_status", flat=True)
    ) == {IdVerificationStatus.VERIFIED}
    assert EventReplayCursor.objects.get(topic=ACCOUNT_TOPIC).events_processed == 10


class _Crash(BaseException):
    """The process dies: nothing after this point runs, and its open transaction is lost."""


@pytest.mark.django_db(transaction=True)
def test_a_crash_between_a_batchs_effects_and_its_cursor_redelivers_it_with_one_effect_per_event(
    systems: EmulatorSuite, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given six customers decided in Salesforce, two of them twice (one batch of 8 events)
    customers = [customer_with_account(systems, Internet_Eligibility_Status__c="Pending") for _ in range(6)]
    seed_cursor(systems, ACCOUNT_TOPIC)
    for _customer, account_id in customers:
        systems.salesforce.store.update_record(
            "Account",
            account_id,
            {"Internet_Eligibility_Status__c": "Eligible", "Internet_Eligibility__c": "Home 1G"},
        )
    for _customer, account_id in customers[:2]:
        systems.salesforce.store.update_record(
            "Account", account_id, {"Id_Verification_Status__c": "Rejected"}
        )
    replay_ids = [event.replay_id for event in systems.bus.events(ACCOUNT_TOPIC)[-8:]]

    # When the subscriber dies after the handlers wrote the batch's effects, before its cursor is saved
    original_save = EventReplayCursor.save

    def crash_on_cursor_save(self: EventReplayCursor, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("update_fields") and "events_processed" in kwargs["update_fields"]:
            raise _Crash
        original_save(self, *args, **kwargs)

    monkeypatch.setattr(EventReplayCursor, "save", crash_on_cursor_save)
    consumer = TopicConsumer(
        ACCOUNT_TOPIC, partial(build_subscriber, ACCOUNT_TOPIC), owner="crashing", max_events=8
    )
    with pytest.raises(_Crash):
        consumer.run(threading.Event())
    monkeypatch.setattr(EventReplayCursor, "save", original_save)

    # Then nothing of the batch was kept
    users = [customer for customer, _ in customers]
    assert decisions_told(users) == []
    assert EventReplayCursor.objects.get(topic=ACCOUNT_TOPIC).events_processed == 0

    # When a new subscriber starts, the same replay IDs are served again
    run_subscriber(ACCOUNT_TOPIC, 8)

    # Then each event has exactly one effect
    assert all(systems.pubsub.deliveries()[replay_id] == 2 for replay_id in replay_ids)
    expected = [(user.pk, NotificationType.ELIGIBILITY_ELIGIBLE) for user in users]
    expected += [(user.pk, NotificationType.VERIFICATION_REJECTED) for user in users[:2]]
    assert decisions_told(users) == sorted(expected)
    cursor = EventReplayCursor.objects.get(topic=ACCOUNT_TOPIC)
    assert (cursor.events_processed, bytes(cursor.replay_id or b"")) == (8, replay_ids[-1])
