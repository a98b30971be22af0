"""Account status reconciliation: Accounts changed in Salesforce since the newest mirrored one
(``SalesforceGateway.accounts_modified_since``), pulled into their customers' profiles
(incremental on ``SystemModstamp``, see ``apps.integrations.salesforce.sync``)."""

from __future__ import annotations

import logging
from dataclasses import asdict

from django.db import transaction
from django.db.models import Max

from apps.accounts.models import CustomerProfile, IdMapping
from apps.accounts.services import customer_profile_apply_account_fields
from apps.integrations.outbox import accounts_owed_changes
from apps.integrations.salesforce.gateway import SalesforceGateway, get_gateway
from apps.integrations.salesforce.sync import SyncReport

logger = logging.getLogger(__name__)


def reconcile_account_statuses(*, gateway: SalesforceGateway | None = None, full: bool = False) -> SyncReport:
    """Pull Accounts changed since the newest mirrored one into their customers' profiles.

    Catches any status change whose platform event was missed. Accounts without a portal user
    are ignored (the org has customers who never signed up).
    """
    gateway = gateway or get_gateway()
    cursor = (
        None if full else CustomerProfile.objects.aggregate(cursor=Max("salesforce_modified_at"))["cursor"]
    )
    records = gateway.accounts_modified_since(cursor)

    report = SyncReport(fetched=len(records))
    account_ids = [record.id for record in records]
    users_by_account = dict(
        IdMapping.objects.filter(salesforce_account_id__in=account_ids).values_list(
            "salesforce_account_id", "user_id"
        )
    )
    # A change the portal made and still owes Salesforce is newer than what Salesforce returned:
    # leave those accounts for the next run, after the outbox delivered.
    owed = accounts_owed_changes(users_by_account)
    with transaction.atomic():
        for record in records:
            user_id = users_by_account.get(record.id)
            if user_id is None or record.id in owed:
                continue
            changed = customer_profile_apply_account_fields(user_id=user_id, values=asdict(record))
            if changed:
                report.updated += 1
    logger.info("Account reconciliation: %s fetched, %s profiles changed", report.fetched, report.updated)
    return report
