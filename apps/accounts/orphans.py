"""Orphans: WHMCS clients and Salesforce Accounts registration created that no portal user maps to.

**WHMCS clients** come from registrations abandoned after the client was created (recorded at once
as ``OrphanedWhmcsClient``) and from anything else that left one behind, found by scanning WHMCS
for clients whose notes carry the portal's tag (``apps.accounts.registration.WHMCS_CLIENT_NOTE``).
Safety rules, checked again right before acting: a client that a portal user maps to, that has
any service, or that has an unpaid invoice is never touched; a client is deleted (rather than
closed) only when asked and when it has no invoices and no services at all; a client whose email
has a registration in progress is left alone (its mapping is about to be written).

**Salesforce Accounts** come from abandoned registrations (``OrphanedSalesforceAccount``, recorded
by ``registration_abandon``) and from a scan of the Accounts whose registration source is Portal
Signup or Portal Checkout, older than ``ACCOUNT_SCAN_MIN_AGE``, that no ID mapping names and no
open registration owns. Recording one queues its Portal Status = Inactive. Right before deleting
one the cleanup checks again that no mapping names it, no open registration owns it, no write
for it waits in the outbox, and nothing hangs on it in Salesforce (Opportunities, Orders,
Cases): an Account with any is kept, with the reason. Its Contacts go with it.

Every network call happens outside a database transaction.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Generic, TypeVar

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import IdMapping, OrphanedSalesforceAccount, RegistrationAttempt, RegistrationSource
from apps.accounts.registration import WHMCS_CLIENT_NOTE, orphaned_account_deactivate
from apps.integrations.models import OrphanedWhmcsClient, OutboxEntry
from apps.integrations.outbox import account_record_key
from apps.integrations.salesforce.exceptions import SalesforceError, SalesforceNotFound
from apps.integrations.salesforce.gateway import AccountDependents, SalesforceGateway, get_gateway
from apps.integrations.whmcs.client import WhmcsClient, get_whmcs_client
from apps.integrations.whmcs.exceptions import WhmcsError, WhmcsNotFound
from apps.integrations.whmcs.types import WhmcsClientSummary

logger = logging.getLogger(__name__)

Progress = Callable[[Iterable[Any]], Iterable[Any]]
"""Wraps an iterable to show progress (the command passes a tqdm bar)."""

UNPAID_INVOICE_STATUSES = frozenset({"unpaid", "payment pending", "collections"})
_ACCOUNT_IN_NOTES = re.compile(r"Salesforce Account (\w{15,18})")


class Action:
    CLOSE = "close"
    DELETE = "delete"
    KEEP = "keep"
    SKIP = "skip"
    ERROR = "error"


@dataclass(frozen=True)
class OrphanCandidate:
    """A WHMCS client with no portal mapping, and why it is considered orphaned."""

    whmcs_client_id: int
    email: str
    reason: str
    detected_by: str
    salesforce_account_id: str = ""
    created_on: date | None = None
    status: str = ""
    in_whmcs: bool = True
    record_id: int | None = None


@dataclass(frozen=True)
class AccountOrphanCandidate:
    """A Salesforce Account registration created with no portal mapping, and why it is
    considered orphaned."""

    salesforce_account_id: str
    reason: str
    detected_by: str
    salesforce_contact_id: str = ""
    email: str = ""
    customer_number: str = ""
    created_on: date | None = None
    record_id: int | None = None


Candidate = TypeVar("Candidate", OrphanCandidate, AccountOrphanCandidate)


@dataclass(frozen=True)
class OrphanOutcome(Generic[Candidate]):
    candidate: Candidate
    action: str
    detail: str = ""
    applied: bool = False


@dataclass
class CleanupReport(Generic[Candidate]):
    scanned: int = 0
    outcomes: list[OrphanOutcome[Candidate]] = field(default_factory=list)
    applied: bool = False

    def count(self, action: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.action == action)


def _identity(items: Iterable[Any]) -> Iterable[Any]:
    return items


# --- finding -------------------------------------------------------------------------------------


def orphaned_whmcs_clients_find(
    *, client: WhmcsClient | None = None, progress: Progress | None = None
) -> tuple[list[OrphanCandidate], int]:
    """Every orphan: the open recorded ones and, from a scan of all WHMCS clients, those the
    portal created (tagged notes) with no mapping. Returns ``(candidates, clients scanned)``.
    Reads only (one ``GetClients`` page per 100 clients, one ``GetClientsDetails`` per unmapped
    client)."""
    whmcs = client or get_whmcs_client()
    wrap = progress or _identity
    mapped = set(
        IdMapping.objects.filter(whmcs_client_id__isnull=False).values_list("whmcs_client_id", flat=True)
    )
    recorded = {
        row.whmcs_client_id: row
        for row in OrphanedWhmcsClient.objects.filter(resolution=OrphanedWhmcsClient.Resolution.OPEN)
    }
    found: dict[int, OrphanCandidate] = {}
    seen: dict[int, tuple[date | None, str]] = {}
    scanned = 0
    summaries: Iterable[WhmcsClientSummary] = wrap(whmcs.iter_clients())
    for summary in summaries:
        scanned += 1
        seen[summary.id] = (summary.created_on, summary.status)
        if summary.id in mapped or summary.id in recorded:
            continue
        try:
            details = whmcs.get_client_details(client_id=summary.id)
        except WhmcsNotFound:
            continue  # Deleted since the page was read.
        if WHMCS_CLIENT_NOTE not in details.notes:
            continue  # Not created by the portal (e.g. a customer billed outside the portal).
        match = _ACCOUNT_IN_NOTES.search(details.notes)
        account = match.group(1) if match else ""
        found[summary.id] = OrphanCandidate(
            whmcs_client_id=summary.id,
            email=summary.email,
            reason=f"Created by the portal{f' for Salesforce Account {account}' if account else ''}, "
            "but no portal user is mapped to it.",
            detected_by=OrphanedWhmcsClient.DetectedBy.SCAN,
            salesforce_account_id=account,
            created_on=summary.created_on,
            status=summary.status,
        )
    for client_id, row in recorded.items():
        created_on, status = seen.get(client_id, (None, ""))
        found[client_id] = OrphanCandidate(
            whmcs_client_id=client_id,
            email=row.email,
            reason=row.reason,
            detected_by=row.detected_by,
            salesforce_account_id=row.salesforce_account_id,
            created_on=created_on or timezone.localdate(row.created_at),
            status=status,
            in_whmcs=client_id in seen,
            record_id=row.pk,
        )
    return sorted(found.values(), key=lambda candidate: candidate.whmcs_client_id), scanned


def orphaned_whmcs_clients_detect(*, client: WhmcsClient | None = None) -> list[OrphanedWhmcsClient]:
    """Record the orphans a scan finds (WHMCS is not changed). Returns the rows created."""
    candidates, scanned = orphaned_whmcs_clients_find(client=client)
    created = []
    for candidate in candidates:
        if candidate.record_id is None:
            row, was_created = _record(candidate)
            if was_created:
                created.append(row)
    logger.info("Orphaned WHMCS client scan: %d clients scanned, %d new orphans", scanned, len(created))
    return created


# --- cleaning up ---------------------------------------------------------------------------------


def orphaned_whmcs_clients_cleanup(
    *,
    apply: bool = False,
    delete: bool = False,
    older_than_days: int | None = None,
    limit: int | None = None,
    client: WhmcsClient | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> CleanupReport[OrphanCandidate]:
    """Find the orphans and close them (or delete them, with ``delete``, when they have no
    invoices or services). Without ``apply`` nothing is changed anywhere: the report says what
    would happen. With ``apply`` every orphan looked at is recorded as an ``OrphanedWhmcsClient``
    and the ones acted on get their resolution and time.

    ``older_than_days`` leaves out clients created more recently; ``limit`` caps how many are
    looked at.
    """
    whmcs = client or get_whmcs_client()
    today = timezone.localdate(now or timezone.now())
    candidates, scanned = orphaned_whmcs_clients_find(client=whmcs, progress=progress)
    if older_than_days is not None:
        cutoff = today - timedelta(days=older_than_days)
        candidates = [c for c in candidates if c.created_on is None or c.created_on <= cutoff]
    if limit is not None:
        candidates = candidates[:limit]

    report = CleanupReport[OrphanCandidate](scanned=scanned, applied=apply)
    to_clean: Iterable[OrphanCandidate] = (progress or _identity)(candidates)
    for candidate in to_clean:
        outcome = _clean_one(whmcs, candidate, apply=apply, delete=delete)
        report.outcomes.append(outcome)
        logger.info(
            "Orphaned WHMCS client %s: %s%s%s",
            candidate.whmcs_client_id,
            outcome.action,
            f" ({outcome.detail})" if outcome.detail else "",
            "" if apply else " [dry run]",
            extra={
                "whmcs_client_id": candidate.whmcs_client_id,
                "salesforce_account_id": candidate.salesforce_account_id or None,
            },
        )
    return report


def _clean_one(
    whmcs: WhmcsClient, candidate: OrphanCandidate, *, apply: bool, delete: bool
) -> OrphanOutcome[OrphanCandidate]:
    client_id = candidate.whmcs_client_id
    mapping_user = (
        IdMapping.objects.filter(whmcs_client_id=client_id).values_list("user_id", flat=True).first()
    )
    if mapping_user is not None:
        if apply:
            _resolve(candidate, OrphanedWhmcsClient.Resolution.LINKED)
        return OrphanOutcome(candidate, Action.SKIP, f"mapped to portal user {mapping_user}", applied=apply)
    if (
        candidate.email
        and RegistrationAttempt.objects.filter(
            email__iexact=candidate.email, status=RegistrationAttempt.Status.IN_PROGRESS
        ).exists()
    ):
        return OrphanOutcome(candidate, Action.SKIP, "a registration for this email is in progress")
    if not candidate.in_whmcs:
        if apply:
            _resolve(candidate, OrphanedWhmcsClient.Resolution.DELETED)
        return OrphanOutcome(candidate, Action.SKIP, "no longer in WHMCS", applied=apply)

    try:
        services = whmcs.get_clients_products(client_id)
        invoices = whmcs.get_invoices(client_id)
    except WhmcsError as exc:
        return OrphanOutcome(candidate, Action.ERROR, str(exc))
    unpaid = [invoice for invoice in invoices if invoice.status.lower() in UNPAID_INVOICE_STATUSES]
    reasons = []
    if services:
        reasons.append(f"has {len(services)} service(s)")
    if unpaid:
        reasons.append(f"has {len(unpaid)} unpaid invoice(s)")
    if reasons:
        if apply:
            _record(candidate)
        return OrphanOutcome(candidate, Action.SKIP, ", ".join(reasons))

    action = Action.DELETE if delete and not invoices else Action.CLOSE
    detail = "has invoices, so closed rather than deleted" if delete and invoices else ""
    if action == Action.CLOSE and candidate.status.lower() == "closed":
        detail = "already closed in WHMCS"
    if not apply:
        return OrphanOutcome(candidate, action, detail)

    try:
        if action == Action.DELETE:
            whmcs.delete_client(client_id)
        elif candidate.status.lower() != "closed":
            whmcs.close_client(client_id)
    except WhmcsError as exc:
        _record(candidate)
        return OrphanOutcome(candidate, Action.ERROR, str(exc))
    _resolve(
        candidate,
        OrphanedWhmcsClient.Resolution.DELETED
        if action == Action.DELETE
        else OrphanedWhmcsClient.Resolution.CLOSED,
    )
    return OrphanOutcome(candidate, action, detail, applied=True)


def _record(candidate: OrphanCandidate) -> tuple[OrphanedWhmcsClient, bool]:
    with transaction.atomic():
        return OrphanedWhmcsClient.objects.get_or_create(
            whmcs_client_id=candidate.whmcs_client_id,
            defaults={
                "email": candidate.email,
                "salesforce_account_id": candidate.salesforce_account_id,
                "detected_by": candidate.detected_by,
                "reason": candidate.reason,
            },
        )


def _resolve(candidate: OrphanCandidate, resolution: str) -> None:
    with transaction.atomic():
        row, _ = _record(candidate)
        row.resolution = resolution
        row.resolved_at = timezone.now()
        row.save(update_fields=["resolution", "resolved_at"])


# --- orphaned Salesforce Accounts ----------------------------------------------------------------

ACCOUNT_SCAN_MIN_AGE = timedelta(days=1)
"""The scan leaves younger Accounts alone: far longer than a registration takes to link its
Account, whatever it meets on the way (it stays open, and so owned, until a supervisor acts)."""

REGISTRATION_SOURCES = (RegistrationSource.PORTAL_SIGNUP, RegistrationSource.PORTAL_CHECKOUT)
"""The registration sources registration writes on the Accounts it creates."""


def orphaned_salesforce_accounts_find(
    *,
    gateway: SalesforceGateway | None = None,
    min_age: timedelta = ACCOUNT_SCAN_MIN_AGE,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> tuple[list[AccountOrphanCandidate], int]:
    """Every orphaned Account: the open recorded ones and, from a scan of the Accounts
    registration created more than ``min_age`` ago, those no ID mapping names and no open
    registration owns. Returns ``(candidates, Accounts scanned)``. Reads only (a query per
    2,000 Accounts, one per 200 unmapped ones for their Contacts).

    Salesforce is read before the portal's mappings and registrations, so an Account whose
    registration links it meanwhile is seen with its mapping."""
    salesforce = gateway or get_gateway()
    created_before = (now or timezone.now()) - min_age
    accounts = list(
        (progress or _identity)(
            salesforce.accounts_by_registration_source(
                sources=REGISTRATION_SOURCES, created_before=created_before
            )
        )
    )
    mapped = set(IdMapping.objects.values_list("salesforce_account_id", flat=True))
    recorded = {row.salesforce_account_id: row for row in OrphanedSalesforceAccount.objects.all()}
    open_attempts = RegistrationAttempt.objects.filter(status__in=RegistrationAttempt.OPEN_STATUSES)
    owned_ids = set(open_attempts.values_list("salesforce_account_id", flat=True))
    owned_numbers = set(open_attempts.values_list("customer_number", flat=True))
    unmapped = [
        account
        for account in accounts
        if account.account_id not in mapped | owned_ids | recorded.keys()
        and not (account.customer_number and account.customer_number in owned_numbers)
    ]
    contacts = salesforce.account_contacts([account.account_id for account in unmapped]) if unmapped else {}

    found: dict[str, AccountOrphanCandidate] = {}
    for account in unmapped:
        contact = contacts.get(account.account_id)
        customer = f" for customer {account.customer_number}" if account.customer_number else ""
        found[account.account_id] = AccountOrphanCandidate(
            salesforce_account_id=account.account_id,
            reason=f"Created by registration{customer}, but no portal user is mapped to it and no "
            "registration is open for it.",
            detected_by=OrphanedSalesforceAccount.DetectedBy.SCAN,
            salesforce_contact_id=contact.contact_id if contact else "",
            email=contact.email if contact else "",
            customer_number=account.customer_number,
            created_on=timezone.localdate(account.created_at) if account.created_at else None,
        )
    for account_id, row in recorded.items():
        if row.resolution == OrphanedSalesforceAccount.Resolution.OPEN:
            found[account_id] = AccountOrphanCandidate(
                salesforce_account_id=account_id,
                reason=row.reason,
                detected_by=row.detected_by,
                salesforce_contact_id=row.salesforce_contact_id,
                email=row.email,
                customer_number=row.customer_number,
                created_on=timezone.localdate(row.created_at),
                record_id=row.pk,
            )
    return sorted(found.values(), key=lambda candidate: candidate.salesforce_account_id), len(accounts)


def orphaned_salesforce_accounts_detect(
    *, gateway: SalesforceGateway | None = None, now: datetime | None = None
) -> list[OrphanedSalesforceAccount]:
    """Record the orphaned Accounts a scan finds and queue their deactivation (nothing is
    deleted). Returns the rows created."""
    candidates, scanned = orphaned_salesforce_accounts_find(gateway=gateway, now=now)
    created = []
    for candidate in candidates:
        if candidate.record_id is None:
            row, was_created = _record_account(candidate)
            if was_created:
                created.append(row)
    logger.info(
        "Orphaned Salesforce Account scan: %d Accounts scanned, %d new orphans", scanned, len(created)
    )
    return created


def orphaned_salesforce_accounts_cleanup(
    *,
    apply: bool = False,
    older_than_days: int | None = None,
    limit: int | None = None,
    gateway: SalesforceGateway | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> CleanupReport[AccountOrphanCandidate]:
    """Find the orphaned Accounts and delete those nothing hangs on (their Contacts go with
    them). Without ``apply`` nothing is changed anywhere: the report says what would happen.
    With ``apply`` every orphan looked at is recorded and the ones settled get their
    resolution: ``deleted``, ``kept`` (with what hangs on it) or ``linked``.

    ``older_than_days`` leaves out Accounts created (or recorded) more recently; ``limit`` caps
    how many are looked at.
    """
    salesforce = gateway or get_gateway()
    now = now or timezone.now()
    candidates, scanned = orphaned_salesforce_accounts_find(gateway=salesforce, now=now, progress=progress)
    if older_than_days is not None:
        cutoff = timezone.localdate(now) - timedelta(days=older_than_days)
        candidates = [c for c in candidates if c.created_on is None or c.created_on <= cutoff]
    if limit is not None:
        candidates = candidates[:limit]

    report = CleanupReport[AccountOrphanCandidate](scanned=scanned, applied=apply)
    to_clean: Iterable[AccountOrphanCandidate] = (progress or _identity)(candidates)
    for candidate in to_clean:
        outcome = _clean_account(salesforce, candidate, apply=apply)
        report.outcomes.append(outcome)
        logger.info(
            "Orphaned Salesforce Account %s: %s%s%s",
            candidate.salesforce_account_id,
            outcome.action,
            f" ({outcome.detail})" if outcome.detail else "",
            "" if apply else " [dry run]",
            extra={"salesforce_account_id": candidate.salesforce_account_id},
        )
    return report


def _clean_account(
    salesforce: SalesforceGateway, candidate: AccountOrphanCandidate, *, apply: bool
) -> OrphanOutcome[AccountOrphanCandidate]:
    account_id = candidate.salesforce_account_id
    Resolution = OrphanedSalesforceAccount.Resolution
    mapping_user = (
        IdMapping.objects.filter(salesforce_account_id=account_id).values_list("user_id", flat=True).first()
    )
    if mapping_user is not None:
        detail = f"mapped to portal user {mapping_user}"
        if apply:
            _resolve_account(candidate, Resolution.LINKED, detail)
        return OrphanOutcome(candidate, Action.SKIP, detail, applied=apply)
    owned = Q(salesforce_account_id=account_id)
    if candidate.customer_number:
        owned |= Q(customer_number=candidate.customer_number)
    if RegistrationAttempt.objects.filter(owned, status__in=RegistrationAttempt.OPEN_STATUSES).exists():
        return OrphanOutcome(candidate, Action.SKIP, "an open registration may still link it")
    # Deleting now would fail the queued write for good (its deactivation, say).
    if (
        OutboxEntry.objects.filter(record_key=account_record_key(account_id))
        .exclude(status=OutboxEntry.Status.DELIVERED)
        .exists()
    ):
        if apply:
            _record_account(candidate)
        return OrphanOutcome(
            candidate, Action.SKIP, "a Salesforce write for it is still waiting in the outbox"
        )

    try:
        dependents = salesforce.account_dependents(account_id)
    except SalesforceError as exc:
        if apply:
            _record_account(candidate)
        return OrphanOutcome(candidate, Action.ERROR, str(exc))
    if dependents is None:
        if apply:
            _resolve_account(candidate, Resolution.DELETED, "no longer in Salesforce")
        return OrphanOutcome(candidate, Action.SKIP, "no longer in Salesforce", applied=apply)
    if dependents.any:
        detail = _hanging_on(dependents)
        if apply:
            _resolve_account(candidate, Resolution.KEPT, detail, deactivate=True)
        return OrphanOutcome(candidate, Action.KEEP, detail, applied=apply)
    if not apply:
        return OrphanOutcome(candidate, Action.DELETE)

    try:
        salesforce.delete("Account", account_id)
    except SalesforceNotFound:
        _resolve_account(candidate, Resolution.DELETED, "no longer in Salesforce")
        return OrphanOutcome(candidate, Action.SKIP, "no longer in Salesforce", applied=True)
    except SalesforceError as exc:
        # An unknown outcome is settled by the next run, which finds the Account gone or not.
        _record_account(candidate)
        return OrphanOutcome(candidate, Action.ERROR, str(exc))
    _resolve_account(candidate, Resolution.DELETED)
    return OrphanOutcome(candidate, Action.DELETE, applied=True)


def _hanging_on(dependents: AccountDependents) -> str:
    counts = [
        (dependents.opportunities, "Opportunity", "Opportunities"),
        (dependents.orders, "Order", "Orders"),
        (dependents.cases, "Case", "Cases"),
    ]
    return "has " + ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in counts if n)


def _record_account(
    candidate: AccountOrphanCandidate, *, deactivate: bool = True
) -> tuple[OrphanedSalesforceAccount, bool]:
    """The orphan's row, created if new; a new one queues the Account's deactivation unless
    ``deactivate`` is off (the Account is about to go, or is linked after all)."""
    with transaction.atomic():
        row, created = OrphanedSalesforceAccount.objects.get_or_create(
            salesforce_account_id=candidate.salesforce_account_id,
            defaults={
                "salesforce_contact_id": candidate.salesforce_contact_id,
                "email": candidate.email,
                "customer_number": candidate.customer_number,
                "detected_by": candidate.detected_by,
                "reason": candidate.reason,
            },
        )
        if created and deactivate:
            orphaned_account_deactivate(account_id=candidate.salesforce_account_id)
    return row, created


def _resolve_account(
    candidate: AccountOrphanCandidate, resolution: str, note: str = "", *, deactivate: bool = False
) -> None:
    with transaction.atomic():
        row, _ = _record_account(candidate, deactivate=deactivate)
        row.resolution = resolution
        row.resolution_note = note
        row.resolved_at = timezone.now()
        row.save(update_fields=["resolution", "resolution_note", "resolved_at"])
