"""Reconcile one customer's WHMCS billing records into the portal's mirror tables.

WHMCS is the system of record for services, invoices and payment methods; the dashboard reads
only the mirror, so a customer read never waits on WHMCS. All network calls happen first and
the mirror is replaced in one short transaction afterwards, so no database transaction (or
SQLite write lock) is ever held across a WHMCS call, and a failed fetch leaves the previous
mirror intact.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.dashboard_cache import dashboard_cache_invalidate
from apps.accounts.models import IdMapping
from apps.billing.models import WhmcsInvoice, WhmcsMirror, WhmcsPaymentMethod, WhmcsService
from apps.catalog.models import Product
from apps.integrations.whmcs.client import WhmcsClient, get_whmcs_client
from apps.integrations.whmcs.exceptions import WhmcsError
from apps.integrations.whmcs.types import WhmcsInvoiceRecord, WhmcsPayMethodRecord, WhmcsServiceRecord
from portal.exceptions import ConflictError, ServiceUnavailableError

logger = logging.getLogger(__name__)

_LAST_FOUR = re.compile(r"^[0-9]{4}$")
#: How long a ``CreateSsoToken`` link works (WHMCS: "valid for a maximum of 60 seconds").
SSO_LINK_LIFETIME = timedelta(seconds=60)


@dataclass(frozen=True)
class SyncResult:
    """What one sync did; ``skipped`` means the user has no WHMCS client to sync."""

    user_id: int
    whmcs_client_id: int | None
    services: int = 0
    invoices: int = 0
    payment_methods: int = 0
    deleted: int = 0
    skipped: bool = False


def sync_customer_billing(*, user_id: int, client: WhmcsClient | None = None) -> SyncResult:
    """Mirror the services, invoices and payment methods WHMCS holds for ``user_id``.

    Idempotent: rows are upserted by WHMCS id and rows WHMCS no longer returns are deleted, so
    running it twice gives the same mirror. Raises the client's ``WhmcsError`` subclasses
    (``WhmcsTransportError`` is retryable) before anything is written.
    """
    whmcs_client_id = (
        IdMapping.objects.filter(user_id=user_id, whmcs_client_id__isnull=False)
        .values_list("whmcs_client_id", flat=True)
        .first()
    )
    if whmcs_client_id is None:
        logger.debug("Billing sync skipped: user %s has no WHMCS client", user_id)
        return SyncResult(user_id=user_id, whmcs_client_id=None, skipped=True)

    whmcs = client or get_whmcs_client()
    services = whmcs.get_clients_products(whmcs_client_id)
    invoices = whmcs.get_invoices(whmcs_client_id)
    pay_methods = whmcs.get_pay_methods(whmcs_client_id)

    synced_at = timezone.now()
    with transaction.atomic():
        deleted = _replace_services(user_id, services, synced_at)
        deleted += _replace_invoices(user_id, invoices, synced_at)
        deleted += _replace_payment_methods(user_id, pay_methods, synced_at)
        dashboard_cache_invalidate(user_id)

    result = SyncResult(
        user_id=user_id,
        whmcs_client_id=whmcs_client_id,
        services=len(services),
        invoices=len(invoices),
        payment_methods=len(pay_methods),
        deleted=deleted,
    )
    logger.info(
        "Billing sync for user %s (WHMCS client %s): %d services, %d invoices, %d pay methods, %d removed",
        user_id,
        whmcs_client_id,
        result.services,
        result.invoices,
        result.payment_methods,
        result.deleted,
    )
    return result


def _products_by_whmcs_id(pids: Iterable[int]) -> dict[int, Product]:
    """Catalog products keyed by WHMCS pid; the lowest id wins if two share a pid."""
    products: dict[int, Product] = {}
    for product in Product.objects.filter(whmcs_product_id__in=set(pids)).order_by("-pk"):
        assert product.whmcs_product_id is not None
        products[product.whmcs_product_id] = product
    return products


def _replace_services(user_id: int, records: list[WhmcsServiceRecord], synced_at: datetime) -> int:
    products = _products_by_whmcs_id(record.pid for record in records)
    rows = []
    for record in records:
        product = products.get(record.pid)
        rows.append(
            {
                "whmcs_id": record.id,
                "product": product,
                "whmcs_product_id": record.pid,
                "whmcs_order_id": record.order_id,
                "name": record.name[:255],
                "product_type": product.product_type if product else "",
                "status": record.status,
                "billing_cycle": record.billing_cycle[:30],
                "recurring_amount": record.recurring_amount,
                "registered_on": record.registered_on,
                "next_due_on": record.next_due_on,
            }
        )
    return _replace_mirror(WhmcsService, user_id, rows, synced_at)


def _replace_invoices(user_id: int, records: list[WhmcsInvoiceRecord], synced_at: datetime) -> int:
    today = timezone.localdate()
    rows = []
    for record in records:
        issued_on = record.issued_on or today
        rows.append(
            {
                "whmcs_id": record.id,
                "number": record.number[:50],
                "status": record.status,
                "issued_on": issued_on,
                "due_on": record.due_on or issued_on,
                "paid_at": record.paid_at,
                "subtotal": record.subtotal,
                "tax": record.tax + record.tax2,
                "total": record.total,
                "currency_code": (record.currency_code or "JPY")[:3],
            }
        )
    return _replace_mirror(WhmcsInvoice, user_id, rows, synced_at)


def _replace_payment_methods(user_id: int, records: list[WhmcsPayMethodRecord], synced_at: datetime) -> int:
    rows = [
        {
            "whmcs_id": record.id,
            "type": record.type,
            "description": record.description[:255],
            "gateway_name": record.gateway_name[:100],
            "card_type": record.card_type[:50],
            "card_last_four": record.card_last_four if _LAST_FOUR.match(record.card_last_four) else "",
            "expires_on": record.expires_on,
            "bank_name": record.bank_name[:100],
        }
        for record in records
    ]
    return _replace_mirror(WhmcsPaymentMethod, user_id, rows, synced_at)


def _replace_mirror(
    model: type[WhmcsMirror],
    user_id: int,
    rows: list[dict[str, Any]],
    synced_at: datetime,
) -> int:
    """Make the user's mirror rows exactly ``rows``: one upsert by WHMCS id (a customer's hundreds
    of invoices in one statement), then delete the rows WHMCS no longer returns."""
    if rows:
        model._default_manager.bulk_create(
            [model(user_id=user_id, synced_at=synced_at, **row) for row in rows],
            update_conflicts=True,
            unique_fields=["whmcs_id"],
            update_fields=[*sorted(rows[0].keys() - {"whmcs_id"}), "user", "synced_at"],
        )
    deleted, _ = (
        model._default_manager.filter(user_id=user_id)
        .exclude(whmcs_id__in=[row["whmcs_id"] for row in rows])
        .delete()
    )
    return deleted


# --- Adding a payment method ------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentMethodLink:
    """A single-use link that signs the customer into WHMCS on its add-payment-method page."""

    url: str
    expires_at: datetime


def _whmcs_client_id_or_refuse(user_id: int) -> int:
    whmcs_client_id = (
        IdMapping.objects.filter(user_id=user_id, whmcs_client_id__isnull=False)
        .values_list("whmcs_client_id", flat=True)
        .first()
    )
    if whmcs_client_id is None:
        raise ConflictError(
            _("Your billing account is still being set up. Please try again in a minute."),
            code="billing_account_not_ready",
        )
    return whmcs_client_id


def _billing_unavailable(error: WhmcsError, user_id: int, what: str) -> ServiceUnavailableError:
    logger.warning("WHMCS %s for user %s failed: %s", what, user_id, type(error).__name__)
    return ServiceUnavailableError(
        _("Billing is unavailable right now. Please try again in a few minutes."), code="billing_unavailable"
    )


def payment_method_add_link_create(*, user_id: int, client: WhmcsClient | None = None) -> PaymentMethodLink:
    """A WHMCS single sign-on link (``CreateSsoToken``, ``sso:custom_redirect``) to the client
    area page where the customer stores a card (``WHMCS_ADD_PAYMENT_METHOD_PATH``).

    Card data never passes through the portal: the customer enters it in WHMCS, then calls
    :func:`payment_methods_refresh` on return. The link is the customer's own session into
    WHMCS, so it is issued only to the signed-in owner of the WHMCS client and never logged.
    Raises ``ConflictError`` (``billing_account_not_ready``) without a WHMCS client and
    ``ServiceUnavailableError`` (``billing_unavailable``) when WHMCS fails.
    """
    whmcs_client_id = _whmcs_client_id_or_refuse(user_id)
    issued_at = timezone.now()
    try:
        token = (client or get_whmcs_client()).create_sso_token(
            whmcs_client_id, redirect_path=settings.WHMCS["ADD_PAYMENT_METHOD_PATH"]
        )
    except WhmcsError as error:
        raise _billing_unavailable(error, user_id, "CreateSsoToken") from None
    logger.info("WHMCS add-payment-method link issued for user %s", user_id)
    return PaymentMethodLink(url=token.redirect_url, expires_at=issued_at + SSO_LINK_LIFETIME)


def payment_methods_refresh(*, user_id: int, client: WhmcsClient | None = None) -> SyncResult:
    """Re-read the customer's WHMCS records now (after they added a card in WHMCS), so the
    dashboard and order placement see the new payment method without waiting for the periodic
    sync. Same refusals as :func:`payment_method_add_link_create`."""
    _whmcs_client_id_or_refuse(user_id)
    try:
        return sync_customer_billing(user_id=user_id, client=client)
    except WhmcsError as error:
        raise _billing_unavailable(error, user_id, "billing refresh") from None
