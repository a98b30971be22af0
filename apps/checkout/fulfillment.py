"""Order fulfillment: an approved Salesforce Order becomes an active WHMCS service.

An agent approves the Order (or, to retry, sets its activation status back to Activating);
Salesforce's Order Approval Flow publishes ``OrderProvisionRequested__e``; then

1. :func:`fulfillment_request` (the event handler, inside the event's transaction) records the
   IdemKey on the order's :class:`FulfillmentRun` and queues ``checkout.fulfill_order`` after
   commit. A redelivered event (an IdemKey already seen) does nothing.
2. :func:`fulfillment_run_execute` (the task) claims the run and does the network work, outside
   any transaction, one step at a time, storing each step's outcome before the next:

   - **load**: the Order and its OrderItems from Salesforce (``order_with_items``: one API
     call), mirrored into the portal's ``Order``/``OrderItem``; ``ORDER_APPROVED`` is sent
     once per order;
   - **WHMCS AddOrder** with each item's WHMCS product id, billing cycle and config options from
     the catalog, and its Salesforce unit price as ``priceoverride`` (WHMCS bills what the
     customer was quoted), tagged in its notes with the Salesforce Order id;
   - **WHMCS AcceptOrder** (runs the provisioning module);
   - **complete**: the portal Order is Completed (activation status Activated), the Opportunity Active with the WHMCS service
     id (``opportunities.services.opportunity_activate``, which owns the stage), and the same
     change goes to Salesforce as ONE outbox entry (a Composite updating the Order and the
     Opportunity); ``ORDER_ACTIVATED`` is sent and the customer's WHMCS billing mirror is synced.

A retry resumes after the last step with an outcome. WHMCS ``AddOrder`` is never sent twice for
one order: when an earlier attempt sent it without learning the result (timeout, crash), the next
attempt finds the order in WHMCS by its notes tag first. Transient errors (timeouts, 5xx,
Salesforce limits) put the run back in the queue for the task's backoff; anything else, or the
last retry, fails the run: the Order's activation status becomes Failed with an error code,
message and time, and its Opportunity Void (``opportunity_void_for_failed_fulfillment``), locally
and in Salesforce (through the outbox), and ``ORDER_FAILED`` is sent.
Notifications use the Salesforce Order id as ``source_id``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.accounts.dashboard_cache import dashboard_cache_invalidate
from apps.accounts.models import IdMapping
from apps.catalog.models import BillingCycle, ItemClass, Product
from apps.checkout.models import ActivationStatus, Order, OrderItem, OrderStatus
from apps.checkout.models_fulfillment import FulfillmentRun
from apps.checkout.salesforce import order_activated_subrequest, order_activation_failed_subrequest
from apps.integrations.outbox import account_record_key, outbox_enqueue_salesforce
from apps.integrations.salesforce.event_payloads import event_values
from apps.integrations.salesforce.exceptions import (
    SalesforceError,
    SalesforceNotFound,
    SalesforceUnknownPicklistValue,
)
from apps.integrations.salesforce.gateway import SalesforceGateway, get_gateway
from apps.integrations.salesforce.records import SalesforceOrder, SalesforceOrderItem
from apps.integrations.whmcs.client import WhmcsClient, get_whmcs_client
from apps.integrations.whmcs.exceptions import WhmcsError
from apps.integrations.whmcs.types import OrderLine, WhmcsOrderRecord
from apps.notifications.models import NotificationSource, NotificationType
from apps.notifications.services import notification_create
from apps.opportunities.models import Opportunity
from apps.opportunities.services import opportunity_activate, opportunity_void_for_failed_fulfillment

logger = logging.getLogger(__name__)

CLAIM_DURATION = timedelta(minutes=10)
"""How long a task owns a run; longer than the task's hard time limit."""
ADD_ORDER_SETTLE_MARGIN = timedelta(seconds=5)
"""Added to the WHMCS client timeout before an unanswered AddOrder is taken as never placed."""
RESUME_GRACE = timedelta(minutes=2)
"""A queued run this much past its due time is re-queued by :func:`fulfillment_runs_resume_due`."""
MAX_IDEMPOTENCY_KEYS = 50
WHMCS_ORDER_NOTE = "SonixNet portal fulfillment of Salesforce Order"
"""Tags the WHMCS order (its notes) so an attempt whose AddOrder result was lost can find it."""


WHMCS_BILLING_CYCLES: dict[str, str] = {
    BillingCycle.MONTHLY: "monthly",
    BillingCycle.ONE_TIME: "onetime",
    BillingCycle.ANNUALLY: "annually",
}

STEP_LOAD = "load_order"
STEP_ADD_ORDER = "whmcs_add_order"
STEP_ACCEPT_ORDER = "whmcs_accept_order"
STEP_COMPLETE = "complete"

_STEP_ERROR_CODES = {
    STEP_LOAD: "SALESFORCE_ORDER_LOAD_FAILED",
    STEP_ADD_ORDER: "WHMCS_ADD_ORDER_FAILED",
    STEP_ACCEPT_ORDER: "WHMCS_ACCEPT_ORDER_FAILED",
    STEP_COMPLETE: "FULFILLMENT_COMPLETION_FAILED",
}


class FulfillmentError(Exception):
    """A permanent failure: trying again the same way cannot succeed until the data is fixed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class FulfillmentRetry(Exception):
    """A transient failure; the run is queued again and the task should retry after ``delay``."""

    def __init__(self, message: str, *, delay: timedelta) -> None:
        super().__init__(message)
        self.delay = delay


class AddOrderInFlight(Exception):
    """An earlier AddOrder of this run may still be running at WHMCS (its worker died waiting for
    the answer); look for its order again once WHMCS has had time to finish it."""

    def __init__(self, *, delay: timedelta) -> None:
        super().__init__(f"an earlier AddOrder may still be in progress; looking again in {delay}")
        self.delay = delay


@dataclass(frozen=True)
class _Line:
    salesforce_id: str
    product: Product
    quantity: int
    unit_price: Decimal


# --- the event handler's part ---------------------------------------------------------------------


def fulfillment_request(
    *, payload: Mapping[str, Any], event_id: str = "", topic: str | None = None
) -> FulfillmentRun | None:
    """Record an ``OrderProvisionRequested__e`` and queue the fulfillment after commit.

    Call inside the event's transaction. Idempotent per IdemKey (the event id when the event has
    none): the same request twice queues nothing the second time. A new request for a failed run
    resumes it; for a succeeded run it sends the completed state to Salesforce again (an agent
    who set Activating again gets the order back to Activated) without touching WHMCS.
    """
    values = event_values(payload, topic or settings.SALESFORCE["ORDER_PROVISION_EVENT_CHANNEL"])
    order_id = str(values.get("order_id") or "").strip()
    if not order_id:
        logger.warning("OrderProvisionRequested event %s has no Order id; ignored", event_id)
        return None
    key = str(values.get("idempotency_key") or f"event:{event_id}")[:80]
    extra = {"salesforce_order_id": order_id, "idempotency_key": key}
    now = timezone.now()
    with transaction.atomic():
        run, created = FulfillmentRun.objects.select_for_update().get_or_create(salesforce_order_id=order_id)
        if key in run.idempotency_keys:
            logger.info("Fulfillment request %s for Order %s already handled", key, order_id, extra=extra)
            return run
        run.idempotency_keys = [*run.idempotency_keys, key][-MAX_IDEMPOTENCY_KEYS:]
        run.last_idempotency_key = key
        run.correlation_id = str(values.get("correlation_id") or "")[:80]
        run.requested_by = str(values.get("requested_by") or "")[:80]
        request_fields = ["idempotency_keys", "last_idempotency_key", "correlation_id", "requested_by"]
        if run.status == FulfillmentRun.Status.RUNNING:
            # The attempt in progress covers this request; its task owns the other columns.
            run.save(update_fields=[*request_fields, "updated_at"])
            logger.info("Order %s is being fulfilled; request %s recorded", order_id, key, extra=extra)
            return run
        if run.status == FulfillmentRun.Status.SUCCEEDED:
            run.salesforce_updated_at = None  # Send the completed state to Salesforce again.
        run.status = FulfillmentRun.Status.PENDING
        run.next_attempt_at = now
        run.error_code = ""
        run.error_message = ""
        run.failed_at = None
        run.finished_at = None
        _log(run, "requested", "queued", idempotency_key=key, new=created)
        run.save()
        transaction.on_commit(partial(fulfillment_enqueue, run_id=run.pk))
    logger.info(
        "Fulfillment of Order %s queued (request %s)", order_id, key, extra={**extra, "run_id": run.pk}
    )
    return run


def fulfillment_enqueue(*, run_id: int) -> None:
    """Queue ``checkout.fulfill_order``; a broker hiccup is left to :func:`fulfillment_runs_resume_due`."""
    from apps.checkout.tasks import fulfill_order_task

    try:
        fulfill_order_task.delay(run_id)
    except Exception:
        logger.warning("Could not queue fulfillment run %s; the periodic resume will", run_id, exc_info=True)


def fulfillment_runs_resume_due(*, now: datetime | None = None, limit: int = 100) -> list[int]:
    """Queue runs whose task was lost: queued runs well past their due time, and running runs
    whose claim expired (the worker died or hit its time limit). Returns the run ids queued."""
    now = now or timezone.now()
    due = Q(status=FulfillmentRun.Status.PENDING, next_attempt_at__lte=now - RESUME_GRACE) | Q(
        status=FulfillmentRun.Status.RUNNING, claimed_until__lt=now
    )
    run_ids = list(
        FulfillmentRun.objects.filter(due).order_by("next_attempt_at").values_list("pk", flat=True)[:limit]
    )
    for run_id in run_ids:
        fulfillment_enqueue(run_id=run_id)
    return run_ids


# --- the task's part ------------------------------------------------------------------------------


def fulfillment_run_execute(
    *,
    run_id: int,
    claimant: str = "",
    final_attempt: bool = False,
    retry_delay: timedelta = timedelta(seconds=30),
    gateway: SalesforceGateway | None = None,
    whmcs: WhmcsClient | None = None,
) -> FulfillmentRun | None:
    """Run (or resume) the fulfillment of one order. Returns the run, or ``None`` when another
    worker holds it or it has nothing to do.

    ``claimant`` names the caller (the Celery task id) so that its own redelivered message can
    resume a run its killed worker left claimed. Raises :class:`FulfillmentRetry` after a
    transient error (the run is queued again, due in ``retry_delay``) unless ``final_attempt``,
    in which case the run fails instead.
    """
    run = _claim(run_id, claimant)
    if run is None:
        logger.info("Fulfillment run %s is not due or is held by another worker", run_id)
        return None
    step = STEP_LOAD
    try:
        lines: list[_Line] = []
        if run.whmcs_order_id is None or run.order_id is None:
            lines = _load(run, gateway or get_gateway())
        client = whmcs or get_whmcs_client()
        if run.whmcs_order_id is None:
            step = STEP_ADD_ORDER
            _add_order(run, lines, client)
        if run.whmcs_accepted_at is None:
            step = STEP_ACCEPT_ORDER
            _accept_order(run, client)
        step = STEP_COMPLETE
        _complete(run)
    except FulfillmentError as exc:
        _fail(run, step, exc.code, exc.message)
    except AddOrderInFlight as exc:
        _release(run, step, exc, exc.delay)
        raise FulfillmentRetry(str(exc), delay=exc.delay) from exc
    except (WhmcsError, SalesforceError) as exc:
        if exc.retryable and not final_attempt:
            _release(run, step, exc, retry_delay)
            raise FulfillmentRetry(str(exc), delay=retry_delay) from exc
        code = _STEP_ERROR_CODES[step]
        if exc.retryable:
            code = "WHMCS_UNAVAILABLE" if isinstance(exc, WhmcsError) else "SALESFORCE_UNAVAILABLE"
        _fail(run, step, code, str(exc))
    except Exception as exc:
        # A bug or the database: retry like a transient error, fail on the last attempt.
        logger.exception("Fulfillment run %s failed unexpectedly in %s", run.pk, step, extra=_ids(run))
        if not final_attempt:
            _release(run, step, exc, retry_delay)
            raise FulfillmentRetry(str(exc), delay=retry_delay) from exc
        _fail(run, step, "FULFILLMENT_ERROR", f"{type(exc).__name__}: {exc}")
    return run


def _claim(run_id: int, claimant: str) -> FulfillmentRun | None:
    """Take the run for this worker: a conditional UPDATE, so two workers never run it at once.

    A claim that expired is free; so is one held by ``claimant`` itself (the same task's message
    redelivered after its worker was killed mid-run), which resumes at once rather than after
    the claim runs out.
    """
    now = timezone.now()
    claimable = Q(status=FulfillmentRun.Status.PENDING) | Q(
        status=FulfillmentRun.Status.RUNNING, claimed_until__lt=now
    )
    if claimant:
        claimable |= Q(status=FulfillmentRun.Status.RUNNING, claimed_by=claimant)
    claimed = (
        FulfillmentRun.objects.filter(pk=run_id)
        .filter(claimable)
        .update(
            status=FulfillmentRun.Status.RUNNING,
            claimed_until=now + CLAIM_DURATION,
            claimed_by=claimant,
            attempts=F("attempts") + 1,
            updated_at=now,
        )
    )
    if not claimed:
        return None
    return FulfillmentRun.objects.get(pk=run_id)


# --- step 1: load the order from Salesforce -------------------------------------------------------


def _load(run: FulfillmentRun, gateway: SalesforceGateway) -> list[_Line]:
    """Read the Order and its items from Salesforce and mirror them; returns the order lines."""
    try:
        salesforce_order = gateway.order_with_items(run.salesforce_order_id)
    except SalesforceNotFound as exc:
        raise FulfillmentError("ORDER_NOT_FOUND", exc.message) from exc
    except SalesforceUnknownPicklistValue as exc:
        raise FulfillmentError("UNKNOWN_PICKLIST_VALUE", exc.message) from exc

    if salesforce_order.status == OrderStatus.CANCELLED:
        raise FulfillmentError("ORDER_CANCELLED", "The Order is cancelled in Salesforce.")
    account_id = salesforce_order.account_id
    mapping = IdMapping.objects.filter(salesforce_account_id=account_id).first()
    if mapping is None:
        raise FulfillmentError("NO_PORTAL_CUSTOMER", f"Account {account_id} has no portal customer.")
    if mapping.whmcs_client_id is None:
        raise FulfillmentError("NO_WHMCS_CLIENT", f"Account {account_id} has no WHMCS client.")
    lines = _lines(salesforce_order.items)

    now = timezone.now()
    with transaction.atomic():
        order = _mirror_order(run, salesforce_order, lines, user_id=mapping.user_id)
        run.order = order
        run.user_id = mapping.user_id
        run.salesforce_account_id = account_id
        run.salesforce_opportunity_id = salesforce_order.opportunity_id
        run.whmcs_client_id = mapping.whmcs_client_id
        run.loaded_at = now
        if run.approved_notified_at is None:
            notification_create(
                user_id=mapping.user_id,
                type=NotificationType.ORDER_APPROVED,
                source=NotificationSource.SALESFORCE,
                source_id=run.salesforce_order_id,
                context={"order_number": order.order_number},
            )
            run.approved_notified_at = now
        _log(run, STEP_LOAD, "succeeded", items=len(lines), order_number=order.order_number)
        _save(
            run,
            "order",
            "user",
            "salesforce_account_id",
            "salesforce_opportunity_id",
            "whmcs_client_id",
            "loaded_at",
            "approved_notified_at",
            "steps",
        )
    logger.info(
        "Fulfillment %s: Salesforce Order %s loaded with %d items",
        run.pk,
        run.salesforce_order_id,
        len(lines),
        extra=_ids(run),
    )
    return lines


def _lines(items: Sequence[SalesforceOrderItem]) -> list[_Line]:
    if not items:
        raise FulfillmentError("ORDER_HAS_NO_ITEMS", "The Order has no products.")
    products = {
        product.salesforce_id: product
        for product in Product.objects.filter(salesforce_id__in={item.product_id for item in items})
    }
    lines = []
    for item in items:
        product = products.get(item.product_id)
        if product is None:
            raise FulfillmentError(
                "PRODUCT_NOT_IN_CATALOG",
                f"Product2 {item.product_id} is not in the portal catalog; sync the catalog and retry.",
            )
        if product.whmcs_product_id is None:
            raise FulfillmentError(
                "PRODUCT_NOT_MAPPED", f"Product2 {product.salesforce_id} has no WHMCS product id."
            )
        if product.billing_cycle not in WHMCS_BILLING_CYCLES:
            raise FulfillmentError(
                "UNKNOWN_BILLING_CYCLE",
                f"Product2 {product.salesforce_id} has billing cycle {product.billing_cycle!r}.",
            )
        lines.append(
            _Line(
                salesforce_id=item.id,
                product=product,
                quantity=max(int(item.quantity or 1), 1),
                unit_price=item.unit_price or product.price,
            )
        )
    return lines


def _mirror_order(
    run: FulfillmentRun, salesforce_order: SalesforceOrder, lines: list[_Line], *, user_id: int
) -> Order:
    """Upsert the portal's Order and OrderItems from the Salesforce records (Salesforce wins)."""
    order = Order.objects.select_for_update().filter(salesforce_id=run.salesforce_order_id).first()
    if order is None:
        plans = [line.product for line in lines if line.product.item_class == ItemClass.PLAN]
        order = Order(
            user_id=user_id,
            salesforce_id=run.salesforce_order_id,
            idempotency_key=f"salesforce:{run.salesforce_order_id}",
            product_type=(plans or [lines[0].product])[0].product_type,
        )
    if salesforce_order.opportunity_id:
        order.opportunity = (
            Opportunity.objects.filter(salesforce_id=salesforce_order.opportunity_id).first()
            or order.opportunity
        )
    order.order_number = salesforce_order.order_number or order.order_number
    order.status = salesforce_order.status or order.status or OrderStatus.APPROVED
    order.activation_status = ActivationStatus.ACTIVATING
    order.activation_error_code = ""
    order.activation_error_message = ""
    order.activation_error_at = None
    order.effective_date = salesforce_order.effective_date or order.effective_date or timezone.localdate()
    order.total_amount = sum((line.unit_price * line.quantity for line in lines), Decimal("0"))
    order.salesforce_modified_at = salesforce_order.modified_at
    order.synced_at = timezone.now()
    order.save()
    dashboard_cache_invalidate(order.user_id)

    existing = list(order.items.all())
    by_salesforce_id = {item.salesforce_id: item for item in existing if item.salesforce_id}
    unmatched = [item for item in existing if not item.salesforce_id]
    kept: list[int] = []
    for line in lines:
        item = by_salesforce_id.get(line.salesforce_id)
        if item is None:
            item = next((i for i in unmatched if i.product_id == line.product.pk), None)
            if item is not None:
                unmatched.remove(item)
        if item is None:
            item = OrderItem(order=order)
        item.salesforce_id = line.salesforce_id
        item.product = line.product
        item.quantity = line.quantity
        item.unit_price = line.unit_price
        item.billing_cycle = line.product.billing_cycle
        item.save()
        kept.append(item.pk)
    order.items.exclude(pk__in=kept).delete()
    return order


# --- steps 2 and 3: WHMCS -------------------------------------------------------------------------


def _add_order(run: FulfillmentRun, lines: list[_Line], client: WhmcsClient) -> None:
    assert run.whmcs_client_id is not None
    note = f"{WHMCS_ORDER_NOTE} {run.salesforce_order_id}"
    if run.whmcs_add_order_started_at is not None:
        # An earlier attempt sent AddOrder and never learned the outcome: look before sending again.
        existing = _find_whmcs_order(client, run.whmcs_client_id, note)
        if existing is not None:
            service_ids = [item.rel_id for item in existing.line_items if item.type.lower() == "product"]
            _record_whmcs_order(run, lines, existing.id, service_ids, existing.invoice_id, adopted=True)
            return
        # Not there yet, but that attempt's request may still be running at WHMCS: sending another
        # now could place the order twice, so wait until its client timeout has surely passed.
        settled_at = (
            run.whmcs_add_order_started_at
            + ADD_ORDER_SETTLE_MARGIN
            + timedelta(seconds=settings.WHMCS["TIMEOUT_SECONDS"])
        )
        if settled_at > timezone.now():
            raise AddOrderInFlight(delay=settled_at - timezone.now())
    run.whmcs_add_order_started_at = timezone.now()
    _log(run, STEP_ADD_ORDER, "started")
    _save(run, "whmcs_add_order_started_at", "steps")
    try:
        result = client.add_order(
            run.whmcs_client_id,
            [
                OrderLine(
                    pid=line.product.whmcs_product_id or 0,
                    billing_cycle=WHMCS_BILLING_CYCLES[line.product.billing_cycle],
                    config_options=_config_options(line.product),
                    qty=line.quantity,
                    # Bill what the customer was quoted (the Salesforce OrderItem's unit price),
                    # not WHMCS's own product price, which may differ (catalog.PriceMismatch).
                    price_override=line.unit_price,
                )
                for line in lines
            ],
            payment_method=settings.WHMCS["PAYMENT_METHOD"],
            notes=note,
        )
    except WhmcsError as exc:
        if not exc.retryable:
            # WHMCS answered with an error: no order was placed, so nothing to look for next time.
            run.whmcs_add_order_started_at = None
            _save(run, "whmcs_add_order_started_at")
        raise
    _record_whmcs_order(
        run, lines, result.order_id, list(result.service_ids), result.invoice_id, adopted=False
    )


def _find_whmcs_order(client: WhmcsClient, client_id: int, note: str) -> WhmcsOrderRecord | None:
    candidates = [
        order
        for order in client.get_orders(client_id=client_id)
        if note in order.notes and order.status.lower() != "cancelled"
    ]
    return max(candidates, key=lambda order: order.id, default=None)


def _record_whmcs_order(
    run: FulfillmentRun,
    lines: list[_Line],
    order_id: int,
    service_ids: list[int],
    invoice_id: int | None,
    *,
    adopted: bool,
) -> None:
    with transaction.atomic():
        run.whmcs_order_id = order_id
        run.whmcs_service_ids = service_ids
        run.whmcs_service_id = _plan_service_id(lines, service_ids)
        run.whmcs_invoice_id = invoice_id or None
        _log(
            run,
            STEP_ADD_ORDER,
            "succeeded",
            whmcs_order_id=order_id,
            whmcs_service_ids=service_ids,
            whmcs_invoice_id=invoice_id,
            found_existing=adopted,
        )
        _save(run, "whmcs_order_id", "whmcs_service_ids", "whmcs_service_id", "whmcs_invoice_id", "steps")
        Order.objects.filter(salesforce_id=run.salesforce_order_id).update(
            whmcs_order_id=order_id, updated_at=timezone.now()
        )
    logger.info(
        "Fulfillment %s: WHMCS order %s %s for Salesforce Order %s (services %s, invoice %s)",
        run.pk,
        order_id,
        "found" if adopted else "placed",
        run.salesforce_order_id,
        service_ids,
        invoice_id,
        extra=_ids(run),
    )


def _plan_service_id(lines: list[_Line], service_ids: list[int]) -> int | None:
    """The service of the first plan item (WHMCS creates services in item order, one per unit)."""
    products = [line.product for line in lines for _ in range(line.quantity)]
    for product, service_id in zip(products, service_ids, strict=False):
        if product.item_class == ItemClass.PLAN:
            return service_id
    return service_ids[0] if service_ids else None


def _config_options(product: Product) -> dict[Any, int | str]:
    """The catalog's config options as WHMCS takes them: numeric option ids become integers."""
    options: dict[Any, int | str] = {}
    for key, value in (product.config_options or {}).items():
        option: Any = int(key) if str(key).isdigit() else str(key)
        options[option] = value if isinstance(value, int) else str(value)
    return options


def _accept_order(run: FulfillmentRun, client: WhmcsClient) -> None:
    assert run.whmcs_order_id is not None
    if run.whmcs_accept_started_at is not None:
        # Accepted already (a lost answer, or by hand in WHMCS)? Then do not accept again.
        found = client.get_orders(order_id=run.whmcs_order_id)
        if not found:
            raise FulfillmentError("WHMCS_ORDER_MISSING", f"WHMCS has no order {run.whmcs_order_id}.")
        status = found[0].status
        if status.lower() in ("cancelled", "fraud"):
            raise FulfillmentError("WHMCS_ORDER_CANCELLED", f"WHMCS order {run.whmcs_order_id} is {status}.")
        if status.lower() != "pending":
            _record_accepted(run, already=True)
            return
    run.whmcs_accept_started_at = timezone.now()
    _log(run, STEP_ACCEPT_ORDER, "started")
    _save(run, "whmcs_accept_started_at", "steps")
    client.accept_order(run.whmcs_order_id)
    _record_accepted(run, already=False)


def _record_accepted(run: FulfillmentRun, *, already: bool) -> None:
    run.whmcs_accepted_at = timezone.now()
    _log(run, STEP_ACCEPT_ORDER, "succeeded", whmcs_order_id=run.whmcs_order_id, found_accepted=already)
    _save(run, "whmcs_accepted_at", "steps")
    logger.info("Fulfillment %s: WHMCS order %s accepted", run.pk, run.whmcs_order_id, extra=_ids(run))


# --- step 4 and the end states --------------------------------------------------------------------


def _complete(run: FulfillmentRun) -> None:
    """Activated: the portal rows, ONE Salesforce Composite (outbox), the notification."""
    now = timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(salesforce_id=run.salesforce_order_id)
        order.status = OrderStatus.COMPLETED
        order.activation_status = ActivationStatus.ACTIVATED
        order.whmcs_order_id = run.whmcs_order_id
        order.activation_error_code = ""
        order.activation_error_message = ""
        order.activation_error_at = None
        order.save()
        dashboard_cache_invalidate(order.user_id)

        opportunity = order.opportunity
        if opportunity is None and run.salesforce_opportunity_id:
            opportunity = Opportunity.objects.filter(salesforce_id=run.salesforce_opportunity_id).first()
        opportunity_update = opportunity_activate(
            opportunity=opportunity,
            salesforce_id=run.salesforce_opportunity_id,
            whmcs_service_id=run.whmcs_service_id,
        )

        if run.salesforce_updated_at is None:
            assert run.whmcs_order_id is not None
            subrequests = [
                order_activated_subrequest(
                    salesforce_order_id=run.salesforce_order_id, whmcs_order_id=run.whmcs_order_id
                )
            ]
            if opportunity_update is not None:
                subrequests.append(opportunity_update)
            outbox_enqueue_salesforce(
                operation="order.fulfillment.activated",
                record_key=_record_key(run),
                subrequests=subrequests,
            )
            run.salesforce_updated_at = now

        if run.activated_notified_at is None and run.user_id is not None:
            notification_create(
                user_id=run.user_id,
                type=NotificationType.ORDER_ACTIVATED,
                source=NotificationSource.SALESFORCE,
                source_id=run.salesforce_order_id,
                context={"order_number": order.order_number, "service_name": _plan_name(order)},
            )
            run.activated_notified_at = now
        run.status = FulfillmentRun.Status.SUCCEEDED
        run.finished_at = now
        run.claimed_until = None
        _log(run, STEP_COMPLETE, "succeeded", whmcs_service_id=run.whmcs_service_id)
        _save(
            run,
            "status",
            "finished_at",
            "claimed_until",
            "salesforce_updated_at",
            "activated_notified_at",
            "steps",
        )
        if run.user_id is not None:
            transaction.on_commit(partial(_sync_billing, run.user_id))
    logger.info(
        "Fulfillment %s: Salesforce Order %s activated (WHMCS order %s, service %s)",
        run.pk,
        run.salesforce_order_id,
        run.whmcs_order_id,
        run.whmcs_service_id,
        extra=_ids(run),
    )


def _fail(run: FulfillmentRun, step: str, code: str, message: str) -> None:
    """Failed: error code, message and time on the run, the portal Order and (outbox) Salesforce."""
    now = timezone.now()
    with transaction.atomic():
        run.status = FulfillmentRun.Status.FAILED
        run.error_code = code
        run.error_message = message
        run.failed_at = now
        run.finished_at = now
        run.claimed_until = None
        _log(run, step, "failed", error_code=code, error=message)
        _save(
            run, "status", "error_code", "error_message", "failed_at", "finished_at", "claimed_until", "steps"
        )

        order = Order.objects.select_for_update().filter(salesforce_id=run.salesforce_order_id).first()
        if order is not None:
            order.activation_status = ActivationStatus.FAILED
            order.activation_error_code = code[:100]
            order.activation_error_message = message
            order.activation_error_at = now
            order.save(
                update_fields=[
                    "activation_status",
                    "activation_error_code",
                    "activation_error_message",
                    "activation_error_at",
                    "updated_at",
                ]
            )
            dashboard_cache_invalidate(order.user_id)
        if code != "ORDER_NOT_FOUND":
            opportunity = order.opportunity if order is not None else None
            if opportunity is None and run.salesforce_opportunity_id:
                opportunity = (
                    Opportunity.objects.select_for_update()
                    .filter(salesforce_id=run.salesforce_opportunity_id)
                    .first()
                )
            opportunity_update = opportunity_void_for_failed_fulfillment(
                opportunity=opportunity, salesforce_id=run.salesforce_opportunity_id
            )
            subrequests = [
                order_activation_failed_subrequest(
                    salesforce_order_id=run.salesforce_order_id,
                    error_code=code,
                    error_message=message,
                    failed_at=now,
                )
            ]
            if opportunity_update is not None:
                subrequests.append(opportunity_update)
            outbox_enqueue_salesforce(
                operation="order.fulfillment.failed", record_key=_record_key(run), subrequests=subrequests
            )
        user_id = run.user_id or (order.user_id if order is not None else None)
        if user_id is not None:
            notification_create(
                user_id=user_id,
                type=NotificationType.ORDER_FAILED,
                source=NotificationSource.SALESFORCE,
                source_id=run.salesforce_order_id,
                context={"order_number": order.order_number if order is not None else ""},
            )
    logger.warning(
        "Fulfillment %s of Salesforce Order %s failed in %s: %s %s",
        run.pk,
        run.salesforce_order_id,
        step,
        code,
        message,
        extra={**_ids(run), "error_code": code},
    )


def _release(run: FulfillmentRun, step: str, exc: Exception, delay: timedelta) -> None:
    """Queue the run again after a transient error; the task retries it after ``delay``."""
    run.status = FulfillmentRun.Status.PENDING
    run.next_attempt_at = timezone.now() + delay
    run.claimed_until = None
    _log(run, step, "retrying", error=str(exc), retry_in_seconds=int(delay.total_seconds()))
    _save(run, "status", "next_attempt_at", "claimed_until", "steps")
    logger.warning(
        "Fulfillment %s of Salesforce Order %s: transient error in %s, retry in %ss: %s",
        run.pk,
        run.salesforce_order_id,
        step,
        int(delay.total_seconds()),
        exc,
        extra=_ids(run),
    )


def _sync_billing(user_id: int) -> None:
    from apps.billing.tasks import sync_customer_billing_task

    try:
        sync_customer_billing_task.delay(user_id)
    except Exception:
        logger.warning(
            "Could not queue the billing sync of user %s; the hourly sync will", user_id, exc_info=True
        )


# --- helpers --------------------------------------------------------------------------------------


def _log(run: FulfillmentRun, step: str, status: str, **detail: Any) -> None:
    entry = {
        "step": step,
        "status": status,
        "at": timezone.now().isoformat(),
        "attempt": run.attempts,
        **detail,
    }
    run.steps = [*run.steps, entry]


def _save(run: FulfillmentRun, *fields: str) -> None:
    """Save only the task's columns: the event handler may record a new IdemKey meanwhile."""
    run.save(update_fields=[*fields, "updated_at"])


def _ids(run: FulfillmentRun) -> dict[str, Any]:
    """Structured log fields: the records involved in every system."""
    return {
        "fulfillment_run_id": run.pk,
        "salesforce_order_id": run.salesforce_order_id,
        "salesforce_account_id": run.salesforce_account_id or None,
        "whmcs_client_id": run.whmcs_client_id,
        "whmcs_order_id": run.whmcs_order_id,
        "whmcs_service_id": run.whmcs_service_id,
    }


def _record_key(run: FulfillmentRun) -> str:
    if run.salesforce_account_id:
        return account_record_key(run.salesforce_account_id)
    return f"Order:{run.salesforce_order_id}"


def _plan_name(order: Order) -> str:
    items = list(order.items.select_related("product"))
    plans = [item.product.name for item in items if item.product.item_class == ItemClass.PLAN]
    return (plans or [item.product.name for item in items] or [""])[0]
