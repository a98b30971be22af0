"""Liveness (``/healthz``) and readiness (``/readyz``) for load balancers and process managers.

``/healthz`` answers as long as the process serves requests. ``/readyz`` checks what a request
needs (the database) and reports what is degraded but survivable (cache/broker down, the outbox
behind, the events subscriber lagging): 503 only when the database is unreachable, so a Redis
outage degrades the portal instead of taking every web process out of rotation.

Anyone gets the overall status; the details (outbox and subscriber internals) only an active
staff session (past the console's second factor) or a caller presenting ``MONITORING_TOKEN`` as ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Max, Min
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.console.sites import second_factor_satisfied
from apps.integrations.models import EventReplayCursor, OutboxEntry
from portal.celery import app as celery_app

OUTBOX_BEHIND_SECONDS = 300
SUBSCRIBER_STALE_SECONDS = 120


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, dict[str, Any]] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = {"status": "ok"}
    except Exception as exc:
        checks["database"] = {"status": "down", "error": type(exc).__name__}
        return _readiness(request, "down", checks, status_code=503)

    checks["cache"] = _check_cache()
    checks["broker"] = _check_broker()
    checks["outbox"] = _check_outbox()
    checks["events"] = _check_events()
    degraded = any(check["status"] != "ok" for check in checks.values())
    return _readiness(request, "degraded" if degraded else "ok", checks)


def _readiness(
    request: HttpRequest, status: str, checks: dict[str, Any], *, status_code: int = 200
) -> JsonResponse:
    body: dict[str, Any] = {"status": status}
    if _may_see_details(request):
        body["checks"] = checks
    return JsonResponse(body, status=status_code)


def _may_see_details(request: HttpRequest) -> bool:
    """A caller with the monitoring token, or an active staff member; a wrong token is anonymous."""
    token = settings.MONITORING_TOKEN
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if (
        token
        and scheme.lower() == "bearer"
        and hmac.compare_digest(presented.strip().encode(), token.encode())
    ):
        return True
    try:
        user = request.user
        return bool(user.is_active and user.is_staff and second_factor_satisfied(user))
    except Exception:  # the session lives in the database, which may be the thing that is down
        return False


def _check_cache() -> dict[str, Any]:
    try:
        cache.set("readyz:probe", 1, timeout=10)
        if cache.get("readyz:probe") != 1:
            return {"status": "degraded", "error": "cache lost the probe value"}
    except Exception as exc:
        return {"status": "degraded", "error": type(exc).__name__}
    return {"status": "ok"}


def _check_broker() -> dict[str, Any]:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return {"status": "degraded", "error": type(exc).__name__}
    return {"status": "ok"}


def _check_outbox() -> dict[str, Any]:
    now = timezone.now()
    waiting = OutboxEntry.objects.filter(
        status__in=[OutboxEntry.Status.PENDING, OutboxEntry.Status.IN_PROGRESS]
    )
    stats = waiting.aggregate(oldest=Min("created_at"))
    last_delivery = OutboxEntry.objects.aggregate(last=Max("delivered_at"))["last"]
    failed = OutboxEntry.objects.filter(status=OutboxEntry.Status.FAILED).count()
    oldest_age = (now - stats["oldest"]).total_seconds() if stats["oldest"] else 0
    return {
        "status": "degraded" if oldest_age > OUTBOX_BEHIND_SECONDS or failed else "ok",
        "pending": waiting.count(),
        "failed": failed,
        "oldest_pending_seconds": round(oldest_age),
        "last_delivery_seconds_ago": round((now - last_delivery).total_seconds()) if last_delivery else None,
    }


def _check_events() -> dict[str, Any]:
    now = timezone.now()
    topics = {}
    status = "ok"
    for cursor in EventReplayCursor.objects.all():
        leased = (
            bool(cursor.lease_owner) and cursor.lease_expires_at is not None and cursor.lease_expires_at > now
        )
        topics[cursor.topic] = {
            "subscribed": leased,
            "events_processed": cursor.events_processed,
            "last_event_seconds_ago": round((now - cursor.last_event_at).total_seconds())
            if cursor.last_event_at
            else None,
        }
        if not leased:
            status = "degraded"
    return {"status": status if topics else "degraded", "topics": topics}
