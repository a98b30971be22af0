"""The backing services the settings point at really answer (in CI: PostgreSQL and Redis)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from portal.celery import app as celery_app
from tests.helpers import in_ci

IN_CI = in_ci()


@pytest.mark.django_db
def test_database_answers() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    if IN_CI:
        assert connection.vendor == "postgresql"


def test_cache_round_trip() -> None:
    cache.set("portal:ci-probe", {"ok": True}, timeout=30)

    assert cache.get("portal:ci-probe") == {"ok": True}
    if IN_CI:
        assert settings.CACHES["default"]["BACKEND"] == "portal.cache.DegradingRedisCache"


def test_celery_broker_accepts_a_connection() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1)
        assert conn.connected
    if IN_CI:
        assert celery_app.conf.broker_url.startswith("redis://")
