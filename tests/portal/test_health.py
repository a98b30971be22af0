from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from apps.integrations.models import OutboxEntry
from tests.factories import EventReplayCursorFactory, OutboxEntryFactory

pytestmark = pytest.mark.django_db


def test_healthz_answers_while_the_process_serves(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_every_dependency(client: Client) -> None:
    EventReplayCursorFactory(
        topic="/event/OrderProvisionRequested__e",
        lease_owner="worker-1",
        lease_expires_at=timezone.now() + timedelta(seconds=30),
        events_processed=12,
    )

    body = client.get("/readyz").json()

    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"status": "ok"}
    assert body["checks"]["cache"] == {"status": "ok"}
    assert body["checks"]["broker"] == {"status": "ok"}
    assert body["checks"]["outbox"]["status"] == "ok"
    assert body["checks"]["events"]["topics"]["/event/OrderProvisionRequested__e"]["subscribed"] is True


def test_readyz_says_what_is_degraded(client: Client) -> None:
    OutboxEntryFactory(status=OutboxEntry.Status.FAILED)
    old = OutboxEntryFactory()
    OutboxEntry.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=10))

    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["outbox"]["failed"] == 1
    assert body["checks"]["outbox"]["pending"] == 1
    assert body["checks"]["outbox"]["oldest_pending_seconds"] >= 600
    assert body["checks"]["events"]["status"] == "degraded"


def test_an_unreachable_cache_degrades_but_keeps_serving(client: Client) -> None:
    unreachable = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }

    with override_settings(CACHES=unreachable):
        response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"]["cache"]["status"] == "degraded"
