"""How the checkout app's records are written to Salesforce: the Order and its OrderItems at
placement, the agent's approval, and fulfillment's outcome (Activated or Failed). The Opportunity
an order belongs to is written by its owner (``apps.opportunities.salesforce``)."""

from __future__ import annotations

from datetime import datetime

from apps.checkout.models import ActivationStatus, Order, OrderItem, OrderStatus
from apps.integrations.outbox import PortalRef, salesforce_id_or_ref
from apps.integrations.salesforce.field_map import get_field_map, salesforce_datetime
from apps.integrations.salesforce.gateway import CompositeSubrequest

ACTIVATION_ERROR_MESSAGE_LENGTH = 255
"""The length of the Order's ``Activation_Error_Message__c``; the portal keeps the whole text."""


def order_create_subrequest(
    order: Order, *, account_id: str, opportunity_id: str | PortalRef, reference_id: str = "order"
) -> CompositeSubrequest:
    """Create ``order`` on the customer's Account. ``opportunity_id`` is the Opportunity's ID, an
    earlier step's ``@{opportunity.id}``, or a reference the outbox fills in."""
    values = {
        "account_id": account_id,
        "opportunity_id": opportunity_id,
        "status": order.status,
        "effective_date": order.effective_date.isoformat(),
        "activation_status": order.activation_status,
    }
    return CompositeSubrequest.create("Order", reference_id, get_field_map().record("Order", values))


def order_item_create_subrequest(
    item: OrderItem, *, reference_id: str, order_reference_id: str = "order"
) -> CompositeSubrequest:
    """Create ``item`` on the Order an earlier step of the same Composite request creates."""
    values = {
        "order_id": f"@{{{order_reference_id}.id}}",
        "product_id": item.product.salesforce_id,
        "quantity": item.quantity,
        "unit_price": float(item.unit_price),
    }
    return CompositeSubrequest.create("OrderItem", reference_id, get_field_map().record("OrderItem", values))


def order_status_update_subrequest(order: Order) -> CompositeSubrequest:
    """Send the Order's status (or wait for the entry still creating the Order)."""
    return CompositeSubrequest.update(
        "Order",
        salesforce_id_or_ref(order),
        "order",
        get_field_map().record("Order", {"status": order.status}),
    )


def order_rejected_subrequest(order: Order) -> CompositeSubrequest:
    """An agent rejected the order: ``Status = Cancelled`` with the reason in its Description
    (or wait for the entry still creating the Order). Setting values, so a repeat is harmless."""
    values = {"status": order.status, "description": order.rejection_reason}
    return CompositeSubrequest.update(
        "Order", salesforce_id_or_ref(order), "order", get_field_map().record("Order", values)
    )


def order_hold_subrequest(order: Order) -> CompositeSubrequest:
    """An agent put the order on hold (the reason in its Description) or released it (the
    Description cleared); the Status stays Pending Review, which has no "on hold" value."""
    values = {"description": order.hold_reason or None}
    return CompositeSubrequest.update(
        "Order", salesforce_id_or_ref(order), "order", get_field_map().record("Order", values)
    )


def order_activated_subrequest(*, salesforce_order_id: str, whmcs_order_id: int) -> CompositeSubrequest:
    """Fulfillment succeeded: the Order's Status is Completed and its activation status Activated,
    with its WHMCS order, any earlier error cleared. The flow review (journey step 10) writes
    ``Status=Completed``; the older requirements' ``Activated`` Status is not used (README,
    "Salesforce decisions")."""
    values = {
        "status": OrderStatus.COMPLETED,
        "activation_status": ActivationStatus.ACTIVATED,
        "whmcs_order_id": str(whmcs_order_id),
        "activation_error_code": None,
        "activation_error_message": None,
        "activation_error_at": None,
    }
    return CompositeSubrequest.update(
        "Order", salesforce_order_id, "order", get_field_map().record("Order", values)
    )


def order_activation_failed_subrequest(
    *, salesforce_order_id: str, error_code: str, error_message: str, failed_at: datetime
) -> CompositeSubrequest:
    """Fulfillment failed: the Order's activation status is Failed, with the error and its time."""
    values = {
        "activation_status": ActivationStatus.FAILED,
        "activation_error_code": error_code,
        "activation_error_message": error_message[:ACTIVATION_ERROR_MESSAGE_LENGTH],
        "activation_error_at": salesforce_datetime(failed_at),
    }
    return CompositeSubrequest.update(
        "Order", salesforce_order_id, "order", get_field_map().record("Order", values)
    )
