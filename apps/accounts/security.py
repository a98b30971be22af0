"""Who is signing in, as throttles and the lockout (django-axes) see it.

``client_address`` is the one answer to "which address is this client" for the API throttles and
for axes. ``axes_username`` and ``lockout_response`` are axes hooks (settings ``AXES_*``).
"""

from __future__ import annotations

import ipaddress
import math
from typing import Any

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.response import Response


def client_address(request: Any) -> str | None:
    """The client's IP address: the socket peer, or, behind ``TRUSTED_PROXY_COUNT`` proxies, the
    address the outermost proxy saw (DRF's ``NUM_PROXIES`` rule: that many entries from the right
    of X-Forwarded-For). Entries further left are written by the client and never used."""
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    entries = [entry.strip() for entry in forwarded.split(",")]
    candidate = entries[-min(proxies, len(entries))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def normalized_email(value: object) -> str | None:
    """An email address as sign-in counts it: stripped and lower-cased (the portal stores emails
    lower-cased, so ``Hana@Example.com`` and ``hana@example.com`` are one account)."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().lower()


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """AXES_USERNAME_CALLABLE: the attempted email, normalised, from authenticate()'s credentials
    (the admin form and the API both pass ``username``) or else the posted form."""
    value = (credentials or {}).get("username")
    if value is None:
        value = request.POST.get("username")
    return normalized_email(value)


def lockout_seconds(request: HttpRequest) -> int:
    """How long a locked-out email and address pair waits: every attempt during a lockout starts
    the cool-off again (axes' default), so it is the whole cool-off from now."""
    cool_off = get_cool_off(request)
    return int(cool_off.total_seconds()) if cool_off else 0


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any] | None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE. The customer API answers a lockout itself (a 429 in its error format,
    see LoginApi), so its answer stands; the admin login gets its page with the reason."""
    if isinstance(original_response, Response):
        return original_response
    seconds = lockout_seconds(request)
    response = render(
        request,
        "admin/login_locked.html",
        {**admin.site.each_context(request), "title": "", "minutes": max(1, math.ceil(seconds / 60))},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response
