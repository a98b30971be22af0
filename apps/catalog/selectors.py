"""Reads of the catalog mirror: the products a customer may buy, per product type.

Two rules decide what a customer sees:

* internet plans: a customer whom an agent found eligible sees only the plans sold for their
  eligibility offering (e.g. "Home 1G"), plus plans that name no offering; anyone else (anonymous,
  not yet checked, pending, ineligible) sees every plan;
* SIM family-discount items: only for customers who already have an Active SIM service.

Rendered listings (the response's JSON bytes) are cached for ``settings.CATALOG_CACHE_SECONDS``. A cache key holds the catalog
version (bumped by ``catalog_cache_invalidate`` after every sync, which makes all cached
listings stale at once) and only what the listing depends on: product type, offering and the
family-discount flag. It never holds a user, so customers in the same situation share entries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.utils import translation

from apps.accounts.models import CustomerProfile, EligibilityStatus, User
from apps.billing.selectors import whmcs_service_has_active
from apps.catalog.models import ItemClass, Product, ProductType
from apps.catalog.services import CATALOG_CACHE_VERSION_KEY


@dataclass(frozen=True)
class CatalogEligibility:
    """The customer's internet eligibility as mirrored from their Salesforce Account."""

    status: str
    offering: str

    @property
    def filters_plans(self) -> bool:
        return self.status == EligibilityStatus.ELIGIBLE and bool(self.offering)


@dataclass(frozen=True)
class CatalogViewer:
    """Who is browsing, reduced to the facts the catalog depends on.

    ``eligibility`` is None for anonymous visitors and users without a customer profile.
    """

    eligibility: CatalogEligibility | None = None
    has_active_sim: bool = False

    @property
    def internet_offering(self) -> str:
        """The offering internet plans are filtered to, or "" for no filtering."""
        if self.eligibility is not None and self.eligibility.filters_plans:
            return self.eligibility.offering
        return ""


def catalog_viewer_get(*, user: User | None, product_type: str) -> CatalogViewer:
    """The viewer facts for one product type; only the queries that type needs are run."""
    if user is None:
        return CatalogViewer()
    eligibility = None
    if product_type == ProductType.INTERNET:
        row = (
            CustomerProfile.objects.filter(user=user)
            .values_list("internet_eligibility_status", "internet_eligibility")
            .first()
        )
        if row is not None:
            eligibility = CatalogEligibility(status=row[0], offering=row[1])
    has_active_sim = product_type == ProductType.SIM and whmcs_service_has_active(
        user=user, product_type=ProductType.SIM
    )
    return CatalogViewer(eligibility=eligibility, has_active_sim=has_active_sim)


def catalog_version() -> int:
    """The current catalog version; 1 until the first ``catalog_cache_invalidate``."""
    version = cache.get(CATALOG_CACHE_VERSION_KEY)
    return int(version) if version is not None else 1


def _cache_key(*, version: int, product_type: str, offering: str, include_family_discount: bool) -> str:
    # The offering is free text from Salesforce; hashing keeps the key short and free of spaces.
    offering_key = hashlib.sha256(offering.encode()).hexdigest()[:16] if offering else "all"
    family_key = "family" if include_family_discount else "nofamily"
    return f"catalog:v{version}:{product_type}:{offering_key}:{family_key}"


def _products_query(*, product_type: str, offering: str, include_family_discount: bool) -> list[Product]:
    products = Product.objects.filter(product_type=product_type, is_active=True)
    if offering:
        products = products.filter(
            ~Q(item_class=ItemClass.PLAN) | Q(eligibility_offering=offering) | Q(eligibility_offering="")
        )
    if not include_family_discount:
        products = products.filter(is_family_discount=False)
    return list(products.order_by("display_order", "name", "pk"))


def catalog_products_by_item_class(
    *, product_type: str, offering: str = "", include_family_discount: bool = False
) -> dict[str, list[Product]]:
    """The active products of a type, grouped by item class (every class present, maybe empty),
    read from the database; the API caches the rendered listing (:func:`catalog_listing_cached`).

    ``offering`` filters internet plans (see the module docstring); ``include_family_discount``
    shows SIM family-discount items.
    """
    offering, include_family_discount = _applicable(product_type, offering, include_family_discount)
    groups: dict[str, list[Product]] = {item_class: [] for item_class in ItemClass.values}
    for product in _products_query(
        product_type=product_type, offering=offering, include_family_discount=include_family_discount
    ):
        groups[product.item_class].append(product)
    return groups


def _applicable(product_type: str, offering: str, include_family_discount: bool) -> tuple[str, bool]:
    """Arguments that do not apply to the product type are ignored, so they do not split the cache."""
    if product_type != ProductType.INTERNET:
        offering = ""
    if product_type != ProductType.SIM:
        include_family_discount = True
    return offering, include_family_discount


@dataclass(frozen=True)
class CachedListing:
    """A rendered catalog response: its JSON bytes and their entity tag (quoted, strong)."""

    body: bytes
    etag: str


def catalog_listing_cached(
    *,
    product_type: str,
    offering: str = "",
    include_family_discount: bool = False,
    variant: str = "",
    render: Callable[[dict[str, list[Product]]], bytes],
) -> CachedListing:
    """The rendered listing (``render(groups)``), from the cache when a copy of the current
    catalog version is there.

    The cache holds the response's JSON bytes, not model objects, so a hit costs one cache read
    and no unpickling or serializing. ``variant`` names what else the response depends on (the
    viewer's eligibility); the active language is part of the key too.
    """
    offering, include_family_discount = _applicable(product_type, offering, include_family_discount)
    # Read the version before the products: a listing is then never older than its key says.
    key = _cache_key(
        version=catalog_version(),
        product_type=product_type,
        offering=offering,
        include_family_discount=include_family_discount,
    )
    variant_key = hashlib.sha256(variant.encode()).hexdigest()[:16] if variant else "-"
    key = f"{key}:{variant_key}:{translation.get_language()}:json"
    cached = cache.get(key)
    if isinstance(cached, tuple) and len(cached) == 2:
        return CachedListing(body=cached[0], etag=cached[1])
    body = render(
        catalog_products_by_item_class(
            product_type=product_type, offering=offering, include_family_discount=include_family_discount
        )
    )
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    cache.set(key, (body, etag), timeout=settings.CATALOG_CACHE_SECONDS)
    return CachedListing(body=body, etag=etag)
