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
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max, Min, QuerySet
from django.utils import timezone

from apps.integrations.outbox import accounts_owed_changes
from apps.integrations.salesforce.gateway import SalesforceGateway, get_gateway
from apps.integrations.salesforce.records import SalesforceCase, SalesforceCaseComment
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
    gateway = gateway or get_gateway()

    case_cursor = None if full else tickets.aggregate(cursor=Max("salesforce_modified_at"))["cursor"]
    case_records = gateway.cases_modified_since(case_cursor or start, origin=CaseOrigin.PORTAL_WEBSITE)
    comment_cursor = (
        None
        if full
        else CaseComment.objects.filter(case__in=tickets).aggregate(cursor=Max("salesforce_modified_at"))[
            "cursor"
        ]
    )
    comment_records = gateway.case_comments_modified_since(comment_cursor or start)
    report.cases_fetched, report.comments_fetched = len(case_records), len(comment_records)

    now = timezone.now()
    with transaction.atomic():
        _apply_cases(case_records, report, now)
        _apply_comments(comment_records, report, now)
    logger.info("Support ticket sync: %s", report)
    return report


def _apply_cases(records: list[SalesforceCase], report: CaseCommentSyncReport, now: datetime) -> None:
    cases = {
        case.salesforce_id: case
        for case in _tickets()
        .filter(salesforce_id__in=[record.id for record in records])
        .select_related("user__id_mapping")
        .select_for_update(of=("self",))
    }
    owed = accounts_owed_changes({_account_id(case) for case in cases.values()} - {""})
    for record in records:
        case = cases.get(record.id)
        if case is None:
            continue
        status = ""
        if _account_id(case) not in owed:
            if record.status is None:
                logger.warning(
                    "Case %s has a status the portal does not know; kept as it was", case.salesforce_id
                )
            else:
                status = record.status
        if support_case_apply_salesforce(
            case=case,
            status=status,
            case_number=record.case_number,
            modified_at=record.modified_at,
            now=now,
        ):
            report.cases_updated += 1


def _account_id(case: Case) -> str:
    mapping = getattr(case.user, "id_mapping", None)
    return mapping.salesforce_account_id if mapping is not None else ""


def _apply_comments(
    records: list[SalesforceCaseComment], report: CaseCommentSyncReport, now: datetime
) -> None:
    cases = {
        case.salesforce_id: case
        for case in _tickets()
        .filter(salesforce_id__in={record.parent_id for record in records})
        .select_related("user__id_mapping")
    }
    known = {
        comment.salesforce_id: comment
        for comment in CaseComment.objects.select_for_update().filter(
            salesforce_id__in=[record.id for record in records]
        )
    }
    owed = accounts_owed_changes({_account_id(case) for case in cases.values()} - {""})
    touched: set[int] = set()
    for record in records:
        case = cases.get(record.parent_id)
        if case is None:
            continue
        modified_at = record.modified_at
        mirrored: dict[str, Any] = {
            "body": record.body,
            "is_public": record.is_published,
            "salesforce_modified_at": modified_at,
            "synced_at": now,
        }
        comment = known.get(record.id)
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
            CaseComment.objects.filter(pk=comment.pk).update(salesforce_id=record.id, **mirrored)
            continue
        CaseComment.objects.create(
            case=case,
            salesforce_id=record.id,
            from_agent=True,
            created_at=record.created_at or now,
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
