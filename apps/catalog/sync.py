"""Catalog sync: Product2 and its standard price, pulled from Salesforce into ``Product``
(incremental on ``SystemModstamp``, see ``apps.integrations.salesforce.sync``), then every
active product's price compared with WHMCS's (``apps.catalog.pricing``)."""

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
from apps.integrations.salesforce import describe
from apps.integrations.salesforce.exceptions import SalesforceMalformedRequest
from apps.integrations.salesforce.field_map import FieldMap, get_field_map, parse_salesforce_datetime
from apps.integrations.salesforce.gateway import SalesforceGateway, get_gateway, soql_literal
from apps.integrations.salesforce.sync import SyncReport, since_clause
from apps.integrations.whmcs.exceptions import WhmcsError

logger = logging.getLogger(__name__)


def sync_catalog(
    *, gateway: SalesforceGateway | None = None, full: bool = False, compare_prices: bool = True
) -> SyncReport:
    """Mirror Product2 (and its standard price) into ``Product``; invalidates the catalog cache.

    Then, with ``compare_prices``, compares every active product's price with WHMCS and records
    the differences (``PriceMismatch``). WHMCS being unavailable does not fail the sync: the
    previous comparison stays until the next run."""
    field_map = get_field_map()
    gateway = gateway or get_gateway()
    cursor = None if full else Product.objects.aggregate(cursor=Max("salesforce_modified_at"))["cursor"]
    records = _changed_products(gateway, field_map, cursor)
    prices = _standard_prices(gateway, field_map, [record["Id"] for record in records])

    report = SyncReport(fetched=len(records))
    with transaction.atomic():
        for record in records:
            values = _product_values(field_map, record)
            if not values.get("product_type"):
                report.unknown.append(record["Id"])
                logger.warning(
                    "Product2 %s has no product type (Product_Type__c or Product Family); skipped",
                    record["Id"],
                )
                continue
            price = prices.get(record["Id"])
            if price is None:
                report.unknown.append(record["Id"])
                logger.warning("Product2 %s has no active standard price; not offered", record["Id"])
            defaults = {
                "name": values.get("name") or "",
                "sku": values.get("sku") or "",
                "description": values.get("description") or "",
                "product_type": values["product_type"],
                "item_class": values["item_class"],
                "billing_cycle": values["billing_cycle"],
                "whmcs_product_id": int(values["whmcs_product_id"])
                if values.get("whmcs_product_id")
                else None,
                "config_options": _json_object(values.get("config_options")),
                "eligibility_offering": values.get("eligibility_offering") or "",
                "is_family_discount": bool(values.get("is_family_discount")),
                "display_order": int(values.get("display_order") or 0),
                "price": price if price is not None else Decimal("0"),
                "is_active": bool(values.get("is_active")) and price is not None,
                "salesforce_modified_at": parse_salesforce_datetime(values.get("modified_at")),
                "synced_at": timezone.now(),
            }
            _, created = Product.objects.update_or_create(salesforce_id=record["Id"], defaults=defaults)
            if created:
                report.created += 1
            else:
                report.updated += 1
        if records:
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


def _changed_products(gateway: SalesforceGateway, field_map: FieldMap, cursor: Any) -> list[dict]:
    """Product2 records changed since ``cursor``, selecting the optional fields the org has; a
    field deleted since the org was described is noticed (``INVALID_FIELD``) and described again."""
    for attempt in (1, 2):
        product_fields = describe.available_attributes(gateway, field_map, "Product2")
        modstamp = product_fields["modified_at"]
        soql = (
            f"SELECT Id, {', '.join(sorted(set(product_fields.values())))} FROM Product2"
            f"{since_clause(modstamp, cursor)} ORDER BY {modstamp}"
        )
        try:
            return gateway.query(soql)
        except SalesforceMalformedRequest as exc:
            if exc.error_code != "INVALID_FIELD" or attempt == 2:
                raise
            describe.forget("Product2")
    raise AssertionError("unreachable")  # pragma: no cover


def _product_values(field_map: FieldMap, record: dict) -> dict[str, Any]:
    """The portal's values of a Product2 record; the product type falls back to the standard
    Product Family when the org has no Product_Type__c (or leaves it empty)."""
    family = field_map.field("Product2", "product_family")
    values = field_map.from_record("Product2", {key: value for key, value in record.items() if key != family})
    if not values.get("product_type"):
        try:
            values["product_type"] = field_map.from_salesforce(
                "Product2", "product_family", record.get(family)
            )
        except ValueError:
            values["product_type"] = ""
    return values


def _standard_prices(
    gateway: SalesforceGateway, field_map: FieldMap, product_ids: list[str]
) -> dict[str, Decimal]:
    """Each product's active price in the org's standard price book."""
    if not product_ids:
        return {}
    is_standard = field_map.field("Pricebook2", "is_standard")
    books = gateway.query(f"SELECT Id FROM Pricebook2 WHERE {is_standard} = true LIMIT 1")
    if not books:
        return {}
    pricebook_id, product_id, unit_price, is_active = field_map.fields(
        "PricebookEntry", "pricebook_id", "product_id", "unit_price", "is_active"
    )
    prices: dict[str, Decimal] = {}
    for start in range(0, len(product_ids), 200):
        ids = ", ".join(soql_literal(value) for value in product_ids[start : start + 200])
        soql = (
            f"SELECT {product_id}, {unit_price} FROM PricebookEntry WHERE {is_active} = true"
            f" AND {pricebook_id} = {soql_literal(books[0]['Id'])} AND {product_id} IN ({ids})"
        )
        for row in gateway.query(soql):
            prices[row[product_id]] = Decimal(str(row[unit_price]))
    return prices


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
