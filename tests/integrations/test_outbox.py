"""Outbox delivery against the Salesforce emulator: one call per change, nothing lost or doubled."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from apps.integrations.models import OutboxEntry
from apps.integrations.outbox import (
    WriteBack,
    outbox_deliver_due,
    outbox_enqueue_salesforce,
    outbox_retry,
    portal_ref,
)
from apps.integrations.salesforce.gateway import CompositeSubrequest
from apps.integrations.tasks import deliver_outbox_task
from emulators import EmulatorSuite
from tests.factories import CaseFactory, UserFactory
from tests.helpers import wait_until

pytestmark = pytest.mark.django_db


def make_due() -> None:
    OutboxEntry.objects.filter(status=OutboxEntry.Status.PENDING).update(next_attempt_at=timezone.now())


def account(systems: EmulatorSuite, **fields: object) -> str:
    return systems.salesforce.store.create_record("Account", {"Name": "Sato Hana", **fields})["Id"]


def enqueue_account_update(account_id: str, **fields: object) -> OutboxEntry:
    return outbox_enqueue_salesforce(
        operation="account.update",
        record_key=f"Account:{account_id}",
        subrequests=[CompositeSubrequest.update("Account", account_id, "account", fields)],
    )


def test_a_multi_record_change_is_one_composite_call_and_writes_back_the_new_id(
    systems: EmulatorSuite,
) -> None:
    account_id = account(systems)
    case = CaseFactory(salesforce_id=None)
    entry = outbox_enqueue_salesforce(
        operation="eligibility.request",
        record_key=f"Account:{account_id}",
        subrequests=[
            CompositeSubrequest.create("Case", "case", {"AccountId": account_id, "Subject": "Check"}),
            CompositeSubrequest.update(
                "Account", account_id, "account", {"Internet_Eligibility_Case_Id__c": "@{case.id}"}
            ),
        ],
        write_backs=[WriteBack("case", "opportunities.Case", case.pk)],
    )

    report = outbox_deliver_due()

    entry.refresh_from_db()
    case.refresh_from_db()
    assert report.delivered == [entry.pk]
    assert report.api_calls == 1
    assert entry.status == OutboxEntry.Status.DELIVERED
    assert case.salesforce_id == entry.result["ids"]["case"]
    stored = systems.salesforce.store.get_record("Account", account_id)
    assert stored["Internet_Eligibility_Case_Id__c"] == case.salesforce_id
    assert len(systems.salesforce.store.find_records("Case")) == 1


def test_single_record_updates_of_many_customers_share_one_collections_call(systems: EmulatorSuite) -> None:
    account_ids = [account(systems, Name=f"Customer {n}") for n in range(30)]
    for account_id in account_ids:
        enqueue_account_update(account_id, Portal_Status__c="Active")
    calls_before = systems.salesforce.counters()["total"]

    report = outbox_deliver_due(limit=100)

    assert len(report.delivered) == 30
    assert report.api_calls == 1
    assert systems.salesforce.counters()["total"] - calls_before == 1
    assert all(
        systems.salesforce.store.get_record("Account", a)["Portal_Status__c"] == "Active" for a in account_ids
    )


def test_a_shared_collections_call_that_fails_as_a_whole_is_retried_for_every_update_in_it(
    systems: EmulatorSuite,
) -> None:
    # Given updates of three customers' Accounts, which go out together in one Collections call
    account_ids = [account(systems, Name=f"Customer {n}") for n in range(3)]
    entries = [enqueue_account_update(account_id, Portal_Status__c="Active") for account_id in account_ids]
    systems.salesforce.fail_next(
        1, status=503, error_code="SERVER_UNAVAILABLE", path_prefix="composite/sobjects"
    )

    # When that call fails as a whole
    first = outbox_deliver_due()

    # Then every update in it waits for another try, and Salesforce changed nothing
    assert (sorted(first.retrying), first.delivered, first.failed) == (sorted(e.pk for e in entries), [], [])
    assert first.api_calls == 1
    for entry in OutboxEntry.objects.filter(pk__in=[e.pk for e in entries]):
        assert (entry.status, entry.attempts) == (OutboxEntry.Status.PENDING, 1)
        assert "SERVER_UNAVAILABLE" in entry.last_error
    assert [
        systems.salesforce.store.get_record("Account", a).get("Portal_Status__c") for a in account_ids
    ] == [None] * 3

    # And the next run delivers them all, still in one call
    make_due()
    second = outbox_deliver_due()

    assert (sorted(second.delivered), second.api_calls) == (sorted(e.pk for e in entries), 1)
    assert [systems.salesforce.store.get_record("Account", a)["Portal_Status__c"] for a in account_ids] == [
        "Active"
    ] * 3


def test_a_shared_collections_call_refused_as_a_whole_fails_every_update_in_it(
    systems: EmulatorSuite,
) -> None:
    account_ids = [account(systems, Name=f"Customer {n}") for n in range(2)]
    entries = [enqueue_account_update(account_id, Portal_Status__c="Active") for account_id in account_ids]
    systems.salesforce.fail_next(
        1, status=400, error_code="JSON_PARSER_ERROR", path_prefix="composite/sobjects"
    )

    report = outbox_deliver_due()

    assert (sorted(report.failed), report.retrying, report.delivered) == (
        sorted(e.pk for e in entries),
        [],
        [],
    )
    for entry in OutboxEntry.objects.filter(pk__in=[e.pk for e in entries]):
        assert entry.status == OutboxEntry.Status.FAILED
        assert "JSON_PARSER_ERROR" in entry.last_error


def test_a_503_is_retried_later_and_the_record_is_created_once(systems: EmulatorSuite) -> None:
    account_id = account(systems)
    entry = outbox_enqueue_salesforce(
        operation="case.create",
        record_key=f"Account:{account_id}",
        subrequests=[
            CompositeSubrequest.create("Case", "case", {"AccountId": account_id, "Subject": "Help"})
        ],
    )
    systems.salesforce.fail_next(1, status=503, error_code="SERVER_UNAVAILABLE", path_prefix="/services/data")

    first = outbox_deliver_due()

    entry.refresh_from_db()
    assert first.retrying == [entry.pk]
    assert entry.status == OutboxEntry.Status.PENDING
    assert entry.attempts == 1
    assert entry.next_attempt_at > timezone.now()
    assert "SERVER_UNAVAILABLE" in entry.last_error
    assert outbox_deliver_due().delivered == []  # not due yet

    make_due()
    second = outbox_deliver_due()

    entry.refresh_from_db()
    assert second.delivered == [entry.pk]
    assert entry.status == OutboxEntry.Status.DELIVERED
    assert len(systems.salesforce.store.find_records("Case", AccountId=account_id)) == 1


def test_an_exhausted_api_limit_halts_delivery_and_loses_nothing(systems: EmulatorSuite) -> None:
    account_ids = [account(systems, Name=f"Customer {n}") for n in range(3)]
    entries = [
        outbox_enqueue_salesforce(
            operation="case.create",
            record_key=f"Account:{account_id}",
            subrequests=[
                CompositeSubrequest.create("Case", "case", {"AccountId": account_id, "Subject": "Q"})
            ],
        )
        for account_id in account_ids
    ]
    systems.salesforce.exhaust_api_limit()

    report = outbox_deliver_due()

    assert report.halted is True
    assert report.api_calls == 1  # the first refusal stops the run
    assert sorted(report.retrying) == sorted(e.pk for e in entries)
    assert OutboxEntry.objects.filter(status=OutboxEntry.Status.PENDING).count() == 3

    systems.salesforce.clear_faults()
    make_due()
    outbox_deliver_due()

    assert OutboxEntry.objects.filter(status=OutboxEntry.Status.DELIVERED).count() == 3
    assert len(systems.salesforce.store.find_records("Case")) == 3


def test_a_refused_request_fails_for_good_without_blocking_others(systems: EmulatorSuite) -> None:
    good_account = account(systems)
    bad = outbox_enqueue_salesforce(
        operation="case.create",
        record_key="Account:001000000000000MISSING",
        subrequests=[CompositeSubrequest.update("Account", "001000000000000AAA", "account", {"Name": "x"})],
    )
    good = enqueue_account_update(good_account, Name="Sato Hana")

    report = outbox_deliver_due()

    bad.refresh_from_db()
    assert report.failed == [bad.pk]
    assert good.pk in report.delivered
    assert bad.status == OutboxEntry.Status.FAILED
    assert "NOT_FOUND" in bad.last_error

    retried = outbox_retry(entry_id=bad.pk)

    assert retried.status == OutboxEntry.Status.PENDING
    assert retried.attempts == 0


def test_changes_to_one_record_are_delivered_in_order(systems: EmulatorSuite) -> None:
    account_id = account(systems)
    first = enqueue_account_update(account_id, Internet_Eligibility_Status__c="Pending")
    second = enqueue_account_update(account_id, Internet_Eligibility_Status__c="Eligible")
    systems.salesforce.fail_next(1, status=503, error_code="SERVER_UNAVAILABLE", path_prefix="/services/data")

    outbox_deliver_due()  # the first fails transiently; the second must wait behind it

    second.refresh_from_db()
    assert second.status == OutboxEntry.Status.PENDING
    assert second.attempts == 0

    make_due()
    outbox_deliver_due()
    outbox_deliver_due()

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.delivered_at is not None
    assert second.delivered_at is not None
    assert first.delivered_at <= second.delivered_at
    assert (
        systems.salesforce.store.get_record("Account", account_id)["Internet_Eligibility_Status__c"]
        == "Eligible"
    )


def test_an_entry_waits_for_an_id_an_earlier_entry_will_write_back(systems: EmulatorSuite) -> None:
    account_id = account(systems)
    case = CaseFactory(salesforce_id=None, user=UserFactory())
    create = outbox_enqueue_salesforce(
        operation="case.create",
        record_key=f"Account:{account_id}",
        subrequests=[CompositeSubrequest.create("Case", "case", {"AccountId": account_id, "Subject": "Q"})],
        write_backs=[WriteBack("case", "opportunities.Case", case.pk)],
    )
    close = outbox_enqueue_salesforce(
        operation="case.close",
        record_key=f"Account:{account_id}",
        subrequests=[
            CompositeSubrequest.update(
                "Case", portal_ref("opportunities.Case", case.pk), "case", {"Status": "Closed"}
            )
        ],
    )

    outbox_deliver_due()
    outbox_deliver_due()

    create.refresh_from_db()
    close.refresh_from_db()
    case.refresh_from_db()
    assert create.status == close.status == OutboxEntry.Status.DELIVERED
    assert systems.salesforce.store.get_record("Case", case.salesforce_id)["Status"] == "Closed"


def test_salesforce_unreachable_at_login_keeps_every_entry(systems: EmulatorSuite) -> None:
    account_id = account(systems)
    entry = enqueue_account_update(account_id, Name="x")
    systems.salesforce.fail_next(
        1, status=503, error_code="SERVER_UNAVAILABLE", path_prefix="/services/oauth2"
    )
    from apps.integrations.salesforce.auth import clear_session_cache

    clear_session_cache()
    report = outbox_deliver_due()

    entry.refresh_from_db()
    assert report.retrying == [entry.pk]
    assert entry.status == OutboxEntry.Status.PENDING


def test_the_celery_task_reports_what_it_delivered(systems: EmulatorSuite) -> None:
    enqueue_account_update(account(systems), Name="x")

    assert deliver_outbox_task.apply().get() == {"delivered": 1, "retrying": 0, "failed": 0}


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_never_deliver_an_entry_twice(systems: EmulatorSuite) -> None:
    account_ids = [account(systems, Name=f"Customer {n}") for n in range(12)]
    for account_id in account_ids:
        outbox_enqueue_salesforce(
            operation="case.create",
            record_key=f"Account:{account_id}",
            subrequests=[
                CompositeSubrequest.create("Case", "case", {"AccountId": account_id, "Subject": "Q"})
            ],
        )
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            outbox_deliver_due(limit=5)
            outbox_deliver_due(limit=5)
            outbox_deliver_due(limit=5)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert OutboxEntry.objects.filter(status=OutboxEntry.Status.DELIVERED).count() == 12
    cases = systems.salesforce.store.find_records("Case")
    assert sorted(c["AccountId"] for c in cases) == sorted(account_ids)


def test_an_abandoned_claim_is_picked_up_again(systems: EmulatorSuite) -> None:
    entry = enqueue_account_update(account(systems), Name="x")
    OutboxEntry.objects.filter(pk=entry.pk).update(
        status=OutboxEntry.Status.IN_PROGRESS, claimed_until=timezone.now() - timedelta(seconds=1)
    )

    report = outbox_deliver_due()

    assert report.delivered == [entry.pk]


# --- Lost answers: creates are never sent twice blindly -------------------------------------------


def enqueue_case_create(account_id: str) -> OutboxEntry:
    return outbox_enqueue_salesforce(
        operation="case.create",
        record_key=f"Account:{account_id}",
        subrequests=[
            CompositeSubrequest.create("Case", "case", {"AccountId": account_id, "Subject": "Help"})
        ],
    )


def test_a_create_whose_answer_is_lost_is_held_for_an_agent_instead_of_sent_again(
    systems: EmulatorSuite, settings: SettingsWrapper
) -> None:
    # Given Salesforce answers the create only after the portal stopped waiting
    account_id = account(systems)
    entry = enqueue_case_create(account_id)
    settings.SALESFORCE = {**settings.SALESFORCE, "TIMEOUT_SECONDS": 0.3}
    systems.salesforce.add_latency(1.0, path_prefix="composite", count=1)

    # When it is delivered
    report = outbox_deliver_due()

    # Then it is held, failed with the reason, and Salesforce (which created the Case) gets no second one
    entry.refresh_from_db()
    assert report.failed == [entry.pk]
    assert (entry.status, entry.sending_since) == (OutboxEntry.Status.FAILED, None)
    assert entry.last_error.startswith("OUTCOME_UNKNOWN: ")
    assert "check there before retrying" in entry.last_error
    wait_until(
        lambda: systems.salesforce.store.find_records("Case", AccountId=account_id),
        timeout=5,
        message="Salesforce to finish the create the portal stopped waiting for",
    )
    make_due()
    assert outbox_deliver_due().delivered == []
    assert len(systems.salesforce.store.find_records("Case", AccountId=account_id)) == 1


def test_an_update_whose_answer_is_lost_is_simply_sent_again(
    systems: EmulatorSuite, settings: SettingsWrapper
) -> None:
    account_id = account(systems)
    entry = enqueue_account_update(account_id, Name="Sato Hanako")
    settings.SALESFORCE = {**settings.SALESFORCE, "TIMEOUT_SECONDS": 0.3}
    systems.salesforce.add_latency(1.0, path_prefix="composite", count=1)

    first = outbox_deliver_due()
    # The slow answer lands (Salesforce applied the update); applying it again changes nothing.
    wait_until(
        lambda: systems.salesforce.store.get_record("Account", account_id)["Name"] == "Sato Hanako",
        timeout=5,
        message="Salesforce to apply the update the portal stopped waiting for",
    )
    make_due()
    second = outbox_deliver_due()

    entry.refresh_from_db()
    assert (first.retrying, second.delivered) == ([entry.pk], [entry.pk])
    assert entry.status == OutboxEntry.Status.DELIVERED
    assert systems.salesforce.store.get_record("Account", account_id)["Name"] == "Sato Hanako"


def test_a_create_left_mid_call_by_a_killed_worker_is_held_and_one_never_sent_is_delivered(
    systems: EmulatorSuite,
) -> None:
    # Given two claims that ran out: one whose request had gone out, one killed before sending
    in_flight, never_sent = enqueue_case_create(account(systems)), enqueue_case_create(account(systems))
    past = timezone.now() - timedelta(seconds=1)
    OutboxEntry.objects.filter(pk=in_flight.pk).update(
        status=OutboxEntry.Status.IN_PROGRESS, claimed_until=past, sending_since=past - timedelta(minutes=5)
    )
    OutboxEntry.objects.filter(pk=never_sent.pk).update(
        status=OutboxEntry.Status.IN_PROGRESS, claimed_until=past
    )

    # When delivery runs again
    report = outbox_deliver_due()

    # Then only the one that was never sent goes out; the other waits for an agent
    in_flight.refresh_from_db()
    assert report.delivered == [never_sent.pk]
    assert in_flight.status == OutboxEntry.Status.FAILED
    assert in_flight.last_error.startswith("OUTCOME_UNKNOWN: the worker sending it stopped")
    assert len(systems.salesforce.store.find_records("Case")) == 1

    # And the agent's retry after checking Salesforce sends it
    outbox_retry(entry_id=in_flight.pk)
    assert outbox_deliver_due().delivered == [in_flight.pk]
