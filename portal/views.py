"""Project-wide error views."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, JsonResponse
from django.utils.translation import gettext as _


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler404``: the API's error format under ``/api/``, a plain page elsewhere.

    Unlike Django's default it is not wrapped in ``requires_csrf_token``, which reads the body
    of a POST to an unknown URL and turned a malformed multipart body there into a 500.
    """
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Not found."), "code": "not_found"}, status=404)
    return HttpResponseNotFound(
        f"<!doctype html><title>{_('Not found')}</title><h1>{_('Not found')}</h1>"
        f"<p>{_('The requested resource was not found on this server.')}</p>"
    )
