"""Reads of Opportunities for the cancellation process, shared by its service and the console."""

from __future__ import annotations

from datetime import datetime

from apps.billing.models import WhmcsService
from apps.catalog.models import ProductType
from apps.opportunities.models import Opportunity


def cancellation_scheduled_at(opportunity: Opportunity) -> datetime | None:
    """When the service ends: the SIM field for SIM services, the internet field otherwise, each
    falling back on the other."""
    if opportunity.product_type == ProductType.SIM:
        return opportunity.sim_scheduled_cancellation_at or opportunity.scheduled_cancellation_at
    return opportunity.scheduled_cancellation_at or opportunity.sim_scheduled_cancellation_at


def cancellation_whmcs_service(*, opportunity: Opportunity) -> WhmcsService | None:
    """The customer's WHMCS service the Opportunity is for (by WHMCS service ID), if mirrored."""
    if opportunity.whmcs_service_id is None:
        return None
    return WhmcsService.objects.filter(
        user_id=opportunity.user_id, whmcs_id=opportunity.whmcs_service_id
    ).first()
