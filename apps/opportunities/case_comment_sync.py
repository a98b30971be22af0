"""Reconciliation of support tickets: agents' comments and Case status changes made in Salesforce.

An agent answering a ticket in Salesforce adds a ``CaseComment`` and may move the Case's status;
no platform event tells the portal, so this job (``integrations.sync_case_comments``, every few
minutes) pulls both into the mirror the support API reads. Like the other reconciliation jobs
(``sync.py``) it is incremental on ``SystemModstamp`` with the newest mirrored value as the cursor
(inclusive, idempotent upserts), and makes its Salesforce calls before the DB transaction opens.
Before the first comment or status is mirrored the cursor starts at the oldest support ticket, and
while the portal has no ticket in Salesforce at all the job makes no call.

Only the portal's own support tickets (Origin "Portal Website") are mirrored; comments on other
Cases are ignored. Comments the portal wrote itself come back here too: they are matched by their
Salesforce ID, or, in the moment between Salesforce creating one and the outbox writing its ID
back, by body to the oldest comment of that Case still on its way. A Case whose customer has
changes still owed to Salesforce keeps its local status until the outbox delivered them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max, Min, QuerySet
from django.utils import timezone

from apps.integrations.models import OutboxEntry
from apps.integrations.outbox import account_record_key
from apps.integrations.salesforce.field_map import FieldMap, get_field_map, parse_salesforce_datetime
from apps.integrations.salesforce.gateway import SalesforceGateway, get_gateway, soql_literal
from apps.opportunities.models import Case, CaseComment, CaseOrigin
from apps.opportunities.support import support_case_apply_salesforce, support_ticket_q

logger = logging.getLogger(__name__)

FIRST_RUN_SLACK = timedelta(hours=1)
"""The first run starts this long before the oldest ticket was created in the portal, so a clock
difference between the portal and Salesforce cannot hide its first comments."""


@dataclass
class CaseCommentSyncReport:
    cases_fetched: int = 0
    cases_updated: int = 0
    comments_fetched: int = 0
    comments_created: int = 0
    comments_updated: int = 0


def _tickets() -> QuerySet[Case]:
    return Case.objects.filter(support_ticket_q(), salesforce_id__isnull=False)


def _since(field_name: str, moment: datetime) -> str:
    return f"{field_name} >= {moment.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"


def _owed_account_ids(account_ids: set[str]) -> set[str]:
    """Accounts with changes the portal has not delivered to Salesforce yet."""
    keys = OutboxEntry.objects.filter(
        record_key__in=[account_record_key(account_id) for account_id in account_ids],
        status__in=[OutboxEntry.Status.PENDING, OutboxEntry.Status.IN_PROGRESS],
    ).values_list("record_key", flat=True)
    return {key.removeprefix("Account:") for key in keys}


def sync_case_comments(
    *, gateway: SalesforceGateway | None = None, full: bool = False
) -> CaseCommentSyncReport:
    """Mirror support tickets' status and comments changed in Salesforce since the last run."""
    report = CaseCommentSyncReport()
    tickets = _tickets()
    first_ticket_at = tickets.aggregate(first=Min("created_at"))["first"]
    if first_ticket_at is None:
        return report
    start = first_ticket_at - FIRST_RUN_SLACK
    field_map = get_field_map()
    gateway = gateway or get_gateway()

    case_cursor = None if full else tickets.aggregate(cursor=Max("salesforce_modified_at"))["cursor"]
    case_records = _query_cases(gateway, field_map, case_cursor or start)
    comment_cursor = (
        None
        if full
        else CaseComment.objects.filter(case__in=tickets).aggregate(cursor=Max("salesforce_modified_at"))[
            "cursor"
        ]
    )
    comment_records = _query_comments(gateway, field_map, comment_cursor or start)
    report.cases_fetched, report.comments_fetched = len(case_records), len(comment_records)

    now = timezone.now()
    with transaction.atomic():
        _apply_cases(case_records, field_map, report, now)
        _apply_comments(comment_records, field_map, report, now)
    logger.info("Support ticket sync: %s", report)
    return report


def _query_cases(gateway: SalesforceGateway, field_map: FieldMap, since: datetime) -> list[dict[str, Any]]:
    origin = field_map.field("Case", "origin")
    modstamp = field_map.field("Case", "modified_at")
    fields = field_map.fields("Case", "case_number", "status", "modified_at")
    portal_website = field_map.to_salesforce("Case", "origin", CaseOrigin.PORTAL_WEBSITE)
    where = f"{_since(modstamp, since)} AND {origin} = {soql_literal(portal_website)}"
    # SOQL, not SQL: names come from the field map and values go through soql_literal().
    soql = f"SELECT Id, {', '.join(fields)} FROM Case WHERE {where} ORDER BY {modstamp}"  # noqa: S608
    return gateway.query(soql)


def _query_comments(gateway: SalesforceGateway, field_map: FieldMap, since: datetime) -> list[dict[str, Any]]:
    fields = field_map.fields(
        "CaseComment", "parent_id", "body", "is_published", "created_at", "created_by_id", "modified_at"
    )
    modstamp = field_map.field("CaseComment", "modified_at")
    where = _since(modstamp, since)
    soql = f"SELECT Id, {', '.join(fields)} FROM CaseComment WHERE {where} ORDER BY {modstamp}"  # noqa: S608
    return gateway.query(soql)


def _apply_cases(
    records: list[dict[str, Any]], field_map: FieldMap, report: CaseCommentSyncReport, now: datetime
) -> None:
    cases = {
        case.salesforce_id: case
        for case in _tickets()
        .filter(salesforce_id__in=[record["Id"] for record in records])
        .select_related("user__id_mapping")
        .select_for_update(of=("self",))
    }
    owed = _owed_account_ids({_account_id(case) for case in cases.values()} - {""})
    status_field = field_map.field("Case", "status")
    for record in records:
        case = cases.get(record["Id"])
        if case is None:
            continue
        # The status is translated on its own: a value the portal does not know must not stop
        # the rest of the record.
        values = field_map.from_record("Case", {k: v for k, v in record.items() if k != status_field})
        status = ""
        if _account_id(case) not in owed:
            try:
                status = field_map.from_salesforce("Case", "status", record.get(status_field)) or ""
            except ValueError:
                logger.warning(
                    "Case %s has a status the portal does not know; kept as it was", case.salesforce_id
                )
        if support_case_apply_salesforce(
            case=case,
            status=status,
            case_number=values.get("case_number") or "",
            modified_at=parse_salesforce_datetime(values.get("modified_at")),
            now=now,
        ):
            report.cases_updated += 1


def _account_id(case: Case) -> str:
    mapping = getattr(case.user, "id_mapping", None)
    return mapping.salesforce_account_id if mapping is not None else ""


def _apply_comments(
    records: list[dict[str, Any]], field_map: FieldMap, report: CaseCommentSyncReport, now: datetime
) -> None:
    parent_field = field_map.field("CaseComment", "parent_id")
    cases = {
        case.salesforce_id: case
        for case in _tickets()
        .filter(salesforce_id__in={record.get(parent_field) for record in records})
        .select_related("user__id_mapping")
    }
    known = {
        comment.salesforce_id: comment
        for comment in CaseComment.objects.select_for_update().filter(
            salesforce_id__in=[record["Id"] for record in records]
        )
    }
    owed = _owed_account_ids({_account_id(case) for case in cases.values()} - {""})
    touched: set[int] = set()
    for record in records:
        case = cases.get(record.get(parent_field))
        if case is None:
            continue
        values = field_map.from_record("CaseComment", record)
        modified_at = parse_salesforce_datetime(values.get("modified_at"))
        mirrored: dict[str, Any] = {
            "body": values.get("body") or "",
            "is_public": bool(values.get("is_published")),
            "salesforce_modified_at": modified_at,
            "synced_at": now,
        }
        comment = known.get(record["Id"])
        if comment is None and _account_id(case) in owed:
            comment = _comment_on_its_way(case, mirrored["body"])
        if comment is not None:
            if (
                comment.salesforce_modified_at
                and modified_at
                and modified_at < comment.salesforce_modified_at
            ):
                continue
            if (comment.body, comment.is_public) != (mirrored["body"], mirrored["is_public"]):
                report.comments_updated += 1
            CaseComment.objects.filter(pk=comment.pk).update(salesforce_id=record["Id"], **mirrored)
            continue
        CaseComment.objects.create(
            case=case,
            salesforce_id=record["Id"],
            from_agent=True,
            created_at=parse_salesforce_datetime(values.get("created_at")) or now,
            **mirrored,
        )
        report.comments_created += 1
        touched.add(case.pk)
    if touched:
        Case.objects.filter(pk__in=touched).update(updated_at=now)


def _comment_on_its_way(case: Case, body: str) -> CaseComment | None:
    """The portal's own comment that Salesforce created but whose ID the outbox has not written
    back yet: the oldest one of the Case with that body and no Salesforce ID (the outbox
    delivers a customer's changes in order, oldest first)."""
    return (
        CaseComment.objects.select_for_update()
        .filter(case=case, salesforce_id__isnull=True, body=body)
        .order_by("created_at", "pk")
        .first()
    )
