"""Account status reconciliation: Accounts changed in Salesforce since the newest mirrored one,
pulled into their customers' profiles (incremental on ``SystemModstamp``, see
``apps.integrations.salesforce.sync``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Max

from apps.accounts.models import CustomerProfile, IdMapping
from apps.accounts.services import customer_profile_apply_account_fields
from apps.integrations.models import OutboxEntry
from apps.integrations.outbox import account_record_key
from apps.integrations.salesforce.field_map import get_field_map
from apps.integrations.salesforce.gateway import (
    SalesforceGateway,
    get_gateway,
    is_salesforce_id,
    soql_literal,
)
from apps.integrations.salesforce.sync import SyncReport, since_clause

logger = logging.getLogger(__name__)


ACCOUNT_STATUS_ATTRIBUTES = (
    "customer_number",
    "portal_status",
    "internet_eligibility",
    "internet_eligibility_status",
    "internet_eligibility_requested_at",
    "internet_eligibility_checked_at",
    "internet_eligibility_notes",
    "internet_eligibility_case_id",
    "id_verification_status",
    "id_verification_submitted_at",
    "id_verification_verified_at",
    "id_verification_note",
    "id_verification_rejection_message",
    "modified_at",
)


def reconcile_account_statuses(
    *, gateway: SalesforceGateway | None = None, full: bool = False, record_ids: Sequence[str] | None = None
) -> SyncReport:
    """Pull Accounts changed since the newest mirrored one (or ``record_ids``, after a change
    event gap) into their customers' profiles.

    Catches any status change whose platform event or change event was missed. Accounts without
    a portal user are ignored (the org has customers who never signed up).
    """
    field_map = get_field_map()
    gateway = gateway or get_gateway()
    api_names = field_map.fields("Account", *ACCOUNT_STATUS_ATTRIBUTES)
    modstamp = field_map.field("Account", "modified_at")
    if record_ids is not None:
        ids = [record_id for record_id in record_ids if is_salesforce_id(record_id)]
        if not ids:
            return SyncReport()
        literals = ", ".join(soql_literal(record_id) for record_id in ids)
        soql = f"SELECT Id, {', '.join(api_names)} FROM Account WHERE Id IN ({literals})"
    else:
        cursor = (
            None
            if full
            else CustomerProfile.objects.aggregate(cursor=Max("salesforce_modified_at"))["cursor"]
        )
        soql = f"SELECT Id, {', '.join(api_names)} FROM Account{since_clause(modstamp, cursor)} ORDER BY {modstamp}"
    records = gateway.query(soql)
    report = SyncReport(fetched=len(records), updated=account_records_apply(records))
    logger.info("Account reconciliation: %s fetched, %s profiles changed", report.fetched, report.updated)
    return report


def account_records_apply(records: Sequence[Mapping[str, Any]]) -> int:
    """Mirror Account records (whole, or the fields a change event carries) onto their customers'
    profiles; returns how many profiles changed."""
    field_map = get_field_map()
    account_ids = [record["Id"] for record in records]
    users_by_account = dict(
        IdMapping.objects.filter(salesforce_account_id__in=account_ids).values_list(
            "salesforce_account_id", "user_id"
        )
    )
    # A change the portal made and still owes Salesforce is newer than what Salesforce returned:
    # leave those accounts for the next run, after the outbox delivered.
    owed = set(
        OutboxEntry.objects.filter(
            record_key__in=[account_record_key(account_id) for account_id in users_by_account],
            status__in=[OutboxEntry.Status.PENDING, OutboxEntry.Status.IN_PROGRESS],
        ).values_list("record_key", flat=True)
    )
    updated = 0
    with transaction.atomic():
        for record in records:
            user_id = users_by_account.get(record["Id"])
            if user_id is None or account_record_key(record["Id"]) in owed:
                continue
            values = field_map.from_record("Account", record)
            changed = customer_profile_apply_account_fields(user_id=user_id, values=values)
            if changed:
                updated += 1
    return updated
