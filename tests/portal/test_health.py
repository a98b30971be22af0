from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.test import Client, override_settings
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsFixture
from rest_framework.test import APIClient

from apps.integrations.models import OutboxEntry
from portal import health
from tests.factories import (
    CustomerFactory,
    EventReplayCursorFactory,
    OutboxEntryFactory,
    ProductFactory,
    UserFactory,
)
from tests.helpers import UNREACHABLE_REDIS

pytestmark = pytest.mark.django_db

MONITORING_TOKEN = "readyz-monitoring-token-0123456789abcdef"


@pytest.fixture
def monitoring(settings: SettingsFixture) -> Client:
    """A monitoring system presenting the configured token."""
    settings.MONITORING_TOKEN = MONITORING_TOKEN
    return Client(headers={"Authorization": f"Bearer {MONITORING_TOKEN}"})


def test_healthz_answers_while_the_process_serves(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_every_dependency(monitoring: Client) -> None:
    EventReplayCursorFactory(
        topic="/event/OrderProvisionRequested__e",
        lease_owner="worker-1",
        lease_expires_at=timezone.now() + timedelta(seconds=30),
        events_processed=12,
    )

    body = monitoring.get("/readyz").json()

    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"status": "ok"}
    assert body["checks"]["cache"] == {"status": "ok"}
    assert body["checks"]["broker"] == {"status": "ok"}
    assert body["checks"]["outbox"]["status"] == "ok"
    assert body["checks"]["events"]["topics"]["/event/OrderProvisionRequested__e"]["subscribed"] is True


def test_readyz_says_what_is_degraded(monitoring: Client) -> None:
    OutboxEntryFactory(status=OutboxEntry.Status.FAILED)
    old = OutboxEntryFactory()
    OutboxEntry.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=10))

    response = monitoring.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["outbox"]["failed"] == 1
    assert body["checks"]["outbox"]["pending"] == 1
    assert body["checks"]["outbox"]["oldest_pending_seconds"] >= 600
    assert body["checks"]["events"]["status"] == "degraded"


def test_readyz_tells_anyone_the_status_only(client: Client) -> None:
    EventReplayCursorFactory(lease_owner="worker-1", lease_expires_at=timezone.now() + timedelta(seconds=30))
    ok = client.get("/readyz")
    OutboxEntryFactory(status=OutboxEntry.Status.FAILED)
    degraded = client.get("/readyz")

    assert (ok.status_code, ok.json()) == (200, {"status": "ok"})
    assert (degraded.status_code, degraded.json()) == (200, {"status": "degraded"})


@pytest.mark.parametrize(
    ("configured", "authorization"),
    [
        (MONITORING_TOKEN, f"Bearer {MONITORING_TOKEN[:-1]}x"),
        (MONITORING_TOKEN, f"Bearer {MONITORING_TOKEN}-and-more"),
        (MONITORING_TOKEN, f"Basic {MONITORING_TOKEN}"),
        (MONITORING_TOKEN, MONITORING_TOKEN),
        ("", "Bearer "),  # no token configured: none is accepted, not even an empty one
        ("", "Bearer"),
    ],
)
def test_a_wrong_monitoring_token_gets_the_status_only(
    settings: SettingsFixture, configured: str, authorization: str
) -> None:
    settings.MONITORING_TOKEN = configured

    response = Client(headers={"Authorization": authorization}).get("/readyz")

    assert (response.status_code, response.json()) == (200, {"status": "degraded"})  # no subscriber


def test_the_monitoring_token_and_staff_sessions_get_the_details(monitoring: Client, client: Client) -> None:
    client.force_login(UserFactory(is_staff=True))

    by_token = monitoring.get("/readyz").json()
    by_staff = client.get("/readyz").json()

    assert set(by_token["checks"]) == {"database", "cache", "broker", "outbox", "events"}
    assert by_staff["checks"]["outbox"] == by_token["checks"]["outbox"]


def test_a_staff_session_that_skipped_the_second_factor_gets_the_status_only(
    client: Client, settings: SettingsFixture
) -> None:
    settings.STAFF_REQUIRE_2FA = True
    client.force_login(UserFactory(is_staff=True))

    assert client.get("/readyz").json() == {"status": "degraded"}


def test_a_customer_session_gets_the_status_only(client: Client) -> None:
    client.force_login(CustomerFactory())

    assert client.get("/readyz").json() == {"status": "degraded"}


class _UnreachableDatabase:
    def cursor(self) -> None:
        raise OperationalError("connection refused")


def test_with_the_database_down_readyz_fails_and_says_why_to_monitoring_only(
    monitoring: Client, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "connection", _UnreachableDatabase())

    anonymous = client.get("/readyz")
    monitored = monitoring.get("/readyz")

    assert (anonymous.status_code, anonymous.json()) == (503, {"status": "down"})
    assert monitored.status_code == 503
    assert monitored.json()["checks"] == {"database": {"status": "down", "error": "OperationalError"}}


def test_an_unreachable_cache_degrades_but_keeps_serving(monitoring: Client) -> None:
    with override_settings(CACHES=UNREACHABLE_REDIS):
        response = monitoring.get("/readyz")

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
