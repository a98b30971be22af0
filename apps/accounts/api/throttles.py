"""Throttles of the anonymous account endpoints, on the view's ``throttle_scope`` rate.

Both count the client by ``client_address`` (the socket address unless ``TRUSTED_PROXY_COUNT``
proxies are trusted), so a made-up X-Forwarded-For does not make a new client. The email throttle
also counts per target email address, so spreading guesses or reset mails for one account over
many addresses does not help either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle

from apps.accounts.security import client_address, normalized_email


class ClientAddressThrottle(ScopedRateThrottle):
    """The view's scope, per client address."""

    def get_ident(self, request: Request) -> str:
        return client_address(request) or ""


class EmailThrottle(ScopedRateThrottle):
    """The view's scope, per email address in the request body (normalised); no email, no count."""

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        data = request.data
        email = normalized_email(data.get("email")) if isinstance(data, Mapping) else None
        if email is None:
            return None
        # Hashed: a cache key of fixed length and charset, and no address in the cache.
        digest = hashlib.sha256(email.encode()).hexdigest()
        return self.cache_format % {"scope": f"{self.scope}_email", "ident": digest}
