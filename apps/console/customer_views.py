"""The console's customer page and its one search box (``customers.py`` reads the data)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext

from apps.console.customers import customer_overview, customer_search

CUSTOMER_PERMISSION = "console.view_agentdecision"
"""Agents and supervisors both have it: whoever works a queue may see its customers."""


def customer_search_view(request: HttpRequest, site: object) -> HttpResponse:
    if not request.user.has_perm(CUSTOMER_PERMISSION):
        raise PermissionDenied
    query = request.GET.get("q", "")
    context = {
        **site.each_context(request),  # type: ignore[attr-defined]
        "title": gettext("Find a customer"),
        "query": query,
        "results": list(customer_search(query=query)),
        "searched": bool(query.strip()),
    }
    return TemplateResponse(request, "console/customer_search.html", context)


def customer_view(request: HttpRequest, site: object, user_id: int) -> HttpResponse:
    if not request.user.has_perm(CUSTOMER_PERMISSION):
        raise PermissionDenied
    overview = customer_overview(user_id=user_id)
    if overview is None:
        raise Http404
    customer = overview["customer"]
    context = {
        **site.each_context(request),  # type: ignore[attr-defined]
        "title": customer.get_full_name() or customer.email,
        **overview,
    }
    return TemplateResponse(request, "console/customer.html", context)
