"""Account status reconciliation: Accounts changed in Salesforce since the newest mirrored one
(``SalesforceGateway.accounts_modified_since``), or named by a Change Data Capture gap, pulled
into their customers' profiles (incremental on ``SystemModstamp``, see
``apps.integrations.salesforce.sync``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from django.db import transaction
from django.db.models import Max

from apps.accounts.models import CustomerProfile, IdMapping
from apps.accounts.services import (
    customer_eligibility_opportunities_follow,
    customer_profile_apply_account_fields,
)
from apps.accounts.status_notifications import AccountStatusDecision, account_status_notify_many
from apps.integrations.outbox import accounts_owed_changes
from apps.integrations.salesforce.field_map import get_field_map
from apps.integrations.salesforce.gateway import SalesforceGateway, get_gateway
from apps.integrations.salesforce.sync import SyncReport
from apps.verification.services import residence_card_record_salesforce_decisions

logger = logging.getLogger(__name__)


def reconcile_account_statuses(
    *, gateway: SalesforceGateway | None = None, full: bool = False, record_ids: Sequence[str] | None = None
) -> SyncReport:
    """Pull Accounts changed since the newest mirrored one (or ``record_ids``, after a change
    event gap) into their customers' profiles.

    Catches any status change whose platform event or change event was missed. Accounts without
    a portal user are ignored (the org has customers who never signed up).
    """
    gateway = gateway or get_gateway()
    if record_ids is not None:
        records = gateway.accounts_by_ids(record_ids)
    else:
        cursor = (
            None
            if full
            else CustomerProfile.objects.aggregate(cursor=Max("salesforce_modified_at"))["cursor"]
        )
        records = gateway.accounts_modified_since(cursor)
    updated = _account_values_apply([(record.id, asdict(record)) for record in records])
    report = SyncReport(fetched=len(records), updated=updated)
    logger.info("Account reconciliation: %s fetched, %s profiles changed", report.fetched, report.updated)
    return report


def account_records_apply(records: Sequence[Mapping[str, Any]]) -> int:
    """Mirror the fields Account change events carry onto their customers' profiles; returns how
    many profiles changed."""
    field_map = get_field_map()
    return _account_values_apply(
        [(record["Id"], field_map.from_record("Account", record)) for record in records]
    )


def _account_values_apply(values_by_account: Sequence[tuple[str, Mapping[str, Any]]]) -> int:
    users_by_account = dict(
        IdMapping.objects.filter(
            salesforce_account_id__in=[account_id for account_id, _ in values_by_account]
        ).values_list("salesforce_account_id", "user_id")
    )
    # A change the portal made and still owes Salesforce is newer than what Salesforce returned:
    # leave those accounts for the next run, after the outbox delivered.
    owed = accounts_owed_changes(users_by_account)
    updated = 0
    with transaction.atomic():
        decisions = []
        for account_id, values in values_by_account:
            user_id = users_by_account.get(account_id)
            if user_id is None or account_id in owed:
                continue
            changed = customer_profile_apply_account_fields(user_id=user_id, values=dict(values))
            if changed:
                updated += 1
            decision = _decision_taken_in_salesforce(user_id, account_id, values, changed)
            if decision is not None:
                decisions.append(decision)
        _decisions_follow(decisions)
    return updated


def _decision_taken_in_salesforce(
    user_id: int, account_id: str, values: Mapping[str, Any], changed: Sequence[str]
) -> AccountStatusDecision | None:
    """The status decision a change read from Salesforce made, when it moved the mirror: one the
    Account status event missed (a subscriber away longer than the event retention), or has not
    brought yet (it then finds the mirror moved and the customer told, and adds nothing)."""
    eligibility = "internet_eligibility_status" in changed
    verification = "id_verification_status" in changed
    if not (eligibility or verification):
        return None
    return AccountStatusDecision(
        user_id=user_id,
        account_id=account_id,
        eligibility_status=str(values["internet_eligibility_status"]) if eligibility else None,
        offering=str(values.get("internet_eligibility") or ""),
        eligibility_notes=str(values.get("internet_eligibility_notes") or ""),
        verification_status=str(values["id_verification_status"]) if verification else None,
        rejection_message=str(values.get("id_verification_rejection_message") or ""),
    )


def _decisions_follow(decisions: Sequence[AccountStatusDecision]) -> None:
    """What an Account status event does for a decision taken in Salesforce: the residence card
    under review closes, the eligibility check's Opportunity follows, the customer is told (once:
    ``account_status_notify_many`` dedupes against the event's path)."""
    residence_card_record_salesforce_decisions(
        decisions=[
            (decision.user_id, decision.verification_status, decision.rejection_message)
            for decision in decisions
            if decision.verification_status
        ]
    )
    customer_eligibility_opportunities_follow(
        [
            (decision.user_id, decision.account_id, decision.eligibility_status)
            for decision in decisions
            if decision.eligibility_status
        ]
    )
    account_status_notify_many(decisions)
