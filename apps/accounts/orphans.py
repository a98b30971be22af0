"""Orphaned WHMCS clients: billing clients the portal created that no portal user maps to.

They come from registrations that failed after the WHMCS client was created (recorded at once as
``OrphanedWhmcsClient``) and from anything else that left one behind, found by scanning WHMCS for
clients whose notes carry the portal's tag (``apps.accounts.registration.WHMCS_CLIENT_NOTE``).

Safety rules, checked again right before acting: a client that a portal user maps to, that has
any service, or that has an unpaid invoice is never touched; a client is deleted (rather than
closed) only when asked and when it has no invoices and no services at all; a client whose email
has a registration in progress is left alone (its mapping is about to be written). Every network
call happens outside a database transaction.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import IdMapping, RegistrationAttempt
from apps.accounts.registration import WHMCS_CLIENT_NOTE
from apps.integrations.models import OrphanedWhmcsClient
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
class OrphanOutcome:
    candidate: OrphanCandidate
    action: str
    detail: str = ""
    applied: bool = False


@dataclass
class CleanupReport:
    scanned: int = 0
    outcomes: list[OrphanOutcome] = field(default_factory=list)
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
) -> CleanupReport:
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

    report = CleanupReport(scanned=scanned, applied=apply)
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


def _clean_one(whmcs: WhmcsClient, candidate: OrphanCandidate, *, apply: bool, delete: bool) -> OrphanOutcome:
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
