"""OAuth 2.0 JWT bearer login to Salesforce, and the process-wide session cache.

simple-salesforce's own JWT mode builds ``https://{domain}.salesforce.com`` URLs, so it cannot
reach a My Domain login host with a port or the local emulator. We therefore sign and exchange the
assertion ourselves (PyJWT + requests) and hand simple-salesforce only ``session_id`` and
``instance_url`` (its "direct" mode).

Flow: https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_jwt_flow.htm
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
from django.conf import settings

from .exceptions import SalesforceAuthenticationError, SalesforceAuthenticationUnavailable

logger = logging.getLogger(__name__)

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME_SECONDS = 180
"""Salesforce rejects assertions whose ``exp`` is more than three minutes ahead."""

_SALESFORCE_LOGIN_HOSTS = {
    "login.salesforce.com": "https://login.salesforce.com",
    "test.salesforce.com": "https://test.salesforce.com",
}


class AccessToken(str):
    """A Salesforce access token: a plain ``str`` for HTTP and gRPC metadata, hidden from ``repr``.

    ``repr`` is what ends up in tracebacks, debug logs of dataclasses and admin error reports.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "AccessToken('********')"


@dataclass(frozen=True)
class SalesforceSession:
    """A logged-in Salesforce session, as the token endpoint returned it."""

    access_token: AccessToken = field(repr=False)
    instance_url: str
    org_id: str
    user_id: str
    issued_at: datetime


@dataclass(frozen=True)
class SalesforceConfig:
    """The connection settings (``settings.SALESFORCE``), read once per login."""

    login_url: str
    client_id: str
    username: str
    api_version: str = "59.0"
    private_key_path: str = ""
    private_key_base64: str = field(default="", repr=False)
    ca_bundle: str = ""
    timeout_seconds: float = 15.0

    @classmethod
    def from_settings(cls, overrides: Mapping[str, Any] | None = None) -> SalesforceConfig:
        values: dict[str, Any] = {**settings.SALESFORCE, **(overrides or {})}
        return cls(
            login_url=str(values["LOGIN_URL"]).rstrip("/"),
            client_id=str(values["CLIENT_ID"]),
            username=str(values["USERNAME"]),
            api_version=str(values.get("API_VERSION") or "59.0"),
            private_key_path=str(values.get("PRIVATE_KEY_PATH") or ""),
            private_key_base64=str(values.get("PRIVATE_KEY_BASE64") or ""),
            ca_bundle=str(values.get("CA_BUNDLE") or ""),
            timeout_seconds=float(values.get("TIMEOUT_SECONDS") or 15.0),
        )

    @property
    def verify(self) -> str | bool:
        """``requests``' ``verify``: the configured CA bundle when it exists, else the system store."""
        if self.ca_bundle and Path(self.ca_bundle).is_file():
            return self.ca_bundle
        return True

    @property
    def audience(self) -> str:
        """The ``aud`` claim: Salesforce's login hosts by name, any other host is its own audience."""
        host = (urlsplit(self.login_url).hostname or "").lower()
        return _SALESFORCE_LOGIN_HOSTS.get(host, self.login_url)

    @property
    def cache_key(self) -> tuple[str, str, str]:
        return (self.login_url, self.client_id, self.username)

    def load_private_key(self) -> bytes:
        """PEM bytes from ``PRIVATE_KEY_BASE64`` (containers, CI) or else ``PRIVATE_KEY_PATH``."""
        if self.private_key_base64:
            try:
                return base64.b64decode(self.private_key_base64, validate=True)
            except ValueError:
                raise SalesforceAuthenticationError(
                    "invalid_client_config", "PRIVATE_KEY_BASE64 is not valid base64"
                ) from None
        if not self.private_key_path:
            raise SalesforceAuthenticationError(
                "invalid_client_config", "neither PRIVATE_KEY_BASE64 nor PRIVATE_KEY_PATH is set"
            )
        try:
            return Path(self.private_key_path).read_bytes()
        except OSError as exc:
            raise SalesforceAuthenticationError(
                "invalid_client_config", f"private key file cannot be read ({exc.strerror})"
            ) from None


def build_assertion(config: SalesforceConfig, *, now: float | None = None) -> str:
    """Sign the JWT bearer assertion (RS256) for ``config``."""
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": config.client_id,
        "sub": config.username,
        "aud": config.audience,
        "exp": issued + ASSERTION_LIFETIME_SECONDS,
    }
    try:
        return jwt.encode(claims, config.load_private_key(), algorithm="RS256")
    except SalesforceAuthenticationError:
        raise
    except (ValueError, TypeError, jwt.PyJWTError):
        # The underlying message may quote key material; report only that the key is unusable.
        raise SalesforceAuthenticationError(
            "invalid_client_config", "the private key is not a usable RSA PEM key"
        ) from None


def login(config: SalesforceConfig | None = None) -> SalesforceSession:
    """Exchange a signed assertion for an access token; no caching (see ``get_session``)."""
    config = config or SalesforceConfig.from_settings()
    assertion = build_assertion(config)
    token_url = f"{config.login_url}/services/oauth2/token"
    try:
        response = requests.post(
            token_url,
            data={"grant_type": JWT_BEARER_GRANT, "assertion": assertion},
            headers={"Accept": "application/json"},
            timeout=config.timeout_seconds,
            verify=config.verify,
        )
    except requests.RequestException as exc:
        logger.warning("Salesforce login to %s failed: %s", config.login_url, type(exc).__name__)
        raise SalesforceAuthenticationUnavailable(
            "connection_error", f"{type(exc).__name__} reaching {config.login_url}"
        ) from None

    payload = _json_or_empty(response)
    if response.status_code != 200:
        error = str(payload.get("error") or f"http_{response.status_code}")
        description = str(payload.get("error_description") or "")
        logger.warning("Salesforce login rejected: HTTP %s %s %s", response.status_code, error, description)
        error_class = (
            SalesforceAuthenticationUnavailable
            if response.status_code >= 500
            else SalesforceAuthenticationError
        )
        raise error_class(error, description, status=response.status_code)

    try:
        access_token = AccessToken(payload["access_token"])
        instance_url = str(payload["instance_url"]).rstrip("/")
        org_id, user_id = _ids_from_identity_url(str(payload["id"]))
    except (KeyError, ValueError):
        raise SalesforceAuthenticationError(
            "invalid_response", "token response lacks access_token, instance_url or id", status=200
        ) from None
    session = SalesforceSession(
        access_token=access_token,
        instance_url=instance_url,
        org_id=org_id,
        user_id=user_id,
        issued_at=_issued_at(payload.get("issued_at")),
    )
    logger.info("Logged in to Salesforce org %s at %s", org_id, instance_url)
    return session


def _json_or_empty(response: requests.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _ids_from_identity_url(identity_url: str) -> tuple[str, str]:
    """``https://login.salesforce.com/id/<orgId>/<userId>`` → (orgId, userId)."""
    parts = [part for part in urlsplit(identity_url).path.split("/") if part]
    if len(parts) < 3 or parts[-3] != "id":
        raise ValueError("unexpected identity URL")
    return parts[-2], parts[-1]


def _issued_at(raw: object) -> datetime:
    """``issued_at`` is epoch milliseconds as a string; fall back to now when it is absent."""
    try:
        return datetime.fromtimestamp(int(str(raw)) / 1000, tz=UTC)
    except (TypeError, ValueError):
        return datetime.now(tz=UTC)


_cache_lock = threading.Lock()
_cached_session: SalesforceSession | None = None
_cached_key: tuple[str, str, str] | None = None


def get_session(force_refresh: bool = False) -> SalesforceSession:
    """The process-wide Salesforce session, logging in on first use or when forced.

    The REST gateway forces a refresh after a 401; the Pub/Sub subscriber uses the same session for
    its gRPC ``accesstoken`` / ``instanceurl`` / ``tenantid`` metadata. The lock makes concurrent
    first calls share one login. A change of login URL, client id or user (tests) re-logs in.
    """
    global _cached_session, _cached_key
    config = SalesforceConfig.from_settings()
    with _cache_lock:
        if force_refresh or _cached_session is None or _cached_key != config.cache_key:
            _cached_session = login(config)
            _cached_key = config.cache_key
        return _cached_session


def clear_session_cache() -> None:
    """Forget the cached session (tests, or after rotating the connected app's key)."""
    global _cached_session, _cached_key
    with _cache_lock:
        _cached_session = None
        _cached_key = None
