from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from apps.integrations.models import OutboxEntry
from tests.factories import CustomerFactory, EventReplayCursorFactory, OutboxEntryFactory, ProductFactory

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


UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "portal.cache.DegradingRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}


def test_an_unreachable_cache_degrades_but_keeps_serving(client: Client) -> None:
    with override_settings(CACHES=UNREACHABLE_REDIS):
        response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"]["cache"]["status"] == "degraded"


def test_without_redis_the_api_still_serves_reads_and_sign_in() -> None:
    customer = CustomerFactory(email="ren@example.com")
    ProductFactory()
    api = APIClient()

    with override_settings(CACHES=UNREACHABLE_REDIS, DASHBOARD_CACHE_SECONDS=30):
        catalog = api.get("/api/catalog/internet")
        signed_in = api.post(
            "/api/auth/login",
            {"email": "ren@example.com", "password": "correct-horse-battery"},
            format="json",
        )
        dashboard = api.get("/api/me/status")
        again = api.get("/api/catalog/internet")

    assert catalog.status_code == 200
    assert len(catalog.json()["plans"]) == 1
    assert signed_in.status_code == 200
    assert dashboard.status_code == 200
    assert dashboard.json()["summary"]["stats"]["unread_notifications"] == 0  # Read from the database.
    assert again.json()["plans"] == catalog.json()["plans"]
    assert customer.pk == signed_in.json()["id"]
