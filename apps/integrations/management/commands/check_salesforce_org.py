"""``manage.py check_salesforce_org``: does the configured Salesforce org have every object, field,
picklist value, platform event and change event channel the portal needs? Exit status 1 when
something required is missing or differs (for CI and deploys), 2 when the org cannot be reached."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.integrations.salesforce.exceptions import SalesforceError
from apps.integrations.salesforce.field_map import get_field_map
from apps.integrations.salesforce.gateway import get_gateway
from apps.integrations.salesforce.org_check import OrgReport, check_org


class Command(BaseCommand):
    help = (
        "Describe the Salesforce org and list every object, field, picklist value, platform event and "
        "change event channel the portal needs that is missing or differs (field map overrides applied). "
        "Exits 1 when anything required is missing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = check_org(get_gateway(), get_field_map())
        except SalesforceError as exc:
            raise CommandError(f"Could not describe the Salesforce org: {exc}", returncode=2) from exc
        if options["json"]:
            self.stdout.write(json.dumps(_as_json(report), indent=2, ensure_ascii=False))
        else:
            self._print(report)
        if not report.ok:
            raise CommandError(
                f"The Salesforce org lacks {len(report.problems)} thing(s) the portal needs.", returncode=1
            )

    def _print(self, report: OrgReport) -> None:
        login_url = settings.SALESFORCE.get("LOGIN_URL", "")
        self.stdout.write(f"Salesforce org at {login_url} (API v{settings.SALESFORCE['API_VERSION']})")
        counts = report.checked
        self.stdout.write(
            f"Checked {counts['objects']} objects, {counts['fields']} fields, {counts['picklist_values']} "
            f"picklist values, {counts['platform_events']} platform events, "
            f"{counts['change_events']} change event channels."
        )
        for finding in report.findings:
            line = f"  {'MISSING' if finding.problem == 'missing' else 'DIFFERS'}  {finding.describe()}"
            self.stdout.write(self.style.ERROR(line) if finding.required else self.style.WARNING(line))
        if report.ok:
            self.stdout.write(self.style.SUCCESS("The org has everything the portal needs."))


def _as_json(report: OrgReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "checked": report.checked,
        "problems": [item.as_json() for item in report.problems],
        "optional": [item.as_json() for item in report.findings if not item.required],
    }
