"""A Redis cache that degrades instead of failing requests when Redis is unreachable.

Everything the portal caches can be recomputed from the database (catalog pages, throttle
counters, short-lived marks), so a Redis outage should cost speed, not availability: reads and
writes fail fast (short socket timeouts), log once in a while, and behave as a cache miss.
``/readyz`` still reports the cache as degraded, because its probe value does not come back.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

T = TypeVar("T")
_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)
_WARN_EVERY_SECONDS = 60.0


def _degrading(default: Callable[..., Any]) -> Callable[[Callable[..., T]], Callable[..., T]]:
    def decorate(method: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(method)
        def wrapper(self: DegradingRedisCache, *args: Any, **kwargs: Any) -> T:
            try:
                return method(self, *args, **kwargs)
            except _UNAVAILABLE as exc:
                self._warn(method.__name__, exc)
                return default(*args, **kwargs)

        return wrapper

    return decorate


class SharedClientRedisCacheClient(RedisCacheClient):
    """Django's client, with one ``redis.Redis`` per connection pool instead of a new one per
    operation: building one fills its table of ~170 response callbacks, about as long as the
    round trip to Redis itself, and a signed-in request makes two or three operations. A
    ``redis.Redis`` is thread-safe and its pool reconnects after a fork."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class DegradingRedisCache(RedisCache):
    _last_warning = 0.0

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient

    def _warn(self, operation: str, exc: BaseException) -> None:
        now = time.monotonic()
        if now - DegradingRedisCache._last_warning >= _WARN_EVERY_SECONDS:
            DegradingRedisCache._last_warning = now
            logger.warning(
                "Redis cache unavailable (%s: %s); serving without cache", operation, type(exc).__name__
            )

    @_degrading(lambda key, default=None, version=None: default)
    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return super().get(key, default, version)

    @_degrading(lambda *args, **kwargs: None)
    def set(self, *args: Any, **kwargs: Any) -> None:
        return super().set(*args, **kwargs)

    @_degrading(lambda *args, **kwargs: False)
    def add(self, *args: Any, **kwargs: Any) -> bool:
        return super().add(*args, **kwargs)

    @_degrading(lambda *args, **kwargs: False)
    def touch(self, *args: Any, **kwargs: Any) -> bool:
        return super().touch(*args, **kwargs)

    @_degrading(lambda *args, **kwargs: False)
    def delete(self, *args: Any, **kwargs: Any) -> bool:
        return super().delete(*args, **kwargs)

    @_degrading(lambda *args, **kwargs: {})
    def get_many(self, *args: Any, **kwargs: Any) -> dict[Any, Any]:
        return super().get_many(*args, **kwargs)

    @_degrading(lambda *args, **kwargs: [])
    def set_many(self, *args: Any, **kwargs: Any) -> list[Any]:
        return super().set_many(*args, **kwargs)

    @_degrading(lambda *args, **kwargs: None)
    def delete_many(self, *args: Any, **kwargs: Any) -> None:
        return super().delete_many(*args, **kwargs)

    @_degrading(lambda *args, **kwargs: False)
    def has_key(self, *args: Any, **kwargs: Any) -> bool:
        return super().has_key(*args, **kwargs)

    def clear(self) -> None:
        try:
            super().clear()
        except _UNAVAILABLE as exc:
            self._warn("clear", exc)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        # A missing key raises ValueError (callers handle it); an outage looks the same to them.
        try:
            return super().incr(key, delta, version)
        except _UNAVAILABLE as exc:
            self._warn("incr", exc)
            raise ValueError("cache unavailable") from exc
