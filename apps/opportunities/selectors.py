"""Reads of Opportunities for the cancellation process, shared by its service, its preview API and
the console."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.http import Http404
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.billing.models import WhmcsService
from apps.catalog.models import ProductType
from apps.opportunities.models import Opportunity, OpportunityStage
from apps.opportunities.schedule import TOKYO, CancellationSchedule, cancellation_schedules, month_label
from portal.exceptions import ApplicationError, ConflictError

CANCELLABLE_PRODUCT_TYPES = (ProductType.INTERNET, ProductType.SIM)


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


@dataclass(frozen=True)
class CancellationPreview:
    """What a customer may choose before requesting cancellation of ``service``: the months the
    25th rule offers now (earliest first) and the cancellation already requested, if any."""

    service: WhmcsService
    schedules: list[CancellationSchedule]
    pending_scheduled_at: datetime | None

    @property
    def earliest_month(self) -> str:
        return self.schedules[0].cancellation_month

    @property
    def pending_request(self) -> dict[str, str] | None:
        if self.pending_scheduled_at is None:
            return None
        end = self.pending_scheduled_at.astimezone(TOKYO).date()
        return {"month": month_label(end.year, end.month), "end_date": end.isoformat()}


def cancellation_refusal(
    *, service: WhmcsService, opportunity: Opportunity | None
) -> ApplicationError | None:
    """Why ``service`` cannot be cancelled online now, or None. The request and its preview both
    ask, so the preview never offers months for what the request would refuse (a one-time fee
    or a service no Opportunity names)."""
    if service.product_type not in CANCELLABLE_PRODUCT_TYPES:
        return ApplicationError(
            _("This service cannot be cancelled online. Please contact support."),
            code="cancellation_not_supported",
        )
    if service.status != WhmcsService.Status.ACTIVE:
        return ApplicationError(_("Only active services can be cancelled."), code="service_not_active")
    if opportunity is None or opportunity.stage != OpportunityStage.ACTIVE:
        return ConflictError(
            _("We cannot process this cancellation online. Please contact support."),
            code="cancellation_unavailable",
        )
    return None


def subscription_cancellation_preview(*, user: User, service_id: int, now: datetime) -> CancellationPreview:
    """The cancellation months one of the customer's services may end in, as of ``now``.

    Another customer's service raises ``Http404``; a service the request would refuse raises the
    request's error (``cancellation_refusal``), unless its cancellation is already requested.
    """
    service = WhmcsService.objects.filter(user=user, pk=service_id).first()
    if service is None:
        raise Http404("No such service.")
    opportunity = (
        Opportunity.objects.filter(user=user, whmcs_service_id=service.whmcs_id)
        .order_by("-created_at", "-pk")
        .first()
    )
    pending = None
    if opportunity is not None and opportunity.stage == OpportunityStage.CANCELLING:
        pending = cancellation_scheduled_at(opportunity)
    elif refusal := cancellation_refusal(service=service, opportunity=opportunity):
        raise refusal
    return CancellationPreview(
        service=service,
        schedules=cancellation_schedules(requested_at=now),
        pending_scheduled_at=pending,
    )
