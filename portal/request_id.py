"""The request id: one value naming a request in its response, its error body and its log lines.

A caller (a proxy, the front end) may send its own in ``X-Request-ID``; a value that is not a short
run of safe characters is ignored, so that no header can forge log lines or grow them without
bound, and a fresh one is made instead. The id goes back in the response's ``X-Request-ID``, into
every API error body (``request_id``) and onto every log record written while the request runs
(``portal.logging.RequestIdFilter``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
_META_KEY = "HTTP_X_REQUEST_ID"
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")

_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being answered on this thread, or ``None`` outside a request."""
    return _current.get()


def request_id_of(request: HttpRequest) -> str:
    """The request's id (set by the middleware; a fresh one for a request that skipped it)."""
    value = getattr(request, "request_id", None)
    if not isinstance(value, str):
        value = current_request_id() or uuid.uuid4().hex
        request.request_id = value  # type: ignore[attr-defined]
    return value


def incoming_or_new(request: HttpRequest) -> str:
    incoming = request.META.get(_META_KEY, "")
    if isinstance(incoming, str) and _SANE.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = incoming_or_new(request)
        request.request_id = request_id  # type: ignore[attr-defined]
        token = _current.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response[HEADER] = request_id
        return response
