"""What the org has, from its describe calls, cached: reads that select a field the org may lack
(``field_map.OPTIONAL_FIELDS``) describe the object once and select only what it has.

The describe of an object is kept in the shared cache for ``DESCRIBE_CACHE_SECONDS``, so a field an
administrator adds is picked up within that time; a read that still meets ``INVALID_FIELD`` (a
field deleted since) drops the cached describe and tries once more (``forget``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache

from apps.integrations.salesforce.field_map import OPTIONAL_FIELDS, FieldMap

if TYPE_CHECKING:
    from apps.integrations.salesforce.gateway import SalesforceGateway

logger = logging.getLogger(__name__)

DESCRIBE_CACHE_SECONDS = 3600


def _cache_key(sobject: str) -> str:
    config = settings.SALESFORCE
    return f"salesforce:describe:v1:{config.get('LOGIN_URL', '')}:{config.get('API_VERSION', '')}:{sobject}"


def field_names(gateway: SalesforceGateway, sobject: str) -> frozenset[str]:
    """The lower-cased API names of the fields ``sobject`` has in the org (cached)."""
    key = _cache_key(sobject)
    cached: list[str] | None = cache.get(key)
    if cached is None:
        describe: dict[str, Any] = gateway.describe(sobject)
        cached = sorted(str(item.get("name", "")).lower() for item in describe.get("fields", []))
        cache.set(key, cached, DESCRIBE_CACHE_SECONDS)
    return frozenset(cached)


def forget(sobject: str) -> None:
    """Drop the cached describe of ``sobject`` (the org's schema changed under us)."""
    cache.delete(_cache_key(sobject))


def available_attributes(gateway: SalesforceGateway, field_map: FieldMap, sobject: str) -> dict[str, str]:
    """The mapped attributes of ``sobject`` to select: ``{attribute: api_name}``, without the
    optional ones whose field the org lacks. Objects without optional attributes cost no call."""
    attributes = field_map.attributes(sobject)
    optional = OPTIONAL_FIELDS.get(sobject, frozenset())
    if not optional:
        return attributes
    present = field_names(gateway, sobject)
    missing = sorted(name for name in optional if attributes[name].lower() not in present)
    if missing:
        logger.info(
            "%s has no %s; reading it without them",
            sobject,
            ", ".join(attributes[name] for name in missing),
        )
    return {name: api_name for name, api_name in attributes.items() if name not in missing}
