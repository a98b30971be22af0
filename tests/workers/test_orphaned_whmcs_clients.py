"""``manage.py cleanup_orphaned_whmcs_clients`` and the daily detection against the WHMCS emulator."""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.accounts.models import RegistrationAttempt
from apps.accounts.registration import WHMCS_CLIENT_NOTE
from apps.accounts.tasks import detect_orphaned_whmcs_clients_task
from apps.integrations.models import OrphanedWhmcsClient
from apps.integrations.whmcs.client import get_whmcs_client
from apps.integrations.whmcs.types import OrderLine
from emulators import EmulatorSuite
from tests.factories import CustomerFactory, OrphanedWhmcsClientFactory, RegistrationAttemptFactory
from tests.scenarios import whmcs_client

pytestmark = pytest.mark.django_db

RECORDED_REASON = (
    "Portal user creation failed after WHMCS client creation: IntegrityError (registration attempt 7)."
)


def portal_note(n: int) -> str:
    return f"{WHMCS_CLIENT_NOTE}; Salesforce Account 00100000000000{n}AAA"


def scan_reason(n: int) -> str:
    return f"Created by the portal for Salesforce Account 00100000000000{n}AAA, but no portal user is mapped to it."


@dataclass
class Clients:
    mapped: int
    bare: int
    with_service: int
    recorded_unpaid: int
    not_portal: int
    paid_invoice: int


def order(client_id: int) -> tuple[int, int]:
    """A monthly plan for the client: returns (service id, invoice id)."""
    result = get_whmcs_client().add_order(client_id, [OrderLine(pid=1)], payment_method="mailin")
    assert result.invoice_id is not None
    return result.service_ids[0], result.invoice_id


@pytest.fixture
def clients(systems: EmulatorSuite) -> Clients:
    """Six WHMCS clients: one mapped, four orphans in different states, one not from the portal."""
    mapped = whmcs_client(email="mapped@example.com", notes=portal_note(1))
    CustomerFactory(email="mapped@example.com", id_mapping__whmcs_client_id=mapped)
    bare = whmcs_client(email="bare@example.com", notes=portal_note(2))
    with_service = whmcs_client(email="service@example.com", notes=portal_note(3))
    order(with_service)
    recorded_unpaid = whmcs_client(email="unpaid@example.com", notes=portal_note(4))
    service_id, _ = order(recorded_unpaid)
    systems.whmcs.delete_service(service_id)
    OrphanedWhmcsClientFactory(
        whmcs_client_id=recorded_unpaid,
        email="unpaid@example.com",
        salesforce_account_id="001000000000004AAA",
        reason=RECORDED_REASON,
    )
    not_portal = whmcs_client(email="legacy@example.com", notes="Imported from the old billing system")
    paid_invoice = whmcs_client(email="paid@example.com", notes=portal_note(6))
    service_id, invoice_id = order(paid_invoice)
    systems.whmcs.delete_service(service_id)
    systems.whmcs.mark_invoice_paid(invoice_id)
    systems.whmcs.reset_calls()
    return Clients(mapped, bare, with_service, recorded_unpaid, not_portal, paid_invoice)


def cleanup(*args: str) -> list[str]:
    stdout = io.StringIO()
    call_command("cleanup_orphaned_whmcs_clients", *args, "--no-progress", stdout=stdout)
    return stdout.getvalue().splitlines()


def client_statuses(systems: EmulatorSuite) -> dict[int, str]:
    return {client["id"]: client["status"] for client in systems.whmcs.state.clients}


def records() -> list[tuple[int, str, str, bool]]:
    return list(
        (row.whmcs_client_id, row.detected_by, row.resolution, row.resolved_at is not None)
        for row in OrphanedWhmcsClient.objects.order_by("whmcs_client_id")
    )


def test_a_dry_run_lists_the_orphans_and_why_and_changes_nothing(
    systems: EmulatorSuite, clients: Clients
) -> None:
    lines = cleanup()

    assert lines == [
        f"WHMCS client {clients.bare} <bare@example.com>: {scan_reason(2)} -> would close",
        f"WHMCS client {clients.with_service} <service@example.com>: {scan_reason(3)} -> "
        "skipped: has 1 service(s), has 1 unpaid invoice(s)",
        f"WHMCS client {clients.recorded_unpaid} <unpaid@example.com>: {RECORDED_REASON} -> "
        "skipped: has 1 unpaid invoice(s)",
        f"WHMCS client {clients.paid_invoice} <paid@example.com>: {scan_reason(6)} -> would close",
        "Scanned 6 WHMCS clients; 4 orphaned: 2 would close, 0 would delete, 2 skipped, 0 failed.",
        "Dry run: nothing was changed. Run again with --apply to act.",
    ]
    assert set(client_statuses(systems).values()) == {"Active"}
    assert records() == [(clients.recorded_unpaid, "registration_failure", "", False)]
    assert "closeclient" not in systems.whmcs.calls


def test_apply_closes_safe_orphans_and_records_what_it_did(systems: EmulatorSuite, clients: Clients) -> None:
    lines = cleanup("--apply")

    assert lines[0] == f"WHMCS client {clients.bare} <bare@example.com>: {scan_reason(2)} -> closed"
    assert lines[-1] == "Scanned 6 WHMCS clients; 4 orphaned: 2 closed, 0 deleted, 2 skipped, 0 failed."
    assert client_statuses(systems) == {
        clients.mapped: "Active",
        clients.bare: "Closed",
        clients.with_service: "Active",
        clients.recorded_unpaid: "Active",
        clients.not_portal: "Active",
        clients.paid_invoice: "Closed",
    }
    assert records() == [
        (clients.bare, "scan", "closed", True),
        (clients.with_service, "scan", "", False),
        (clients.recorded_unpaid, "registration_failure", "", False),
        (clients.paid_invoice, "scan", "closed", True),
    ]
    assert (systems.whmcs.call_count("CloseClient"), systems.whmcs.call_count("DeleteClient")) == (2, 0)


def test_apply_delete_deletes_only_clients_without_invoices_or_services(
    systems: EmulatorSuite, clients: Clients
) -> None:
    lines = cleanup("--apply", "--delete")

    assert lines[0] == f"WHMCS client {clients.bare} <bare@example.com>: {scan_reason(2)} -> deleted"
    assert lines[3] == (
        f"WHMCS client {clients.paid_invoice} <paid@example.com>: {scan_reason(6)} -> "
        "closed (has invoices, so closed rather than deleted)"
    )
    assert lines[-1] == "Scanned 6 WHMCS clients; 4 orphaned: 1 closed, 1 deleted, 2 skipped, 0 failed."
    statuses = client_statuses(systems)
    assert clients.bare not in statuses
    assert (statuses[clients.paid_invoice], statuses[clients.with_service]) == ("Closed", "Active")
    assert records()[0] == (clients.bare, "scan", "deleted", True)


def test_older_than_and_limit_narrow_the_run(systems: EmulatorSuite, clients: Clients) -> None:
    # Given only the bare orphan was created more than a week ago
    systems.whmcs.state.data["clients"][str(clients.bare)]["datecreated"] = (
        timezone.localdate() - datetime.timedelta(days=10)
    ).isoformat()

    older = cleanup("--older-than", "7")
    limited = cleanup("--limit", "1")

    assert older[:-2] == [f"WHMCS client {clients.bare} <bare@example.com>: {scan_reason(2)} -> would close"]
    assert limited[:-2] == older[:-2]


def test_a_recorded_orphan_that_was_mapped_since_is_never_touched(
    systems: EmulatorSuite, clients: Clients
) -> None:
    # Given a recorded orphan that a portal user now maps to
    OrphanedWhmcsClientFactory(
        whmcs_client_id=clients.mapped, email="mapped@example.com", reason="Old record."
    )

    lines = cleanup("--apply", "--delete")

    assert lines[0].startswith(
        f"WHMCS client {clients.mapped} <mapped@example.com>: Old record. -> skipped: mapped"
    )
    assert client_statuses(systems)[clients.mapped] == "Active"
    assert OrphanedWhmcsClient.objects.get(whmcs_client_id=clients.mapped).resolution == "linked"


def test_the_daily_detection_records_new_orphans_only(systems: EmulatorSuite, clients: Clients) -> None:
    created = detect_orphaned_whmcs_clients_task.apply().get()
    again = detect_orphaned_whmcs_clients_task.apply().get()

    assert (created, again) == (3, 0)
    assert records() == [
        (clients.bare, "scan", "", False),
        (clients.with_service, "scan", "", False),
        (clients.recorded_unpaid, "registration_failure", "", False),
        (clients.paid_invoice, "scan", "", False),
    ]
    assert (
        OrphanedWhmcsClient.objects.get(whmcs_client_id=clients.bare).salesforce_account_id
        == "001000000000002AAA"
    )
    assert set(client_statuses(systems).values()) == {"Active"}


def test_a_client_whose_registration_is_in_progress_is_left_alone(
    systems: EmulatorSuite, clients: Clients
) -> None:
    # Given the bare client's registration is still running (its mapping is about to be written)
    RegistrationAttemptFactory(email="bare@example.com", status=RegistrationAttempt.Status.IN_PROGRESS)

    lines = cleanup("--apply")

    assert lines[0] == (
        f"WHMCS client {clients.bare} <bare@example.com>: {scan_reason(2)} -> "
        "skipped: a registration for this email is in progress"
    )
    assert client_statuses(systems)[clients.bare] == "Active"
