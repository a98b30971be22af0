"""Opportunities and Cases changed in Salesforce, mirrored into the portal: the services that apply
an agent's change made there, and the reconciliation that reads what Change Data Capture missed.

The same services serve both ways in (DESIGN.md rule 8: one owner per transition): a change event
(``event_handlers``) hands them the fields the event carries, the periodic ``SystemModstamp``
reconciliation (:func:`reconcile_opportunities`, :func:`reconcile_cases`) whole records. A value
older than the mirror's is ignored, and applying what the mirror already holds changes nothing and
notifies nobody, so an event delivered twice, or an event and the reconciliation reading the same
change, give the customer one notification.

An agent setting an Opportunity to 〇Cancelled in Salesforce is the same decision as completing
the cancellation in the console: the customer gets ``CANCELLATION_COMPLETE`` once, whichever side
made it (the console's own write comes back as an event the subscriber recognises and drops).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts.dashboard_cache import dashboard_cache_invalidate
from apps.integrations.salesforce.field_map import FieldMap, get_field_map, parse_salesforce_datetime
from apps.integrations.salesforce.gateway import SalesforceGateway
from apps.integrations.salesforce.sync import SyncReport, reconcile_changed_records
from apps.notifications.models import NotificationSource, NotificationType
from apps.notifications.services import notification_create
from apps.opportunities.models import Case, Opportunity, OpportunityStage
from apps.opportunities.selectors import cancellation_whmcs_service
from apps.opportunities.support import support_case_apply_salesforce

logger = logging.getLogger(__name__)

OPPORTUNITY_ATTRIBUTES = (
    "stage",
    "cancellation_notice",
    "scheduled_cancellation_at",
    "line_return_status",
    "sim_cancellation_notice",
    "sim_scheduled_cancellation_at",
)
"""What an agent changes on an Opportunity in Salesforce that the portal mirrors."""
_DATETIME_ATTRIBUTES = ("scheduled_cancellation_at", "sim_scheduled_cancellation_at")
CASE_ATTRIBUTES = ("status", "case_number")


def _translated(
    field_map: FieldMap, sobject: str, record: Mapping[str, Any], attributes: Sequence[str]
) -> dict:
    """The portal values of ``attributes`` present in ``record``; a picklist value the portal does
    not know is left out (and logged) so the rest of the record still applies."""
    values: dict[str, Any] = {}
    for attribute in attributes:
        api_name = field_map.field(sobject, attribute)
        if api_name not in record:
            continue
        try:
            values.update(field_map.from_record(sobject, {api_name: record[api_name]}))
        except ValueError:
            logger.warning(
                "%s %s: %s has a value the portal does not know", sobject, record.get("Id"), api_name
            )
    return values


# --- Opportunities ----------------------------------------------------------------------------


def opportunity_apply_salesforce(
    *,
    salesforce_id: str,
    values: Mapping[str, Any],
    modified_at: datetime | None,
    now: datetime | None = None,
) -> list[str]:
    """Mirror an Opportunity's stage, cancellation and line return fields as Salesforce holds them
    (``values``: portal attributes, only those that changed or were read). Returns the attributes
    that changed. Reaching 〇Cancelled notifies ``CANCELLATION_COMPLETE`` (once: a second
    application finds the stage already there)."""
    now = now or timezone.now()
    with transaction.atomic():
        opportunity = Opportunity.objects.select_for_update().filter(salesforce_id=salesforce_id).first()
        if opportunity is None:
            return []
        if (
            opportunity.salesforce_modified_at
            and modified_at
            and modified_at < opportunity.salesforce_modified_at
        ):
            return []
        changed: list[str] = []
        for attribute in OPPORTUNITY_ATTRIBUTES:
            if attribute not in values:
                continue
            value = values[attribute]
            if attribute in _DATETIME_ATTRIBUTES:
                value = parse_salesforce_datetime(value)
            elif value is None:
                value = ""
            if attribute == "stage" and not value:
                continue  # The stage is required in Salesforce; an empty one is not a decision.
            if getattr(opportunity, attribute) != value:
                setattr(opportunity, attribute, value)
                changed.append(attribute)
        if modified_at and (
            opportunity.salesforce_modified_at is None or modified_at > opportunity.salesforce_modified_at
        ):
            opportunity.salesforce_modified_at = modified_at
        opportunity.synced_at = now
        opportunity.save(update_fields=[*changed, "salesforce_modified_at", "synced_at", "updated_at"])
        if "stage" in changed and opportunity.stage == OpportunityStage.CANCELLED:
            service = cancellation_whmcs_service(opportunity=opportunity)
            notification_create(
                user_id=opportunity.user_id,
                type=NotificationType.CANCELLATION_COMPLETE,
                source=NotificationSource.SALESFORCE,
                source_id=opportunity.salesforce_id or f"opportunity:{opportunity.pk}",
                context={"service_name": service.name if service else opportunity.name},
                now=now,
            )
        if changed:
            dashboard_cache_invalidate(opportunity.user_id)
        return changed


def opportunity_records_apply(
    records: Sequence[Mapping[str, Any]], *, modified_at: datetime | None = None
) -> int:
    """Apply Opportunity records (whole, or the fields a change event carries); ``modified_at``
    stands in for records without a ``SystemModstamp`` (change events carry the commit time)."""
    field_map = get_field_map()
    modstamp = field_map.field("Opportunity", "modified_at")
    updated = 0
    for record in records:
        values = _translated(field_map, "Opportunity", record, OPPORTUNITY_ATTRIBUTES)
        stamp = parse_salesforce_datetime(record.get(modstamp)) or modified_at
        if opportunity_apply_salesforce(salesforce_id=record["Id"], values=values, modified_at=stamp):
            updated += 1
    return updated


def reconcile_opportunities(
    *, gateway: SalesforceGateway | None = None, record_ids: Sequence[str] | None = None, full: bool = False
) -> SyncReport:
    """Opportunities changed in Salesforce since the last run (or ``record_ids``), mirrored."""
    return reconcile_changed_records(
        "Opportunity",
        OPPORTUNITY_ATTRIBUTES,
        opportunity_records_apply,
        gateway=gateway,
        record_ids=record_ids,
        full=full,
    )


# --- Cases ------------------------------------------------------------------------------------


def case_records_apply(records: Sequence[Mapping[str, Any]], *, modified_at: datetime | None = None) -> int:
    """Mirror the status (and case number) of Cases as Salesforce holds them, through
    ``support_case_apply_salesforce``, the one owner of a Case status changed in Salesforce."""
    field_map = get_field_map()
    modstamp = field_map.field("Case", "modified_at")
    now = timezone.now()
    updated = 0
    with transaction.atomic():
        cases = {
            case.salesforce_id: case
            for case in Case.objects.select_for_update().filter(
                salesforce_id__in=[record["Id"] for record in records]
            )
        }
        for record in records:
            case = cases.get(record["Id"])
            if case is None:
                continue
            values = _translated(field_map, "Case", record, CASE_ATTRIBUTES)
            if support_case_apply_salesforce(
                case=case,
                status=values.get("status") or "",
                case_number=values.get("case_number") or "",
                modified_at=parse_salesforce_datetime(record.get(modstamp)) or modified_at,
                now=now,
            ):
                updated += 1
                dashboard_cache_invalidate(case.user_id)
    return updated


def reconcile_cases(
    *, gateway: SalesforceGateway | None = None, record_ids: Sequence[str] | None = None, full: bool = False
) -> SyncReport:
    """Cases changed in Salesforce since the last run (or ``record_ids``), mirrored."""
    return reconcile_changed_records(
        "Case", CASE_ATTRIBUTES, case_records_apply, gateway=gateway, record_ids=record_ids, full=full
    )
