"""``manage.py cleanup_orphaned_whmcs_clients``: list, close or delete WHMCS clients the portal
created that no portal user maps to; with ``--salesforce``, list or delete the Salesforce Accounts
registration created that no portal user maps to (see ``apps.accounts.orphans`` for the safety
rules).

A dry run by default: it lists each orphan, why it is orphaned and what ``--apply`` would do.
``--apply`` closes the clients; ``--apply --delete`` deletes those with no invoices and no
services (closing the others). Clients with a portal mapping, services or unpaid invoices are
skipped with the reason. ``--salesforce --apply`` deletes the orphaned Accounts (with their
Contacts) that nothing hangs on, keeps those with Opportunities, Orders or Cases, and skips
those a mapping or an open registration names. What was done is recorded on
``OrphanedWhmcsClient`` / ``OrphanedSalesforceAccount`` (resolution and time).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from apps.accounts.orphans import (
    AccountOrphanCandidate,
    Action,
    OrphanCandidate,
    OrphanOutcome,
    Progress,
    orphaned_salesforce_accounts_cleanup,
    orphaned_whmcs_clients_cleanup,
)
from apps.integrations.salesforce.exceptions import SalesforceError
from apps.integrations.whmcs.exceptions import WhmcsError

_DRY_RUN_WORDS = {Action.CLOSE: "would close", Action.DELETE: "would delete", Action.KEEP: "would keep"}
_APPLIED_WORDS = {Action.CLOSE: "closed", Action.DELETE: "deleted", Action.KEEP: "kept"}


class Command(BaseCommand):
    help = (
        "List orphaned WHMCS clients (no portal mapping) and, with --apply, close or delete them; "
        "with --salesforce, list or delete orphaned Salesforce Accounts instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--dry-run", action="store_true", default=True, help="Only list what would be done (the default)."
        )
        mode.add_argument("--apply", action="store_true", help="Close (or delete) the orphans.")
        parser.add_argument(
            "--salesforce",
            action="store_true",
            help="Work on the Salesforce Accounts registration created instead of WHMCS clients: "
            "with --apply, delete those nothing hangs on.",
        )
        parser.add_argument(
            "--delete",
            action="store_true",
            help="With --apply: delete clients that have no invoices and no services instead of closing them.",
        )
        parser.add_argument(
            "--older-than",
            type=int,
            default=None,
            metavar="DAYS",
            help="Only orphans created DAYS or more ago.",
        )
        parser.add_argument(
            "--limit", type=int, default=None, metavar="N", help="Look at no more than N orphans."
        )
        parser.add_argument("--no-progress", action="store_true", help="Do not show a progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        apply: bool = options["apply"]
        salesforce: bool = options["salesforce"]
        if options["delete"] and salesforce:
            self.stdout.write(
                "--delete has no effect with --salesforce: orphaned Accounts are deleted or kept."
            )
        elif options["delete"] and not apply:
            self.stdout.write("--delete has no effect without --apply; listing only.")
        for name in ("older_than", "limit"):
            if options[name] is not None and options[name] < 0:
                raise CommandError(f"--{name.replace('_', '-')} must not be negative.")
        progress = self._progress(
            unit="account" if salesforce else "client",
            show=not options["no_progress"] and options["verbosity"] > 0,
        )
        if salesforce:
            self._salesforce(
                apply=apply, older_than=options["older_than"], limit=options["limit"], progress=progress
            )
        else:
            self._whmcs(
                apply=apply,
                delete=options["delete"],
                older_than=options["older_than"],
                limit=options["limit"],
                progress=progress,
            )
        if not apply:
            self.stdout.write("Dry run: nothing was changed. Run again with --apply to act.")

    def _whmcs(
        self, *, apply: bool, delete: bool, older_than: int | None, limit: int | None, progress: Progress
    ) -> None:
        try:
            report = orphaned_whmcs_clients_cleanup(
                apply=apply, delete=delete, older_than_days=older_than, limit=limit, progress=progress
            )
        except WhmcsError as exc:
            raise CommandError(f"WHMCS could not be read: {exc}") from exc

        for outcome in report.outcomes:
            self.stdout.write(self._client_line(outcome, applied=apply))
        acted = {
            action: report.count(action)
            for action in (Action.CLOSE, Action.DELETE, Action.SKIP, Action.ERROR)
        }
        words = _APPLIED_WORDS if apply else _DRY_RUN_WORDS
        summary = (
            f"Scanned {report.scanned} WHMCS clients; {len(report.outcomes)} orphaned: "
            f"{acted[Action.CLOSE]} {words[Action.CLOSE]}, {acted[Action.DELETE]} {words[Action.DELETE]}, "
            f"{acted[Action.SKIP]} skipped, {acted[Action.ERROR]} failed."
        )
        self.stdout.write((self.style.WARNING if acted[Action.ERROR] else self.style.SUCCESS)(summary))

    def _salesforce(
        self, *, apply: bool, older_than: int | None, limit: int | None, progress: Progress
    ) -> None:
        try:
            report = orphaned_salesforce_accounts_cleanup(
                apply=apply, older_than_days=older_than, limit=limit, progress=progress
            )
        except SalesforceError as exc:
            raise CommandError(f"Salesforce could not be read: {exc}") from exc

        for outcome in report.outcomes:
            self.stdout.write(self._account_line(outcome, applied=apply))
        acted = {
            action: report.count(action) for action in (Action.DELETE, Action.KEEP, Action.SKIP, Action.ERROR)
        }
        words = _APPLIED_WORDS if apply else _DRY_RUN_WORDS
        summary = (
            f"Scanned {report.scanned} Salesforce Accounts from registration; {len(report.outcomes)} orphaned: "
            f"{acted[Action.DELETE]} {words[Action.DELETE]}, {acted[Action.KEEP]} {words[Action.KEEP]}, "
            f"{acted[Action.SKIP]} skipped, {acted[Action.ERROR]} failed."
        )
        self.stdout.write((self.style.WARNING if acted[Action.ERROR] else self.style.SUCCESS)(summary))

    @staticmethod
    def _progress(*, unit: str, show: bool) -> Progress:
        def progress(items: Iterable[Any]) -> Iterable[Any]:
            # tqdm hides itself when stderr is not a terminal (cron, CI).
            return tqdm(items, file=sys.stderr, unit=unit, disable=None if show else True, leave=False)

        return progress

    @staticmethod
    def _what(outcome: OrphanOutcome[Any], *, applied: bool) -> str:
        if outcome.action == Action.SKIP:
            return f"skipped: {outcome.detail}"
        if outcome.action == Action.ERROR:
            return f"failed: {outcome.detail}"
        what = (_APPLIED_WORDS if applied else _DRY_RUN_WORDS)[outcome.action]
        if outcome.action == Action.KEEP:
            return f"{what}: {outcome.detail}"
        return f"{what} ({outcome.detail})" if outcome.detail else what

    def _client_line(self, outcome: OrphanOutcome[OrphanCandidate], *, applied: bool) -> str:
        candidate = outcome.candidate
        email = f" <{candidate.email}>" if candidate.email else ""
        return (
            f"WHMCS client {candidate.whmcs_client_id}{email}: {candidate.reason} -> "
            f"{self._what(outcome, applied=applied)}"
        )

    def _account_line(self, outcome: OrphanOutcome[AccountOrphanCandidate], *, applied: bool) -> str:
        candidate = outcome.candidate
        email = f" <{candidate.email}>" if candidate.email else ""
        return (
            f"Salesforce Account {candidate.salesforce_account_id}{email}: {candidate.reason} -> "
            f"{self._what(outcome, applied=applied)}"
        )
