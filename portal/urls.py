from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from apps.accounts.views import language_set
from portal import health
from portal.views import not_found

admin.site.site_header = _("SonixNet agent console")
admin.site.site_title = _("SonixNet agent console")
admin.site.index_title = _("Queues and records")

api_urlpatterns = [
    path("", include("apps.accounts.api.urls")),
    path("", include("apps.catalog.api.urls")),
    path("", include("apps.checkout.api.urls")),
    path("", include("apps.verification.api.urls")),
    path("", include("apps.opportunities.api.urls")),
    path("", include("apps.notifications.api.urls")),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/", include(api_urlpatterns)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's init script from a URL, not inline, for the CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # ReDoc styles itself with inline <style> elements it cannot give a nonce, and runs its search
    # in a worker made from a blob: URL; this page alone allows both (nothing else is loosened).
    path(
        "api/redoc/",
        csp_replace({"style-src": [SELF, UNSAFE_INLINE], "worker-src": [SELF, "blob:"]})(
            SpectacularRedocView.as_view(url_name="api-schema")
        ),
        name="api-redoc",
    ),
    # Any other /api/ path answers the envelope even with DEBUG on, where Django would otherwise
    # show its technical 404 page instead of calling handler404. CSRF-exempt: the answer is the
    # same 404 for any method, and the check would read (and choke on) the body of a POST.
    re_path(r"^api/", csrf_exempt(not_found), name="api-not-found"),
    # The language a customer chooses: a cookie the portal's pages and the API both follow, and
    # for a signed-in customer their preference (the emails they receive speak it too).
    path("i18n/setlang/", language_set, name="set_language"),
    # The customer portal's pages, last: "" is its welcome page.
    path("", include("apps.web.urls")),
]

handler404 = "portal.views.not_found"
handler500 = "portal.views.server_error"
