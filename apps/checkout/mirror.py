"""Orders changed in Salesforce, mirrored into the portal: the service that applies an agent's
change of an Order's status made there (cancelling it, say), and the reconciliation that reads what
Change Data Capture missed.

The status is this app's (DESIGN.md rule 8): a change event (``event_handlers``) and the periodic
``SystemModstamp`` reconciliation (:func:`reconcile_orders`) both apply it here. Approval and
activation reach the customer through fulfillment (``OrderProvisionRequested__e``), which sends
their notifications; this only keeps the mirror (and so the dashboard) true. A value older than
the mirror's is ignored; applying what the mirror holds changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts.dashboard_cache import dashboard_cache_invalidate
from apps.checkout.models import Order
from apps.integrations.salesforce.field_map import get_field_map, parse_salesforce_datetime
from apps.integrations.salesforce.gateway import SalesforceGateway
from apps.integrations.salesforce.sync import SyncReport, reconcile_changed_records

logger = logging.getLogger(__name__)

ORDER_ATTRIBUTES = ("status",)


def order_apply_salesforce(*, salesforce_id: str, status: str, modified_at: datetime | None) -> bool:
    """Mirror an Order's status as Salesforce holds it; returns whether it changed."""
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(salesforce_id=salesforce_id).first()
        if order is None or not status:
            return False
        if order.salesforce_modified_at and modified_at and modified_at < order.salesforce_modified_at:
            return False
        changed = order.status != status
        order.status = status
        if modified_at and (
            order.salesforce_modified_at is None or modified_at > order.salesforce_modified_at
        ):
            order.salesforce_modified_at = modified_at
        order.synced_at = timezone.now()
        order.save(update_fields=["status", "salesforce_modified_at", "synced_at", "updated_at"])
        if changed:
            dashboard_cache_invalidate(order.user_id)
        return changed


def order_records_apply(records: Sequence[Mapping[str, Any]], *, modified_at: datetime | None = None) -> int:
    """Apply Order records (whole, or the fields a change event carries)."""
    field_map = get_field_map()
    status_field = field_map.field("Order", "status")
    modstamp = field_map.field("Order", "modified_at")
    updated = 0
    for record in records:
        if status_field not in record:
            continue
        try:
            status = field_map.from_salesforce("Order", "status", record[status_field])
        except ValueError:
            logger.warning("Order %s has a status the portal does not know; kept as it was", record["Id"])
            continue
        stamp = parse_salesforce_datetime(record.get(modstamp)) or modified_at
        if order_apply_salesforce(salesforce_id=record["Id"], status=status, modified_at=stamp):
            updated += 1
    return updated


def reconcile_orders(
    *, gateway: SalesforceGateway | None = None, record_ids: Sequence[str] | None = None, full: bool = False
) -> SyncReport:
    """Orders changed in Salesforce since the last run (or ``record_ids``), mirrored."""
    return reconcile_changed_records(
        "Order", ORDER_ATTRIBUTES, order_records_apply, gateway=gateway, record_ids=record_ids, full=full
    )
