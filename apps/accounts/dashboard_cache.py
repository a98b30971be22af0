"""A short-lived, shared cache of each customer's dashboard, dropped by every write that changes it.

The dashboard (``GET /api/me/status``) is the portal's hottest read and changes far less often
than it is read, so its rendered JSON is kept for ``DASHBOARD_CACHE_SECONDS`` per customer,
language and day. Services that change what it shows (notifications, orders, profile mirrors,
residence cards, billing data) call :func:`dashboard_cache_invalidate`, which takes effect when
their transaction commits.

Invalidation is by generation: each customer has a generation token, every cached payload is
stored with the token it was built under and served only while that token is current, and
invalidating deletes the token. A request that read the database before a write committed may
store its (old) payload afterwards, but with the old token, which never matches again (a new
token is a new random value); so a write is never hidden by the cache, only the TTL bounds what
no service reports (time passing: an invoice becoming due, a notification expiring).

The cache must be shared by every process (Redis); with a per-process cache (the embedded
default), a worker's write could not reach the web processes, so the setting defaults to 0 (off)
there. A Redis outage makes every request a miss: the dashboard is then read from the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone, translation


def _generation_key(user_id: int) -> str:
    return f"dashboard:generation:{user_id}"


def dashboard_cache_invalidate(user_ids: int | Iterable[int]) -> None:
    """Forget the cached dashboards of these customers once the current transaction commits."""
    ids = {user_ids} if isinstance(user_ids, int) else set(user_ids)
    if not ids or not settings.DASHBOARD_CACHE_SECONDS:
        return
    keys = [_generation_key(user_id) for user_id in ids]
    transaction.on_commit(lambda: cache.delete_many(keys))


def dashboard_cached(user_id: int, view: str, build: Callable[[], bytes]) -> bytes:
    """``build()``'s rendered payload for this customer, from the cache when a fresh copy is there.

    ``view`` names what is cached (``status``, ``summary``); the key also varies by the active
    language (the payload holds translated text) and the local date (due and overdue flags). The
    copy is stored with the generation it was built under, so a hit is one round trip to Redis
    (the generation and the copy together).
    """
    timeout = settings.DASHBOARD_CACHE_SECONDS
    if not timeout:
        return build()
    generation_key = _generation_key(user_id)
    key = f"dashboard:{user_id}:{view}:{translation.get_language()}:{timezone.localdate()}"
    found = cache.get_many([generation_key, key])
    generation = found.get(generation_key)
    copy = found.get(key)
    if generation is not None and isinstance(copy, tuple) and copy[0] == generation:
        return bytes(copy[1])
    if generation is None:
        generation = uuid.uuid4().hex
        if not cache.add(generation_key, generation, timeout=timeout * 10):
            generation = cache.get(generation_key)  # another request's, set in between
            if generation is None:  # The cache is unavailable: read the database every time.
                return build()
    payload = build()
    cache.set(key, (generation, payload), timeout=timeout)
    return payload
