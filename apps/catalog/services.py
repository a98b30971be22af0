"""Writes to the catalog mirror."""

from django.core.cache import cache

CATALOG_CACHE_VERSION_KEY = "catalog:version"


def catalog_cache_invalidate() -> None:
    """Make every cached catalog response stale at once (cache keys embed the version)."""
    try:
        cache.incr(CATALOG_CACHE_VERSION_KEY)
    except ValueError:
        cache.set(CATALOG_CACHE_VERSION_KEY, 2, timeout=None)
