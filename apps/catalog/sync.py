"""Catalog sync: Product2 and its standard price, read through the gateway
(``products_modified_since``, ``standard_prices``) into ``Product`` (incremental on
``SystemModstamp``, see ``apps.integrations.salesforce.sync``), then every active product's price
compared with WHMCS's (``apps.catalog.pricing``)."""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from apps.catalog.models import Product
from apps.catalog.pricing import price_mismatches_refresh
from apps.catalog.services import catalog_cache_invalidate
from apps.integrations.salesforce.gateway import SalesforceGateway, get_gateway
from apps.integrations.salesforce.sync import SyncReport
from apps.integrations.whmcs.exceptions import WhmcsError

logger = logging.getLogger(__name__)


def sync_catalog(
    *, gateway: SalesforceGateway | None = None, full: bool = False, compare_prices: bool = True
) -> SyncReport:
    """Mirror Product2 (and its standard price) into ``Product``; invalidates the catalog cache.

    Then, with ``compare_prices``, compares every active product's price with WHMCS and records
    the differences (``PriceMismatch``). WHMCS being unavailable does not fail the sync: the
    previous comparison stays until the next run."""
    gateway = gateway or get_gateway()
    cursor = None if full else Product.objects.aggregate(cursor=Max("salesforce_modified_at"))["cursor"]
    products = gateway.products_modified_since(cursor)
    prices = gateway.standard_prices([product.id for product in products])

    report = SyncReport(fetched=len(products))
    with transaction.atomic():
        for product in products:
            if not product.product_type:
                report.unknown.append(product.id)
                logger.warning(
                    "Product2 %s has no product type (Product_Type__c or Product Family); skipped", product.id
                )
                continue
            price = prices.get(product.id)
            if price is None:
                report.unknown.append(product.id)
                logger.warning("Product2 %s has no active standard price; not offered", product.id)
            defaults = {
                "name": product.name,
                "sku": product.sku,
                "description": product.description,
                "product_type": product.product_type,
                "item_class": product.item_class,
                "billing_cycle": product.billing_cycle,
                "whmcs_product_id": product.whmcs_product_id,
                "config_options": _json_object(product.config_options),
                "eligibility_offering": product.eligibility_offering,
                "is_family_discount": product.is_family_discount,
                "display_order": product.display_order,
                "price": price if price is not None else Decimal("0"),
                "is_active": product.is_active and price is not None,
                "salesforce_modified_at": product.modified_at,
                "synced_at": timezone.now(),
            }
            _, created = Product.objects.update_or_create(salesforce_id=product.id, defaults=defaults)
            if created:
                report.created += 1
            else:
                report.updated += 1
        if products:
            transaction.on_commit(catalog_cache_invalidate)
    logger.info(
        "Catalog sync: %s fetched, %s created, %s updated", report.fetched, report.created, report.updated
    )
    if compare_prices:
        try:
            price_mismatches_refresh()
        except WhmcsError as exc:
            logger.warning("Catalog sync: WHMCS prices not compared (%s)", type(exc).__name__)
    return report


def _json_object(value: Any) -> dict[str, Any]:
    if not value:
        return {}
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        logger.warning("Ignoring config options that are not JSON")
        return {}
    return parsed if isinstance(parsed, dict) else {}
