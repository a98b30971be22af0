"""Billed as quoted: compare each product's Salesforce price with WHMCS's own pricing.

Salesforce's standard price book is what the customer is quoted; WHMCS bills from its product
catalog unless AddOrder carries ``priceoverride`` (fulfillment always sends the quote, see
``apps.checkout.fulfillment``). The two catalogs are kept by different people and drift, so the
catalog sync compares them after every run and keeps one :class:`PriceMismatch` row per product
and kind of difference, shown to supervisors in the console. WHMCS is read first (one
``GetProducts`` call), then the rows are replaced in one short transaction.

What is compared, per active product with a price:

* ``not_mapped`` / ``product_missing``: no WHMCS product id, or WHMCS has no such product;
* ``currency_missing``: the WHMCS product has no pricing in the product's currency;
* ``cycle_not_offered``: WHMCS prices the product's billing cycle at ``-1.00`` (a one-time
  product is priced in WHMCS's ``monthly`` column, as WHMCS stores one-time prices);
* ``price``: the cycle price differs from the Salesforce price;
* ``setup_fee``: WHMCS adds a setup fee to the first invoice that the quote does not show.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apps.catalog.models import BillingCycle, PriceMismatch, Product
from apps.integrations.whmcs.client import WhmcsClient, get_whmcs_client
from apps.integrations.whmcs.types import WhmcsProductRecord

logger = logging.getLogger(__name__)

#: The WHMCS pricing column of each catalog billing cycle.
WHMCS_PRICE_COLUMNS: dict[str, str] = {
    BillingCycle.MONTHLY: "monthly",
    BillingCycle.ANNUALLY: "annually",
    BillingCycle.ONE_TIME: "monthly",
}


@dataclass(frozen=True)
class _Difference:
    kind: str
    whmcs_price: Decimal | None = None
    whmcs_setup_fee: Decimal | None = None


def price_mismatches_refresh(*, client: WhmcsClient | None = None) -> int:
    """Compare every active product with WHMCS and make the mismatch rows match; returns how
    many mismatches there are now. Raises the client's ``WhmcsError`` (nothing is written then)."""
    products = list(Product.objects.filter(is_active=True).order_by("pk"))
    pids = sorted({product.whmcs_product_id for product in products if product.whmcs_product_id})
    whmcs_products = (
        {record.pid: record for record in (client or get_whmcs_client()).get_products(pids)} if pids else {}
    )

    now = timezone.now()
    found = {
        (product.pk, difference.kind): (product, difference)
        for product in products
        for difference in _differences(product, whmcs_products.get(product.whmcs_product_id or 0))
    }
    with transaction.atomic():
        existing = {(row.product_id, row.kind): row for row in PriceMismatch.objects.select_for_update()}
        for key, (product, difference) in found.items():
            row = existing.pop(key, None) or PriceMismatch(
                product=product, kind=difference.kind, first_seen_at=now
            )
            row.whmcs_product_id = product.whmcs_product_id
            row.billing_cycle = product.billing_cycle
            row.currency_code = product.currency_code
            row.salesforce_price = product.price
            row.whmcs_price = difference.whmcs_price
            row.whmcs_setup_fee = difference.whmcs_setup_fee
            row.checked_at = now
            row.save()
        if existing:
            PriceMismatch.objects.filter(pk__in=[row.pk for row in existing.values()]).delete()
    if found:
        logger.warning("Catalog prices: %d difference(s) between Salesforce and WHMCS", len(found))
    return len(found)


def _differences(product: Product, record: WhmcsProductRecord | None) -> list[_Difference]:
    if not product.whmcs_product_id:
        return [_Difference(PriceMismatch.Kind.NOT_MAPPED)]
    if record is None:
        return [_Difference(PriceMismatch.Kind.PRODUCT_MISSING)]
    pricing = next((p for p in record.pricing if p.currency.upper() == product.currency_code.upper()), None)
    if pricing is None:
        return [_Difference(PriceMismatch.Kind.CURRENCY_MISSING)]
    column = WHMCS_PRICE_COLUMNS.get(product.billing_cycle, product.billing_cycle)
    price = pricing.cycles.get(column)
    if price is None:
        return [_Difference(PriceMismatch.Kind.CYCLE_NOT_OFFERED)]
    setup_fee = pricing.setup_fees.get(column, Decimal("0"))
    differences = []
    if price != product.price:
        differences.append(
            _Difference(PriceMismatch.Kind.PRICE, whmcs_price=price, whmcs_setup_fee=setup_fee)
        )
    if setup_fee > 0:
        differences.append(
            _Difference(PriceMismatch.Kind.SETUP_FEE, whmcs_price=price, whmcs_setup_fee=setup_fee)
        )
    return differences
