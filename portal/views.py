"""Project-wide error views: the API's error envelope under ``/api/``, plain pages elsewhere."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, JsonResponse
from django.utils.translation import gettext as _
from django.views import csrf

from portal.exceptions import error_body


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler404``: ``not_found`` in the envelope under ``/api/``, a plain page elsewhere.

    Unlike Django's default it is not wrapped in ``requires_csrf_token``, which reads the body
    of a POST to an unknown URL and turned a malformed multipart body there into a 500.
    """
    if is_api(request):
        return JsonResponse(error_body(request, "not_found", _("Not found.")), status=404)
    return HttpResponseNotFound(
        f"<!doctype html><title>{_('Not found')}</title><h1>{_('Not found')}</h1>"
        f"<p>{_('The requested resource was not found on this server.')}</p>"
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: ``server_error`` in the envelope under ``/api/``, whose ``request_id`` finds
    the logged traceback; a plain page elsewhere. Nothing of the failure reaches the caller."""
    if is_api(request):
        message = _("Something went wrong on our side. Please try again later.")
        return JsonResponse(error_body(request, "server_error", message), status=500)
    return HttpResponse(
        f"<!doctype html><title>{_('Server error')}</title><h1>{_('Server error')}</h1>",
        status=500,
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: ``csrf_failed`` in the envelope under ``/api/`` (the endpoints an
    anonymous browser posts to, e.g. sign-in), Django's page elsewhere (the agent console)."""
    if is_api(request):
        message = _(
            "The CSRF check failed: send the token from GET /api/auth/csrf in the X-CSRFToken header."
        )
        return JsonResponse(error_body(request, "csrf_failed", message), status=403)
    return csrf.csrf_failure(request, reason)
