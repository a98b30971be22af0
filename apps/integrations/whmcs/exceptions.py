"""Typed errors raised by the WHMCS client.

Callers decide on ``retryable`` alone: transport failures (timeouts, dropped connections, 5xx)
may succeed later, while business and auth errors will fail the same way again. Messages carry
the WHMCS text and the action name, never credentials.
"""

from __future__ import annotations


class WhmcsError(Exception):
    """Base of every WHMCS failure; ``action`` is the API command that failed."""

    default_retryable = False

    def __init__(
        self,
        message: str,
        action: str,
        retryable: bool | None = None,
        status_code: int | None = None,
    ) -> None:
        self.message = message
        self.action = action
        self.retryable = self.default_retryable if retryable is None else retryable
        self.status_code = status_code
        super().__init__(f"WHMCS {action}: {message}")

    def __reduce__(self) -> tuple[type[WhmcsError], tuple[str, str, bool, int | None]]:
        """Pickle by constructor arguments, so Celery can carry the error across processes."""
        return (type(self), (self.message, self.action, self.retryable, self.status_code))


class WhmcsAuthError(WhmcsError):
    """Credentials, API role or IP allow-list rejected the call (HTTP 403 or an auth message)."""


class WhmcsNotFound(WhmcsError):
    """The referenced client, order, service or invoice does not exist ("… not found")."""


class WhmcsApiError(WhmcsError):
    """Any other ``result: error``: validation or a business rule refused the call."""


class WhmcsTransportError(WhmcsError):
    """The call did not get a usable answer: timeout, connection failure, 5xx or 429."""

    default_retryable = True
