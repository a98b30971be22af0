"""The signed-in user from the shared cache, so a request whose answer is cached reads no table.

``CachedUserAuthenticationMiddleware`` replaces Django's ``AuthenticationMiddleware``: the user
named by the session is kept in the cache for ``AUTH_USER_CACHE_SECONDS`` and used only while the
session's auth hash (derived from the password hash) matches the cached user's. Any other case
(no copy, a hash that does not match, a session made by another backend) goes through Django's
own ``get_user``, which reads the database, verifies the session and flushes it when it fails.

Every save or delete of a user drops its copy when the transaction commits, so a password change,
a deactivation or a new e-mail address is seen by the next request. What bypasses ``save()``
(``QuerySet.update``) is bounded by the timeout. Only with a cache all processes share (Redis):
the setting defaults to 0 (off) without one, as a per-process copy could not be dropped by
another process's write.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.middleware import AuthenticationMiddleware, auser
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject

from apps.accounts.models import User


def _key(user_id: Any) -> str:
    return f"auth:user:{user_id}"


def _session_user(request: HttpRequest) -> Any:
    timeout = settings.AUTH_USER_CACHE_SECONDS
    session = request.session
    user_id = session.get(SESSION_KEY)
    if (
        not timeout
        or user_id is None
        or session.get(BACKEND_SESSION_KEY) not in settings.AUTHENTICATION_BACKENDS
    ):
        return auth.get_user(request)
    cached = cache.get(_key(user_id))
    session_hash = session.get(HASH_SESSION_KEY)
    if (
        isinstance(cached, User)
        and str(cached.pk) == str(user_id)
        and cached.is_active
        and session_hash
        and constant_time_compare(session_hash, cached.get_session_auth_hash())
    ):
        return cached
    user = auth.get_user(request)
    if isinstance(user, User) and user.is_active:
        cache.set(_key(user.pk), user, timeout=timeout)
    return user


def _get_user(request: HttpRequest) -> Any:
    if not hasattr(request, "_cached_user"):
        request._cached_user = _session_user(request)  # type: ignore[attr-defined]
    return request._cached_user  # type: ignore[attr-defined]


class CachedUserAuthenticationMiddleware(AuthenticationMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)  # its checks
        request.user = SimpleLazyObject(lambda: _get_user(request))  # type: ignore[assignment]
        request.auser = partial(auser, request)


def user_cache_forget(user_id: Any) -> None:
    """Drop the cached copy of this user once the current transaction commits."""
    if settings.AUTH_USER_CACHE_SECONDS:
        key = _key(user_id)
        transaction.on_commit(lambda: cache.delete(key))


def _on_user_change(sender: Any, instance: User, **kwargs: Any) -> None:
    user_cache_forget(instance.pk)


post_save.connect(_on_user_change, sender=User, dispatch_uid="accounts.user_cache.save")
post_delete.connect(_on_user_change, sender=User, dispatch_uid="accounts.user_cache.delete")
