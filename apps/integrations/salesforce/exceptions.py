"""Typed Salesforce errors.

Callers (outbox delivery, sync jobs, the events subscriber) decide between "retry with backoff" and
"surface as a permanent failure" from ``retryable`` alone, without knowing HTTP or
simple-salesforce. Every error carries the Salesforce ``errorCode`` and HTTP status it came from.

Messages are built only from Salesforce's own error text, the HTTP method and the resource path;
access tokens and private keys never reach them.

Error codes and statuses: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .gateway import SaveResult


@dataclass(frozen=True)
class SalesforceErrorDetail:
    """One entry of a Salesforce error body (``[{"message", "errorCode", "fields"}]``)."""

    error_code: str
    message: str
    fields: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, item: object) -> SalesforceErrorDetail:
        """Read both REST (``errorCode``) and SaveResult (``statusCode``) error shapes."""
        if not isinstance(item, dict):
            return cls(error_code="UNKNOWN_ERROR", message=str(item)[:500])
        code = item.get("errorCode") or item.get("statusCode") or "UNKNOWN_ERROR"
        raw_fields = item.get("fields") or ()
        return cls(
            error_code=str(code),
            message=str(item.get("message") or ""),
            fields=tuple(str(name) for name in raw_fields),
        )

    @classmethod
    def list_from_json(cls, content: object) -> tuple[SalesforceErrorDetail, ...]:
        """Parse an error body; a non-list body (plain text, HTML from a proxy) becomes one detail."""
        if isinstance(content, list):
            return tuple(cls.from_json(item) for item in content)
        if isinstance(content, dict):
            return (cls.from_json(content),)
        text = content.decode(errors="replace") if isinstance(content, bytes) else str(content or "")
        return (cls(error_code="UNKNOWN_ERROR", message=text.strip()[:500]),) if text.strip() else ()


class SalesforceError(Exception):
    """Base of every Salesforce integration error.

    ``retryable`` tells a task whether trying again later can succeed (limits, outages) or whether
    the request itself is wrong and must be surfaced.
    """

    retryable: bool = False
    default_error_code: str = "UNKNOWN_ERROR"

    def __init__(
        self,
        message: str,
        *,
        error_code: str | None = None,
        status: int | None = None,
        errors: Sequence[SalesforceErrorDetail] = (),
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code or self.default_error_code
        self.status = status
        self.errors: tuple[SalesforceErrorDetail, ...] = tuple(errors)
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        status = f" HTTP {self.status}" if self.status is not None else ""
        return f"[{self.error_code}{status}] {self.message}"


class SalesforceAuthenticationError(SalesforceError):
    """The OAuth token request failed (bad key, consumer key, user, audience, or configuration).

    ``error`` / ``error_description`` are the OAuth fields of the token endpoint's reply.
    """

    def __init__(
        self,
        error: str,
        error_description: str = "",
        *,
        status: int | None = None,
        retryable: bool | None = None,
    ) -> None:
        self.error = error
        self.error_description = error_description
        message = f"Salesforce login failed: {error}" + (
            f" ({error_description})" if error_description else ""
        )
        super().__init__(message, error_code=error, status=status, retryable=retryable)


class SalesforceSessionExpired(SalesforceError):
    """401 ``INVALID_SESSION_ID``: the gateway logs in again once before raising this."""

    retryable = True
    default_error_code = "INVALID_SESSION_ID"


class SalesforceRequestLimitExceeded(SalesforceError):
    """403 ``REQUEST_LIMIT_EXCEEDED``: the org's rolling 24-hour API allowance is used up."""

    retryable = True
    default_error_code = "REQUEST_LIMIT_EXCEEDED"


class SalesforceMalformedRequest(SalesforceError):
    """400: the request is wrong (``MALFORMED_QUERY``, ``INVALID_FIELD``, ``REQUIRED_FIELD_MISSING``...)."""

    default_error_code = "MALFORMED_REQUEST"


class SalesforceNotFound(SalesforceError):
    """404 ``NOT_FOUND`` or ``ENTITY_IS_DELETED``."""

    default_error_code = "NOT_FOUND"


class SalesforceDuplicate(SalesforceError):
    """``DUPLICATE_VALUE`` (unique field) or ``DUPLICATES_DETECTED`` (duplicate rule)."""

    default_error_code = "DUPLICATE_VALUE"


class SalesforceUnknownPicklistValue(SalesforceError):
    """A record holds a picklist value the field map does not know: the org has a new value, and
    reading the record again cannot help until ``SF_FIELD_MAP_OVERRIDES`` (or the map) has it."""

    default_error_code = "UNKNOWN_PICKLIST_VALUE"


class SalesforceUnavailable(SalesforceError):
    """Timeouts, connection failures and 5xx: Salesforce may well answer later."""

    retryable = True
    default_error_code = "SERVER_UNAVAILABLE"


class SalesforceOutcomeUnknown(SalesforceUnavailable):
    """The request was sent but no answer came back (read timeout, connection dropped mid-way):
    Salesforce may have applied it. Safe to send again only when doing it twice does no harm."""


class SalesforceAuthenticationUnavailable(SalesforceAuthenticationError, SalesforceUnavailable):
    """The token endpoint could not be reached or answered 5xx; catchable as either parent."""

    retryable = True


class SalesforceGeneralError(SalesforceError):
    """Any other error status (403 without a limit code, 405, 409, 415...)."""


@dataclass(frozen=True)
class CompositeSubError:
    """Why one Composite subrequest failed."""

    reference_id: str
    status: int
    errors: tuple[SalesforceErrorDetail, ...] = field(default_factory=tuple)

    @property
    def error_code(self) -> str:
        return self.errors[0].error_code if self.errors else "UNKNOWN_ERROR"


_RETRYABLE_DML_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "REQUEST_RUNNING_TOO_LONG"})
_HALTED_CODES = frozenset({"PROCESSING_HALTED", "ALL_OR_NONE_OPERATION_ROLLED_BACK"})


def root_cause(errors: Iterable[SalesforceErrorDetail]) -> SalesforceErrorDetail | None:
    """The first error that is not a knock-on "rolled back / halted" entry."""
    candidates = list(errors)
    for detail in candidates:
        if detail.error_code not in _HALTED_CODES:
            return detail
    return candidates[0] if candidates else None


class SalesforceCompositeError(SalesforceError):
    """A Composite request with ``allOrNone`` was rolled back.

    ``sub_errors`` lists every failed subrequest, including the ``PROCESSING_HALTED`` ones, so a
    caller can show which step failed; ``error_code`` is the code of the step that caused it.
    """

    def __init__(self, sub_errors: Sequence[CompositeSubError]) -> None:
        self.sub_errors = tuple(sub_errors)
        details = [detail for sub in self.sub_errors for detail in sub.errors]
        cause = root_cause(details)
        failing = next(
            (sub.reference_id for sub in self.sub_errors if cause is not None and cause in sub.errors), "?"
        )
        code = cause.error_code if cause else "UNKNOWN_ERROR"
        message = f"composite request rolled back: {failing} failed" + (f": {cause.message}" if cause else "")
        super().__init__(
            message, error_code=code, status=200, errors=details, retryable=code in _RETRYABLE_DML_CODES
        )


class SalesforceCollectionError(SalesforceError):
    """An sObject Collections request with ``allOrNone`` was rolled back.

    ``results`` holds every ``SaveResult`` in request order.
    """

    def __init__(self, results: Sequence[SaveResult], errors: Sequence[SalesforceErrorDetail]) -> None:
        self.results = tuple(results)
        cause = root_cause(errors)
        code = cause.error_code if cause else "UNKNOWN_ERROR"
        message = "collection request rolled back" + (f": {cause.message}" if cause else "")
        super().__init__(
            message, error_code=code, status=200, errors=errors, retryable=code in _RETRYABLE_DML_CODES
        )


_DUPLICATE_CODES = frozenset({"DUPLICATE_VALUE", "DUPLICATES_DETECTED"})
_NOT_FOUND_CODES = frozenset({"NOT_FOUND", "ENTITY_IS_DELETED"})


def error_for_response(
    status: int, errors: Sequence[SalesforceErrorDetail], *, context: str
) -> SalesforceError:
    """Choose the typed error for an HTTP error response: by ``errorCode`` first, then by status.

    ``context`` is "METHOD resource" and must not contain secrets (no headers, no tokens).
    """
    first = errors[0] if errors else None
    code = first.error_code if first else None
    text = first.message if first and first.message else "no error message"
    error_class: type[SalesforceError]
    if status == 401 or code == "INVALID_SESSION_ID":
        error_class = SalesforceSessionExpired
    elif code == "REQUEST_LIMIT_EXCEEDED":
        error_class = SalesforceRequestLimitExceeded
    elif code in _DUPLICATE_CODES:
        error_class = SalesforceDuplicate
    elif status == 404 or code in _NOT_FOUND_CODES:
        error_class = SalesforceNotFound
    elif status >= 500:
        error_class = SalesforceUnavailable
    elif status == 400:
        error_class = SalesforceMalformedRequest
    else:
        error_class = SalesforceGeneralError
    return error_class(f"{context}: {text}", error_code=code, status=status, errors=errors)
