"""Order placement and approval: this app owns the Order's status (README, "Who changes a status").

A customer's order becomes, in ONE transaction: the Opportunity it belongs to (found or created,
moved to Post Processing), the Order (Pending Review) with its items, and ONE outbox entry whose
Composite request creates or updates the Opportunity and creates the Order and every OrderItem
in Salesforce. Salesforce being down never loses an order: the entry is retried until delivered.

Each order carries the customer's ``Idempotency-Key``. The API answers repeats with the kept first
answer (``apps.idempotency``) for a day; the order keeps its key for good, so a repeat after that
still returns the order placed the first time (no new rows, no new outbox entry) and the same key
with a different request is still refused. Concurrent duplicates meet the customer lock and,
failing that, the unique constraint on ``(user, idempotency_key)``.

An agent's approval (``order_approve``) sets the Order to Approved; fulfillment (``fulfillment``)
takes it from there to Activated or Failed. An agent may instead reject it (``order_reject``:
Cancelled, with the reason) or hold it (``order_hold`` / ``order_release``: it stays Pending
Review and cannot be approved until released).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from apps.accounts.dashboard_cache import dashboard_cache_invalidate
from apps.accounts.models import CustomerProfile, EligibilityStatus, IdVerificationStatus, User
from apps.accounts.selectors import customer_account_id, decision_account_id
from apps.billing.selectors import whmcs_payment_method_usable_exists, whmcs_service_has_active
from apps.catalog.models import ItemClass, Product, ProductType
from apps.checkout.models import ActivationStatus, Order, OrderItem, OrderStatus
from apps.checkout.salesforce import (
    order_create_subrequest,
    order_hold_subrequest,
    order_item_create_subrequest,
    order_rejected_subrequest,
    order_status_update_subrequest,
)
from apps.checkout.selectors import order_prerequisites
from apps.idempotency.services import IdempotencyKeyReused, idempotency_key_require
from apps.integrations.outbox import WriteBack, account_record_key, outbox_enqueue_salesforce
from apps.integrations.salesforce.gateway import CompositeSubrequest
from apps.notifications.models import NotificationSource, NotificationType
from apps.notifications.services import notification_create
from apps.opportunities.services import (
    TOKYO,
    clock_now,
    customer_lock,
    opportunity_match_for_order,
)
from portal.exceptions import ApplicationError, ConflictError
from portal.transitions import Transition, field_values

ORDER_MODEL = "checkout.Order"
ORDER_ITEM_MODEL = "checkout.OrderItem"
# A Composite request takes 25 subrequests: the Opportunity, the Order and up to 23 items.
MAX_ORDER_LINES = 20


@dataclass(frozen=True)
class OrderLine:
    product_id: int
    quantity: int


@dataclass(frozen=True)
class OrderPlacement:
    order: Order
    created: bool  # False: a repeat of an earlier request with the same Idempotency-Key


def order_request_fingerprint(
    *, product_type: str, lines: Sequence[OrderLine], opportunity_id: int | None
) -> str:
    """A digest of what was asked for; item order does not matter."""
    canonical = {
        "product_type": product_type,
        "items": sorted([line.product_id, line.quantity] for line in lines),
        "opportunity_id": opportunity_id,
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def order_place(
    *,
    user: User,
    idempotency_key: str | None,
    product_type: str,
    lines: Sequence[OrderLine],
    opportunity_id: int | None = None,
    now: datetime | None = None,
) -> OrderPlacement:
    """Place an order, or return the one an earlier request with the same key placed.

    Raises ``ApplicationError`` for a missing/invalid key or an unmet prerequisite (internet:
    eligibility confirmed, and ID verified when ``INTERNET_ORDERS_REQUIRE_ID_VERIFICATION``;
    SIM: ID verified; any: a payment method WHMCS can bill, ``payment_method_required``, when
    ``ORDERS_REQUIRE_PAYMENT_METHOD``), ``ConflictError`` for a reused key with another request or a concurrent
    internet order, and ``ValidationError`` for items or an opportunity that do not fit.
    """
    key = idempotency_key_require(idempotency_key)
    fingerprint = order_request_fingerprint(
        product_type=product_type, lines=lines, opportunity_id=opportunity_id
    )
    existing = Order.objects.filter(user=user, idempotency_key=key).first()
    if existing is not None:
        return _repeat(existing, fingerprint)
    now = now or clock_now()
    try:
        with transaction.atomic():
            profile = customer_lock(user=user)
            existing = Order.objects.filter(user=user, idempotency_key=key).first()
            if existing is not None:
                return _repeat(existing, fingerprint)
            order = _place(
                user=user,
                profile=profile,
                key=key,
                fingerprint=fingerprint,
                product_type=product_type,
                lines=lines,
                opportunity_id=opportunity_id,
                now=now,
            )
    except IntegrityError:
        # A concurrent request won the race past the lock (e.g. another database's isolation).
        existing = Order.objects.filter(user=user, idempotency_key=key).first()
        if existing is None:
            raise ConflictError(
                _("Another order is being placed at the same time. Please try again."),
                code="order_in_progress",
            ) from None
        return _repeat(existing, fingerprint)
    return OrderPlacement(order=order, created=True)


def _repeat(order: Order, fingerprint: str) -> OrderPlacement:
    if order.idempotency_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return OrderPlacement(order=order, created=False)


def _place(
    *,
    user: User,
    profile: CustomerProfile,
    key: str,
    fingerprint: str,
    product_type: str,
    lines: Sequence[OrderLine],
    opportunity_id: int | None,
    now: datetime,
) -> Order:
    _check_prerequisites(profile=profile, product_type=product_type)
    products = _validated_products(user=user, profile=profile, product_type=product_type, lines=lines)
    account_id = customer_account_id(user_id=user.pk)
    today = now.astimezone(TOKYO).date()

    match = opportunity_match_for_order(
        user=user,
        account_id=account_id,
        product_type=product_type,
        opportunity_id=opportunity_id,
        today=today,
    )
    order = Order(
        user=user,
        opportunity=match.opportunity,
        idempotency_key=key,
        idempotency_fingerprint=fingerprint,
        product_type=product_type,
        status=OrderStatus.PENDING_REVIEW,
        activation_status=ActivationStatus.PENDING_REVIEW,
        effective_date=today,
        total_amount=sum(
            (products[line.product_id].price * line.quantity for line in lines), start=Decimal("0")
        ),
        currency_code=products[lines[0].product_id].currency_code,
    )
    order.save(force_insert=True)
    dashboard_cache_invalidate(order.user_id)
    items = OrderItem.objects.bulk_create(
        [
            OrderItem(
                order=order,
                product=products[line.product_id],
                quantity=line.quantity,
                unit_price=products[line.product_id].price,
                billing_cycle=products[line.product_id].billing_cycle,
            )
            for line in lines
        ]
    )

    subrequests = [
        match.subrequest,
        order_create_subrequest(order, account_id=account_id, opportunity_id=match.order_reference),
    ]
    write_backs = [*match.write_backs, WriteBack("order", ORDER_MODEL, order.pk)]
    for index, item in enumerate(items):
        reference = f"item{index}"
        subrequests.append(order_item_create_subrequest(item, reference_id=reference))
        write_backs.append(WriteBack(reference, ORDER_ITEM_MODEL, item.pk))
    outbox_enqueue_salesforce(
        operation="order.place",
        record_key=account_record_key(account_id),
        subrequests=subrequests,
        write_backs=write_backs,
    )
    return order


def _check_prerequisites(*, profile: CustomerProfile, product_type: str) -> None:
    """Internet needs a confirmed eligibility check, SIM a verified residence card; internet
    needs ID verification too where ``INTERNET_ORDERS_REQUIRE_ID_VERIFICATION`` says so; every
    order a payment method that has not expired, where ``ORDERS_REQUIRE_PAYMENT_METHOD`` says so."""
    id_verified = profile.id_verification_status == IdVerificationStatus.VERIFIED
    if product_type == ProductType.INTERNET:
        if profile.internet_eligibility_status != EligibilityStatus.ELIGIBLE:
            raise ApplicationError(
                _("Internet service has not been confirmed for your address yet."),
                code="eligibility_required",
            )
        if settings.INTERNET_ORDERS_REQUIRE_ID_VERIFICATION and not id_verified:
            raise ApplicationError(
                _("Please complete ID verification before ordering."), code="id_verification_required"
            )
    elif product_type == ProductType.SIM and not id_verified:
        raise ApplicationError(
            _("Please complete ID verification before ordering."), code="id_verification_required"
        )
    if settings.ORDERS_REQUIRE_PAYMENT_METHOD and not whmcs_payment_method_usable_exists(
        user_id=profile.user_id
    ):
        # WHMCS could not bill the order (activation would fail PAYMENT_METHOD_MISSING): journey
        # step 7 comes before the order.
        raise ApplicationError(
            _("Please add a payment method before ordering."), code="payment_method_required"
        )


def _validated_products(
    *, user: User, profile: CustomerProfile, product_type: str, lines: Sequence[OrderLine]
) -> dict[int, Product]:
    def refuse(message: str) -> ValidationError:
        return ValidationError({"items": message})

    if not lines:
        raise refuse(_("An order needs at least one item."))
    if len(lines) > MAX_ORDER_LINES:
        raise refuse(_("An order can have at most %(max)d items.") % {"max": MAX_ORDER_LINES})
    if any(line.quantity < 1 for line in lines):
        raise refuse(_("Every quantity must be at least 1."))
    product_ids = [line.product_id for line in lines]
    if len(set(product_ids)) != len(product_ids):
        raise refuse(_("Each product may appear only once; use the quantity instead."))

    products = Product.objects.in_bulk(product_ids)
    unavailable = [pk for pk in product_ids if pk not in products or not products[pk].is_active]
    if unavailable:
        raise refuse(
            _("These products are not available: %(ids)s.")
            % {"ids": ", ".join(str(pk) for pk in unavailable)}
        )
    if any(product.product_type != product_type for product in products.values()):
        raise refuse(_("Every product must belong to the order's product type."))

    plans = [product for product in products.values() if product.item_class == ItemClass.PLAN]
    if product_type in (ProductType.INTERNET, ProductType.SIM) and len(plans) != 1:
        raise refuse(_("Choose exactly one plan."))
    if product_type == ProductType.VPN and not plans:
        raise refuse(_("Choose a plan."))
    family_discount = any(product.is_family_discount for product in products.values())
    if (
        product_type == ProductType.SIM
        and family_discount
        and not whmcs_service_has_active(user=user, product_type=ProductType.SIM)
    ):
        raise refuse(_("Family discount plans are only for customers with an active SIM."))
    if product_type == ProductType.INTERNET:
        offering = profile.internet_eligibility
        if any(plan.eligibility_offering and plan.eligibility_offering != offering for plan in plans):
            raise refuse(_("This plan is not available for your address."))
    return products


def order_approve(*, order_id: int) -> Transition:
    """An agent approves an order in Pending Review whose prerequisites hold
    (``order_prerequisites``): ``Order.Status = Approved`` in Salesforce, whose Order Approval
    Flow sets the activation status and publishes ``OrderProvisionRequested__e``; the portal's
    subscriber then fulfils the order exactly as for an approval made in Salesforce."""
    with transaction.atomic():
        order = _pending_order_lock(order_id)
        if order.held_at is not None:
            raise ConflictError(
                _("This order is on hold; release it before approving it."), code="order_on_hold"
            )
        profile = CustomerProfile.objects.filter(user_id=order.user_id).first()
        unmet = [check.label for check in order_prerequisites(order=order, profile=profile) if not check.met]
        if unmet:
            raise ApplicationError(
                _("The order cannot be approved yet: %(unmet)s.") % {"unmet": "; ".join(unmet)},
                code="prerequisites_not_met",
            )
        before = field_values(order, ("status",))
        order.status = OrderStatus.APPROVED
        order.save(update_fields=["status", "updated_at"])
        dashboard_cache_invalidate(order.user_id)
        entry = outbox_enqueue_salesforce(
            operation="console.order.approve",
            record_key=account_record_key(decision_account_id(user_id=order.user_id)),
            subrequests=[order_status_update_subrequest(order)],
        )
        return Transition(
            user_id=order.user_id, before=before, after=field_values(order, ("status",)), outbox_entry=entry
        )


def _pending_order_lock(order_id: int) -> Order:
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status != OrderStatus.PENDING_REVIEW:
        raise ConflictError(
            _("This order is not waiting for approval (it is %(status)s).")
            % {"status": order.get_status_display()},
            code="already_decided",
        )
    return order


def _reason_require(reason: str, message: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ApplicationError(message, code="reason_required")
    return reason


ORDER_DECISION_FIELDS = ("status", "activation_status", "held_at", "hold_reason", "rejection_reason")


def _order_decided(
    order: Order,
    before: dict[str, object],
    *,
    operation: str,
    subrequest: CompositeSubrequest,
    notification: NotificationType,
    reason: str = "",
) -> Transition:
    # The customer is told in the transition's own transaction, so once per decision (no
    # ``source_id`` to dedupe on: a second hold after a release is news again). The row keeps the
    # parameters and the API renders them in the reader's language; the reason is a parameter,
    # shown as text, never read as a template.
    notification_create(
        user_id=order.user_id,
        type=notification,
        source=NotificationSource.PORTAL,
        context={"order_number": order.order_number, "reason": reason},
    )
    dashboard_cache_invalidate(order.user_id)
    entry = outbox_enqueue_salesforce(
        operation=operation,
        record_key=account_record_key(decision_account_id(user_id=order.user_id)),
        subrequests=[subrequest],
    )
    after = field_values(order, ORDER_DECISION_FIELDS)
    changed = [key for key in after if after[key] != before[key]]
    return Transition(
        user_id=order.user_id,
        before={key: before[key] for key in changed},
        after={key: after[key] for key in changed},
        outbox_entry=entry,
    )


def order_reject(*, order_id: int, reason: str) -> Transition:
    """An agent rejects an order in Pending Review (held or not): it is Cancelled, with the
    reason, here and in Salesforce (``Status = Cancelled``, the reason in its Description); the
    customer's order list shows it cancelled and a notification tells them why. Nothing is
    provisioned."""
    reason = _reason_require(reason, _("Say why the order is rejected."))
    with transaction.atomic():
        order = _pending_order_lock(order_id)
        before = field_values(order, ORDER_DECISION_FIELDS)
        order.status = OrderStatus.CANCELLED
        order.activation_status = ActivationStatus.NONE
        order.rejection_reason = reason
        order.held_at = None
        order.hold_reason = ""
        order.save(
            update_fields=[
                "status",
                "activation_status",
                "rejection_reason",
                "held_at",
                "hold_reason",
                "updated_at",
            ]
        )
        return _order_decided(
            order,
            before,
            operation="console.order.reject",
            subrequest=order_rejected_subrequest(order),
            notification=NotificationType.ORDER_REJECTED,
            reason=reason,
        )


def order_hold(*, order_id: int, reason: str, now: datetime | None = None) -> Transition:
    """An agent puts an order in Pending Review on hold (e.g. waiting for the customer): it
    cannot be approved until released; the reason goes to the Order's Description in
    Salesforce and, in a notification, to the customer."""
    reason = _reason_require(reason, _("Say why the order is held."))
    with transaction.atomic():
        order = _pending_order_lock(order_id)
        if order.held_at is not None:
            raise ConflictError(_("This order is already on hold."), code="already_on_hold")
        before = field_values(order, ORDER_DECISION_FIELDS)
        order.held_at = now or clock_now()
        order.hold_reason = reason
        order.save(update_fields=["held_at", "hold_reason", "updated_at"])
        return _order_decided(
            order,
            before,
            operation="console.order.hold",
            subrequest=order_hold_subrequest(order),
            notification=NotificationType.ORDER_ON_HOLD,
            reason=reason,
        )


def order_release(*, order_id: int) -> Transition:
    """Release a held order: it waits for approval again (the customer is told); the
    Description is cleared."""
    with transaction.atomic():
        order = _pending_order_lock(order_id)
        if order.held_at is None:
            raise ConflictError(_("This order is not on hold."), code="not_on_hold")
        before = field_values(order, ORDER_DECISION_FIELDS)
        order.held_at = None
        order.hold_reason = ""
        order.save(update_fields=["held_at", "hold_reason", "updated_at"])
        return _order_decided(
            order,
            before,
            operation="console.order.release",
            subrequest=order_hold_subrequest(order),
            notification=NotificationType.ORDER_HOLD_RELEASED,
        )
