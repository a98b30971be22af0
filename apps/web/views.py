"""The customer portal's pages.

Every page is a template and nothing more: what it shows and does comes from the REST API, called
by ``static/web/portal.js`` with the customer's session cookie, exactly as any other front end
would. Whether the customer is signed in is the API's business too: a page that needs a customer
asks ``/api/me`` and goes to the sign-in page when the answer is 401 or 403.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.generic import TemplateView

from apps.web.strings import script_strings


class PortalPage(TemplateView):
    """A page of the portal; ``signed_in`` pages send anonymous visitors to sign in (in the script)."""

    page = ""
    signed_in = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["page"] = self.page
        context["signed_in_page"] = self.signed_in
        context["script_strings"] = script_strings()
        # The residence card limit the API enforces, checked in the browser before uploading.
        context["card_max_bytes"] = settings.RESIDENCE_CARD_MAX_BYTES
        context["card_max_megabytes"] = settings.RESIDENCE_CARD_MAX_BYTES // (1024 * 1024)
        return context


def page(name: str, *, signed_in: bool = True) -> Any:
    return PortalPage.as_view(template_name=f"web/{name}.html", page=name, signed_in=signed_in)


class HomePage(PortalPage):
    """``/``: the dashboard for a signed-in customer, the welcome page for everyone else."""

    template_name = "web/home.html"
    page = "home"
    signed_in = False

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and not request.user.is_staff:
            return HttpResponseRedirect("/account")
        return super().get(request, *args, **kwargs)
