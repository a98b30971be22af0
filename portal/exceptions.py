"""The API's one error envelope, and the errors services raise for it.

Every error under ``/api/`` answers::

    {"code": "<stable machine code>", "message": "<translated>", "request_id": "<id>",
     "fields": {"<field>": [{"code": "...", "message": "..."}]},   # validation errors only
     "details": {...}}                                               # when the error carries data

``fields`` names nested fields with dots (``items.0.quantity``) and errors about the whole body
``non_field_errors``. The same envelope comes from DRF's exceptions (this module's handler), from
Django's 404 and 500 handlers and its CSRF failure view (``portal.views``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from portal.request_id import request_id_of

VALIDATION_CODE = "invalid"
"""The code of a validation error: its ``fields`` say which inputs were refused and why."""


class ApplicationError(Exception):
    """A business rule refused the request (e.g. "an eligibility check is already pending").

    ``code`` is stable for clients to branch on; ``message`` is translated for the customer;
    ``extra`` is the error's ``details``; ``headers`` go on the response (e.g. ``Retry-After``).
    """

    status_code: int = status.HTTP_400_BAD_REQUEST

    def __init__(
        self,
        message: str,
        *,
        code: str = "invalid",
        extra: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.extra = extra or {}
        self.headers = dict(headers or {})


class ConflictError(ApplicationError):
    status_code = status.HTTP_409_CONFLICT


class ServiceUnavailableError(ApplicationError):
    """An upstream system the request cannot do without (registration, WHMCS sign-on links) is
    unavailable."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE


def error_body(
    request: HttpRequest | None,
    code: str,
    message: str,
    *,
    fields: dict[str, list[dict[str, str]]] | None = None,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The envelope; ``fields`` and ``details`` only when there are some."""
    body: dict[str, Any] = {"code": code, "message": str(message)}
    if fields:
        body["fields"] = fields
    if details:
        body["details"] = dict(details)
    body["request_id"] = request_id_of(request) if request is not None else ""
    return body


def field_errors(detail: Any) -> dict[str, list[dict[str, str]]]:
    """DRF's nested validation detail as ``{"dotted.field": [{"code", "message"}]}``."""
    result: dict[str, list[dict[str, str]]] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list | tuple):
            for index, item in enumerate(node):
                if isinstance(item, Mapping | list | tuple):
                    walk(item, f"{path}.{index}" if path else str(index))
                else:
                    walk(item, path)
        else:
            name = path or api_settings.NON_FIELD_ERRORS_KEY
            code = getattr(node, "code", None) or VALIDATION_CODE
            result.setdefault(name, []).append({"code": str(code), "message": str(node)})

    walk(detail, "")
    return result


def _validation_body(request: HttpRequest | None, exc: exceptions.ValidationError) -> dict[str, Any]:
    fields = field_errors(exc.detail)
    only = fields.get(api_settings.NON_FIELD_ERRORS_KEY, [])
    if len(fields) == 1 and len(only) == 1:
        # One error about the whole request: its message is the message.
        message = only[0]["message"]
    else:
        message = gettext("Some of the data sent is not valid: see the errors of each field.")
    return error_body(request, VALIDATION_CODE, message, fields=fields)


def _code_of(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler answering the envelope, extended to Django's validation errors, Django's
    refusal of a body too large and our ``ApplicationError``. Anything else is a 500, answered by
    ``portal.views.server_error`` after Django logged it."""
    request = getattr(context.get("request"), "_request", None)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        # Django's cap on a body (DATA_UPLOAD_MAX_MEMORY_SIZE), hit when DRF reads it to parse.
        exc = exceptions.ParseError(gettext("The request body is too large."))

    if isinstance(exc, ApplicationError):
        body = error_body(request, exc.code, exc.message, details=exc.extra)
        return Response(body, status=exc.status_code, headers=exc.headers)

    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        response.data = _validation_body(request, exc)
    else:
        details: dict[str, Any] = {}
        if isinstance(exc, exceptions.Throttled) and "Retry-After" in response.headers:
            details["retry_after"] = int(response.headers["Retry-After"])
        response.data = error_body(request, _code_of(exc), str(exc.detail), details=details)
    return response
