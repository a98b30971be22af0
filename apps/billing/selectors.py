"""Reads of the WHMCS mirror: a customer's services, invoices and stored payment methods, and
which customers the mirror covers.

Every customer read is served from these portal tables, never from WHMCS itself; the mirror is
kept fresh by ``apps.billing.services``. Each customer read returns the customer's own rows
only, in one query whatever the number of rows, so the API can paginate without N+1 queries.
"""

from __future__ import annotations

from datetime import date

from django.db.models import Case, F, OuterRef, Q, QuerySet, Subquery, When
from django.utils import timezone

from apps.accounts.models import IdMapping, User
from apps.billing.models import WhmcsInvoice, WhmcsPaymentMethod, WhmcsService
from apps.catalog.models import ProductType
from apps.opportunities.models import Opportunity


def whmcs_client_user_ids() -> list[int]:
    """Portal users that have a WHMCS client, i.e. the ones a full billing sync visits."""
    return list(
        IdMapping.objects.filter(whmcs_client_id__isnull=False)
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )


def _with_cancellation(queryset: QuerySet[WhmcsService]) -> QuerySet[WhmcsService]:
    """Annotate each service with the cancellation state of its Opportunity.

    An Opportunity refers to its WHMCS service by ``whmcs_service_id`` (no foreign key, the two
    are mirrored from different systems), so the link is a correlated subquery: one query for any
    page size. If several Opportunities name the service, the newest one wins. The scheduled
    date comes from the SIM field for SIM opportunities and from the internet field otherwise.

    Adds ``cancellation_opportunity_id`` (None when there is no Opportunity),
    ``cancellation_stage``, ``cancellation_scheduled_at`` and ``cancellation_line_return_status``.
    """
    opportunity = (
        Opportunity.objects.filter(user_id=OuterRef("user_id"), whmcs_service_id=OuterRef("whmcs_id"))
        .annotate(
            scheduled_at=Case(
                When(product_type=ProductType.SIM, then=F("sim_scheduled_cancellation_at")),
                default=F("scheduled_cancellation_at"),
            )
        )
        .order_by("-created_at", "-pk")
    )
    return queryset.annotate(
        cancellation_opportunity_id=Subquery(opportunity.values("pk")[:1]),
        cancellation_stage=Subquery(opportunity.values("stage")[:1]),
        cancellation_scheduled_at=Subquery(opportunity.values("scheduled_at")[:1]),
        cancellation_line_return_status=Subquery(opportunity.values("line_return_status")[:1]),
    )


def whmcs_service_list(*, user: User) -> QuerySet[WhmcsService]:
    """The customer's services, newest registration first, each with its cancellation state."""
    services = WhmcsService.objects.filter(user=user).order_by(
        F("registered_on").desc(nulls_last=True), "-whmcs_id"
    )
    return _with_cancellation(services)


def whmcs_service_get(*, user: User, service_id: int) -> WhmcsService | None:
    """One of the customer's services by its portal pk, or None if it is not theirs."""
    return whmcs_service_list(user=user).filter(pk=service_id).first()


def whmcs_service_has_active(*, user: User, product_type: str) -> bool:
    """Whether the customer has an Active service of this product type (e.g. an active SIM)."""
    return WhmcsService.objects.filter(
        user=user, product_type=product_type, status=WhmcsService.Status.ACTIVE
    ).exists()


def whmcs_invoice_list(*, user: User, status: str | None = None) -> QuerySet[WhmcsInvoice]:
    """The customer's invoices, newest first, optionally only those in one WHMCS status."""
    invoices = WhmcsInvoice.objects.filter(user=user)
    if status:
        invoices = invoices.filter(status=status)
    return invoices.order_by("-issued_on", "-whmcs_id")


def whmcs_invoice_get(*, user: User, invoice_id: int) -> WhmcsInvoice | None:
    """One of the customer's invoices by its portal pk, or None if it is not theirs."""
    return WhmcsInvoice.objects.filter(user=user, pk=invoice_id).first()


def whmcs_payment_method_list(*, user: User) -> list[WhmcsPaymentMethod]:
    """The customer's stored payment methods (display data only), in WHMCS order."""
    return list(WhmcsPaymentMethod.objects.filter(user=user).order_by("whmcs_id"))


def whmcs_payment_method_usable_exists(*, user_id: int, today: date | None = None) -> bool:
    """Whether WHMCS holds a payment method it could bill: one that has not expired (bank
    accounts, with no expiry, always count). Read from the mirror."""
    today = today or timezone.localdate()
    return (
        WhmcsPaymentMethod.objects.filter(user_id=user_id)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=today))
        .exists()
    )
