"""``manage.py cleanup_orphaned_whmcs_clients``: list, close or delete WHMCS clients the portal
created that no portal user maps to (see ``apps.accounts.orphans`` for the safety rules).

A dry run by default: it lists each orphan, why it is orphaned and what ``--apply`` would do.
``--apply`` closes them; ``--apply --delete`` deletes those with no invoices and no services
(closing the others). Clients with a portal mapping, services or unpaid invoices are skipped with
the reason. What was done is recorded on ``OrphanedWhmcsClient`` (resolution and time).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from apps.accounts.orphans import Action, OrphanOutcome, orphaned_whmcs_clients_cleanup
from apps.integrations.whmcs.exceptions import WhmcsError

_DRY_RUN_WORDS = {Action.CLOSE: "would close", Action.DELETE: "would delete"}
_APPLIED_WORDS = {Action.CLOSE: "closed", Action.DELETE: "deleted"}


class Command(BaseCommand):
    help = "List orphaned WHMCS clients (no portal mapping) and, with --apply, close or delete them."

    def add_arguments(self, parser: CommandParser) -> None:
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--dry-run", action="store_true", default=True, help="Only list what would be done (the default)."
        )
        mode.add_argument("--apply", action="store_true", help="Close (or delete) the orphaned clients.")
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
            help="Only clients created DAYS or more ago.",
        )
        parser.add_argument(
            "--limit", type=int, default=None, metavar="N", help="Look at no more than N orphans."
        )
        parser.add_argument("--no-progress", action="store_true", help="Do not show a progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        apply: bool = options["apply"]
        if options["delete"] and not apply:
            self.stdout.write("--delete has no effect without --apply; listing only.")
        for name in ("older_than", "limit"):
            if options[name] is not None and options[name] < 0:
                raise CommandError(f"--{name.replace('_', '-')} must not be negative.")
        show_progress = not options["no_progress"] and options["verbosity"] > 0

        def progress(items: Iterable[Any]) -> Iterable[Any]:
            # tqdm hides itself when stderr is not a terminal (cron, CI).
            return tqdm(
                items, file=sys.stderr, unit="client", disable=None if show_progress else True, leave=False
            )

        try:
            report = orphaned_whmcs_clients_cleanup(
                apply=apply,
                delete=options["delete"],
                older_than_days=options["older_than"],
                limit=options["limit"],
                progress=progress,
            )
        except WhmcsError as exc:
            raise CommandError(f"WHMCS could not be read: {exc}") from exc

        for outcome in report.outcomes:
            self.stdout.write(self._line(outcome, applied=apply))

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
        style = self.style.WARNING if acted[Action.ERROR] else self.style.SUCCESS
        self.stdout.write(style(summary))
        if not apply:
            self.stdout.write("Dry run: nothing was changed. Run again with --apply to act.")

    @staticmethod
    def _line(outcome: OrphanOutcome, *, applied: bool) -> str:
        candidate = outcome.candidate
        if outcome.action == Action.SKIP:
            what = f"skipped: {outcome.detail}"
        elif outcome.action == Action.ERROR:
            what = f"failed: {outcome.detail}"
        else:
            what = (_APPLIED_WORDS if applied else _DRY_RUN_WORDS)[outcome.action]
            if outcome.detail:
                what += f" ({outcome.detail})"
        email = f" <{candidate.email}>" if candidate.email else ""
        return f"WHMCS client {candidate.whmcs_client_id}{email}: {candidate.reason} -> {what}"
