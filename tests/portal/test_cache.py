"""With Redis down the cache degrades to misses: every operation answers as for a missing key,
none raises or waits, the outage is logged once a minute, and the writes that drop cached pages
still commit."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import BaseCache, caches
from django.test import override_settings
from pytest_django import DjangoCaptureOnCommitCallbacks
from rest_framework.test import APIClient

from apps.catalog.services import catalog_cache_invalidate
from apps.notifications.models import NotificationType
from apps.notifications.services import notification_create
from portal.cache import DegradingRedisCache
from tests.factories import CustomerFactory
from tests.helpers import UNREACHABLE_REDIS


@pytest.fixture
def redis_down() -> Iterator[BaseCache]:
    """The portal's cache as production configures it, with nothing listening where Redis was."""
    with override_settings(CACHES=UNREACHABLE_REDIS):
        cache = caches["default"]
        assert isinstance(cache, DegradingRedisCache)
        yield cache


@pytest.mark.parametrize(
    ("operation", "answer"),
    [
        pytest.param(lambda cache: cache.get("k", "fallback"), "fallback", id="get"),
        pytest.param(lambda cache: cache.set("k", 1), None, id="set"),
        pytest.param(lambda cache: cache.add("k", 1), False, id="add"),
        pytest.param(lambda cache: cache.touch("k"), False, id="touch"),
        pytest.param(lambda cache: cache.delete("k"), False, id="delete"),
        pytest.param(lambda cache: cache.get_many(["k", "j"]), {}, id="get_many"),
        pytest.param(lambda cache: cache.set_many({"k": 1, "j": 2}), [], id="set_many"),
        pytest.param(lambda cache: cache.delete_many(["k", "j"]), None, id="delete_many"),
        pytest.param(lambda cache: cache.has_key("k"), False, id="has_key"),
        pytest.param(lambda cache: cache.clear(), None, id="clear"),
    ],
)
def test_every_operation_answers_as_for_a_missing_key(
    redis_down: BaseCache, operation: Callable[[BaseCache], Any], answer: Any
) -> None:
    assert operation(redis_down) == answer


def test_an_increment_is_refused_as_for_a_missing_key(redis_down: BaseCache) -> None:
    # Callers already handle ValueError, Django's answer for a missing key.
    with pytest.raises(ValueError, match="cache unavailable"):
        redis_down.incr("catalog:version")


def test_the_outage_is_logged_once_a_minute_not_on_every_call(
    redis_down: BaseCache, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(DegradingRedisCache, "_last_warning", -3600.0)  # The last warning: long ago.
    caplog.set_level(logging.WARNING, logger="portal.cache")

    redis_down.get("k")
    redis_down.set("k", 1)
    with pytest.raises(ValueError, match="cache unavailable"):
        redis_down.incr("k")

    assert [record.getMessage() for record in caplog.records] == [
        "Redis cache unavailable (get: ConnectionError); serving without cache"
    ]


def test_invalidating_the_catalog_pages_while_redis_is_down_changes_nothing_and_raises_nothing(
    redis_down: BaseCache,
) -> None:
    catalog_cache_invalidate()

    assert redis_down.get("catalog:version") is None


@pytest.mark.django_db
def test_a_notification_created_while_redis_is_down_commits_and_shows_on_the_dashboard(
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    # Given a customer whose dashboard would be cached, and Redis down
    customer = CustomerFactory()
    api = APIClient()
    api.force_authenticate(customer)
    with override_settings(CACHES=UNREACHABLE_REDIS, DASHBOARD_CACHE_SECONDS=30):
        assert api.get("/api/me/status").json()["summary"]["stats"]["unread_notifications"] == 0

        # When a notification is created (its commit drops the cached dashboard)
        with django_capture_on_commit_callbacks(execute=True):
            notification = notification_create(user_id=customer.pk, type=NotificationType.SYSTEM_ANNOUNCEMENT)

        # Then the commit went through and the next view shows it, read from the database
        assert notification is not None
        assert api.get("/api/me/status").json()["summary"]["stats"]["unread_notifications"] == 1


def test_operations_share_one_redis_client(redis_down: BaseCache) -> None:
    # Django builds a redis.Redis per operation, which costs about a round trip to Redis.
    client = redis_down._cache  # type: ignore[attr-defined]
    assert client.get_client("k") is client.get_client("j", write=True)
