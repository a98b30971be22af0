"""How the API knows who is calling: Django's session cookie, with CSRF on unsafe methods."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions, status
from rest_framework.request import Request

CSRF_HEADER = "X-CSRFToken"
"""The header carrying the CSRF token (Django's ``CSRF_HEADER_NAME``), from ``GET /api/auth/csrf``."""


class CsrfFailed(exceptions.APIException):
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = _(
        "The CSRF check failed: send the token from GET /api/auth/csrf in the X-CSRFToken header."
    )
    default_code = "csrf_failed"


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's session authentication, answering a request without a signed-in session with 401 and
    ``WWW-Authenticate: Session realm="api"`` (DRF answers 403 when the first authentication class
    names no challenge), and a failed CSRF check with the API's ``csrf_failed`` error."""

    def authenticate_header(self, request: Request) -> str:
        return 'Session realm="api"'

    def enforce_csrf(self, request: Request) -> None:
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as refused:
            raise CsrfFailed() from refused
