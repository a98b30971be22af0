"""Reconciliation jobs: pull what changed in Salesforce since the last run into the mirror.

Both jobs are incremental on ``SystemModstamp``. The cursor is not stored separately: it is the
newest ``salesforce_modified_at`` already mirrored, so it can never disagree with the data. The
comparison is inclusive (``>=``) and the upserts idempotent, so records sharing the cursor's
timestamp are never skipped. All Salesforce calls happen before the DB transaction opens.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from apps.accounts.models import CustomerProfile, IdMapping
from apps.accounts.services import customer_profile_apply_account_fields, parse_salesforce_datetime
from apps.catalog.models import Product
from apps.catalog.services import catalog_cache_invalidate
from apps.integrations.models import OutboxEntry
from apps.integrations.salesforce.field_map import FieldMap, get_field_map
from apps.integrations.salesforce.gateway import SalesforceGateway, get_gateway, soql_literal

logger = logging.getLogger(__name__)


@dataclass
class SyncReport:
    fetched: int = 0
    created: int = 0
    updated: int = 0
    unknown: list[str] = field(default_factory=list)


def _since_clause(field_name: str, cursor: datetime | None) -> str:
    if cursor is None:
        return ""
    return f" WHERE {field_name} >= {cursor.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"


# --- Catalog ------------------------------------------------------------------------------------


def sync_catalog(*, gateway: SalesforceGateway | None = None, full: bool = False) -> SyncReport:
    """Mirror Product2 (and its standard price) into ``Product``; invalidates the catalog cache."""
    field_map = get_field_map()
    gateway = gateway or get_gateway()
    cursor = None if full else Product.objects.aggregate(cursor=Max("salesforce_modified_at"))["cursor"]
    product_fields = field_map.attributes("Product2")
    modstamp = product_fields["modified_at"]
    soql = (
        f"SELECT Id, {', '.join(sorted(set(product_fields.values())))} FROM Product2"
        f"{_since_clause(modstamp, cursor)} ORDER BY {modstamp}"
    )
    records = gateway.query(soql)
    prices = _standard_prices(gateway, field_map, [record["Id"] for record in records])

    report = SyncReport(fetched=len(records))
    with transaction.atomic():
        for record in records:
            values = field_map.from_record("Product2", record)
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
    return report


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


# --- Account status reconciliation -----------------------------------------------------------

ACCOUNT_STATUS_ATTRIBUTES = (
    "customer_number",
    "portal_status",
    "internet_eligibility",
    "internet_eligibility_status",
    "internet_eligibility_requested_at",
    "internet_eligibility_checked_at",
    "internet_eligibility_notes",
    "internet_eligibility_case_id",
    "id_verification_status",
    "id_verification_submitted_at",
    "id_verification_verified_at",
    "id_verification_note",
    "id_verification_rejection_message",
    "modified_at",
)


def reconcile_account_statuses(*, gateway: SalesforceGateway | None = None, full: bool = False) -> SyncReport:
    """Pull Accounts changed since the newest mirrored one into their customers' profiles.

    Catches any status change whose platform event was missed. Accounts without a portal user
    are ignored (the org has customers who never signed up).
    """
    field_map = get_field_map()
    gateway = gateway or get_gateway()
    cursor = (
        None if full else CustomerProfile.objects.aggregate(cursor=Max("salesforce_modified_at"))["cursor"]
    )
    api_names = field_map.fields("Account", *ACCOUNT_STATUS_ATTRIBUTES)
    modstamp = field_map.field("Account", "modified_at")
    soql = (
        f"SELECT Id, {', '.join(api_names)} FROM Account{_since_clause(modstamp, cursor)} ORDER BY {modstamp}"
    )
    records = gateway.query(soql)

    report = SyncReport(fetched=len(records))
    account_ids = [record["Id"] for record in records]
    users_by_account = dict(
        IdMapping.objects.filter(salesforce_account_id__in=account_ids).values_list(
            "salesforce_account_id", "user_id"
        )
    )
    # A change the portal made and still owes Salesforce is newer than what Salesforce returned:
    # leave those accounts for the next run, after the outbox delivered.
    owed = set(
        OutboxEntry.objects.filter(
            record_key__in=[f"Account:{account_id}" for account_id in users_by_account],
            status__in=[OutboxEntry.Status.PENDING, OutboxEntry.Status.IN_PROGRESS],
        ).values_list("record_key", flat=True)
    )
    with transaction.atomic():
        for record in records:
            user_id = users_by_account.get(record["Id"])
            if user_id is None or f"Account:{record['Id']}" in owed:
                continue
            values = field_map.from_record("Account", record)
            changed = customer_profile_apply_account_fields(user_id=user_id, values=values)
            if changed:
                report.updated += 1
    logger.info("Account reconciliation: %s fetched, %s profiles changed", report.fetched, report.updated)
    return report
