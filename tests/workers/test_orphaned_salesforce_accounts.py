"""Orphaned Salesforce Accounts: the daily scan and ``cleanup_orphaned_whmcs_clients --salesforce``
against the Salesforce emulator."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from apps.accounts.models import OrphanedSalesforceAccount, RegistrationAttempt
from apps.accounts.registration import registration_abandon
from apps.accounts.tasks import detect_orphaned_whmcs_clients_task
from apps.integrations.models import OutboxEntry
from emulators import EmulatorSuite
from tests.factories import CustomerFactory, OrphanedSalesforceAccountFactory, RegistrationAttemptFactory
from tests.helpers import deliver_all
from tests.scenarios import stuck_registration

pytestmark = pytest.mark.django_db

SCANNED = "but no portal user is mapped to it and no registration is open for it."
ABANDONED = "Registration abandoned after the Account was created."


def scan_reason(number: str) -> str:
    return f"Created by registration for customer {number}, {SCANNED}"


def salesforce_time(days_ago: float) -> str:
    moment = timezone.now() - timedelta(days=days_ago)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


@dataclass
class Accounts:
    bare: str
    busy: str
    recorded: str
    mapped: str
    owned: str
    young: str
    legacy: str

    def contact(self, systems: EmulatorSuite, account_id: str) -> str:
        (contact,) = systems.salesforce.store.find_records("Contact", AccountId=account_id)
        return str(contact["Id"])


def account(
    systems: EmulatorSuite,
    number: str,
    *,
    source: str = "Portal Signup",
    days_old: float = 3,
) -> str:
    """An Account as registration creates it, with its Contact (email ``<number>@example.com``,
    in lower case)."""
    store = systems.salesforce.store
    record = store.create_record(
        "Account",
        {
            "Name": "Sato Hana",
            "SF_Account_No__c": number,
            "Portal_Registration_Source__c": source,
            "Portal_Status__c": "Active",
            "CreatedDate": salesforce_time(days_old),
        },
    )
    store.create_record(
        "Contact", {"AccountId": record["Id"], "LastName": "Sato", "Email": f"{number.lower()}@example.com"}
    )
    return str(record["Id"])


@pytest.fixture
def accounts(systems: EmulatorSuite) -> Accounts:
    """Seven Accounts: two orphans found by the scan (one with an Opportunity and a Case), one
    recorded by an abandoned registration, and four the scan must leave alone."""
    store = systems.salesforce.store
    bare = account(systems, "P0000001")
    busy = account(systems, "P0000002", source="Portal Checkout")
    store.create_record(
        "Opportunity", {"AccountId": busy, "Name": "SIM", "StageName": "Active", "CloseDate": "2026-12-31"}
    )
    store.create_record("Case", {"AccountId": busy, "Subject": "Where is my SIM?"})
    recorded = account(systems, "P0000003")
    OrphanedSalesforceAccountFactory(
        salesforce_account_id=recorded,
        email="p0000003@example.com",
        customer_number="P0000003",
        reason=ABANDONED,
    )
    mapped = account(systems, "P0000004")
    CustomerFactory(id_mapping__salesforce_account_id=mapped)
    owned = account(systems, "P0000005")
    RegistrationAttemptFactory(customer_number="P0000005", status=RegistrationAttempt.Status.NEEDS_ATTENTION)
    young = account(systems, "P0000006", days_old=0.5)
    legacy = account(systems, "P0000007", source="Legacy")
    return Accounts(bare, busy, recorded, mapped, owned, young, legacy)


def cleanup(*args: str) -> list[str]:
    stdout = io.StringIO()
    call_command("cleanup_orphaned_whmcs_clients", "--salesforce", *args, "--no-progress", stdout=stdout)
    return stdout.getvalue().splitlines()


def in_salesforce(systems: EmulatorSuite) -> set[str]:
    return {record["Id"] for record in systems.salesforce.store.find_records("Account")}


def records() -> list[tuple[str, str, str, str]]:
    return [
        (row.salesforce_account_id, row.detected_by, row.resolution, row.resolution_note)
        for row in OrphanedSalesforceAccount.objects.order_by("salesforce_account_id")
    ]


def test_the_daily_detection_records_new_orphans_and_deactivates_them(
    systems: EmulatorSuite, accounts: Accounts
) -> None:
    created = detect_orphaned_whmcs_clients_task.apply().get()
    again = detect_orphaned_whmcs_clients_task.apply().get()

    assert (created, again) == (2, 0)
    assert records() == [
        (accounts.bare, "scan", "", ""),
        (accounts.busy, "scan", "", ""),
        (accounts.recorded, "abandoned_registration", "", ""),
    ]
    bare = OrphanedSalesforceAccount.objects.get(salesforce_account_id=accounts.bare)
    assert (bare.salesforce_contact_id, bare.email, bare.customer_number, bare.reason) == (
        accounts.contact(systems, accounts.bare),
        "p0000001@example.com",
        "P0000001",
        scan_reason("P0000001"),
    )
    deliver_all()
    statuses = {
        record["Id"]: record["Portal_Status__c"]
        for record in systems.salesforce.store.find_records("Account")
    }
    assert (statuses[accounts.bare], statuses[accounts.busy], statuses[accounts.mapped]) == (
        "Inactive",
        "Inactive",
        "Active",
    )
    assert len(in_salesforce(systems)) == 7  # nothing deleted


def test_a_dry_run_lists_the_orphans_and_why_and_changes_nothing(
    systems: EmulatorSuite, accounts: Accounts
) -> None:
    lines = cleanup()

    assert lines == [
        f"Salesforce Account {accounts.bare} <p0000001@example.com>: {scan_reason('P0000001')} -> would delete",
        f"Salesforce Account {accounts.busy} <p0000002@example.com>: {scan_reason('P0000002')} -> "
        "would keep: has 1 Opportunity, 1 Case",
        f"Salesforce Account {accounts.recorded} <p0000003@example.com>: {ABANDONED} -> would delete",
        "Scanned 5 Salesforce Accounts from registration; 3 orphaned: 2 would delete, 1 would keep, "
        "0 skipped, 0 failed.",
        "Dry run: nothing was changed. Run again with --apply to act.",
    ]
    assert len(in_salesforce(systems)) == 7
    assert records() == [(accounts.recorded, "abandoned_registration", "", "")]
    assert not OutboxEntry.objects.exists()


def test_apply_deletes_orphans_nothing_hangs_on_with_their_contacts_and_keeps_the_others(
    systems: EmulatorSuite, accounts: Accounts
) -> None:
    bare_contact = accounts.contact(systems, accounts.bare)

    lines = cleanup("--apply")

    assert lines[0] == (
        f"Salesforce Account {accounts.bare} <p0000001@example.com>: {scan_reason('P0000001')} -> deleted"
    )
    assert lines[1].endswith("-> kept: has 1 Opportunity, 1 Case")
    assert lines[-1] == (
        "Scanned 5 Salesforce Accounts from registration; 3 orphaned: 2 deleted, 1 kept, 0 skipped, 0 failed."
    )
    assert in_salesforce(systems) == {
        accounts.busy,
        accounts.mapped,
        accounts.owned,
        accounts.young,
        accounts.legacy,
    }
    assert systems.salesforce.store.get_record("Contact", bare_contact) is None
    assert records() == [
        (accounts.bare, "scan", "deleted", ""),
        (accounts.busy, "scan", "kept", "has 1 Opportunity, 1 Case"),
        (accounts.recorded, "abandoned_registration", "deleted", ""),
    ]
    assert OrphanedSalesforceAccount.objects.filter(resolved_at__isnull=True).count() == 0
    # The kept Account stays in Salesforce, no longer an active portal customer.
    deliver_all()
    assert systems.salesforce.store.get_record("Account", accounts.busy)["Portal_Status__c"] == "Inactive"

    assert cleanup("--apply")[-1] == (
        "Scanned 3 Salesforce Accounts from registration; 0 orphaned: 0 deleted, 0 kept, 0 skipped, 0 failed."
    )


def test_right_before_deleting_a_recorded_orphan_is_checked_again(
    systems: EmulatorSuite, accounts: Accounts
) -> None:
    # Given recorded orphans that, since, a portal user maps to, an open registration owns, a
    # queued write still targets, something in Salesforce hangs on, or Salesforce lost.
    store = systems.salesforce.store
    linked = account(systems, "P0000011")
    user = CustomerFactory(id_mapping__salesforce_account_id=linked)
    reopened = account(systems, "P0000012")
    RegistrationAttemptFactory(customer_number="P0000012", status=RegistrationAttempt.Status.IN_PROGRESS)
    awaited = account(systems, "P0000013")
    OutboxEntry.objects.create(
        target_system="salesforce",
        operation="registration.deactivate_orphaned_account",
        record_key=f"Account:{awaited}",
        payload={},
    )
    ordered = account(systems, "P0000014")
    store.create_record("Order", {"AccountId": ordered, "EffectiveDate": "2026-11-20", "Status": "Draft"})
    gone = account(systems, "P0000015")
    store.delete_record("Account", gone)
    for number, account_id in enumerate((linked, reopened, awaited, ordered, gone), start=11):
        OrphanedSalesforceAccountFactory(
            salesforce_account_id=account_id, customer_number=f"P00000{number}", email="", reason="Recorded."
        )

    lines = cleanup("--apply")

    outcomes = {line.split(" ")[2].rstrip(":"): line.split(" -> ")[1] for line in lines[:-1]}
    assert {
        account_id: outcomes[account_id] for account_id in (linked, reopened, awaited, ordered, gone)
    } == {
        linked: f"skipped: mapped to portal user {user.pk}",
        reopened: "skipped: an open registration may still link it",
        awaited: "skipped: a Salesforce write for it is still waiting in the outbox",
        ordered: "kept: has 1 Order",
        gone: "skipped: no longer in Salesforce",
    }
    assert {linked, reopened, awaited, ordered} <= in_salesforce(systems)
    resolutions = {row[0]: (row[2], row[3]) for row in records()}
    assert resolutions[linked] == ("linked", f"mapped to portal user {user.pk}")
    assert resolutions[reopened] == ("", "")
    assert resolutions[awaited] == ("", "")
    assert resolutions[ordered] == ("kept", "has 1 Order")
    assert resolutions[gone] == ("deleted", "no longer in Salesforce")


def test_an_abandoned_registrations_account_is_deleted_once_its_deactivation_is_delivered(
    systems: EmulatorSuite,
) -> None:
    attempt = stuck_registration(systems)
    registration_abandon(attempt=attempt, reason="The customer will start again.")
    account_id, contact_id = attempt.salesforce_account_id, attempt.salesforce_contact_id

    before_delivery = cleanup("--apply")
    deliver_all()
    after_delivery = cleanup("--apply")

    assert before_delivery[0].endswith("-> skipped: a Salesforce write for it is still waiting in the outbox")
    assert after_delivery[0] == (
        f"Salesforce Account {account_id} <hana.sato@example.com>: "
        f"Registration {attempt.pk} ({attempt.customer_number}) abandoned: The customer will start again. -> deleted"
    )
    assert systems.salesforce.store.get_record("Account", account_id) is None
    assert systems.salesforce.store.get_record("Contact", contact_id) is None
    assert OrphanedSalesforceAccount.objects.get().resolution == "deleted"


def test_older_than_and_limit_narrow_the_run(systems: EmulatorSuite, accounts: Accounts) -> None:
    # Given only the bare orphan is more than a week old (the recorded one was recorded today)
    systems.salesforce.store.update_record("Account", accounts.bare, {"CreatedDate": salesforce_time(10)})

    older = cleanup("--older-than", "7")
    limited = cleanup("--limit", "1")

    assert older[:-2] == [
        f"Salesforce Account {accounts.bare} <p0000001@example.com>: {scan_reason('P0000001')} -> would delete"
    ]
    assert limited[:-2] == older[:-2]


def test_a_failure_while_checking_leaves_the_account_alone(
    systems: EmulatorSuite, accounts: Accounts
) -> None:
    systems.salesforce.fail_next(1, status=503, error_code="SERVER_UNAVAILABLE", path_prefix="composite")

    lines = cleanup("--apply", "--limit", "1")

    assert lines[0].startswith(f"Salesforce Account {accounts.bare} <p0000001@example.com>: ")
    assert " -> failed: " in lines[0]
    assert lines[-1].endswith("0 deleted, 0 kept, 0 skipped, 1 failed.")
    assert accounts.bare in in_salesforce(systems)
    assert records()[0] == (accounts.bare, "scan", "", "")


def test_salesforce_unreadable_stops_the_command(systems: EmulatorSuite, accounts: Accounts) -> None:
    systems.salesforce.fail_next(1, status=503, error_code="SERVER_UNAVAILABLE", path_prefix="query")

    with pytest.raises(CommandError, match="Salesforce could not be read"):
        cleanup("--apply")

    assert len(in_salesforce(systems)) == 7
