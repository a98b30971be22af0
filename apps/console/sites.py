"""The admin site of the agent console: a second factor (TOTP, django-otp) for staff.

``ConsoleAdminConfig`` (admin_app.py) replaces ``django.contrib.admin`` in INSTALLED_APPS so that
``django.contrib.admin.site`` (every ``@admin.register``, portal/urls.py) is this site. While
``STAFF_REQUIRE_2FA`` is on, read at each request, the login form asks for the code of the agent's
authenticator app and only a session verified by it enters the console.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from django_otp import devices_for_user, user_has_device
from django_otp.admin import OTPAdminAuthenticationForm
from django_otp.models import Device


def second_factor_satisfied(user: Any) -> bool:
    """Whether the user's session passed the second factor, or none is required right now."""
    if not settings.STAFF_REQUIRE_2FA:
        return True
    is_verified = getattr(user, "is_verified", None)  # installed by OTPMiddleware
    return bool(is_verified and is_verified())


class ConsoleOTPAuthenticationForm(OTPAdminAuthenticationForm):
    """The admin login with the authenticator code on the same page: staff have one TOTP device,
    so it is used without asking which one (django-otp would ask on a second page)."""

    otp_token = forms.CharField(
        label=_("Authenticator code"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    otp_error_messages = {
        **OTPAdminAuthenticationForm.otp_error_messages,
        "token_required": _("Enter the 6-digit code from your authenticator app."),
        "invalid_token": _("The authenticator code is wrong or has expired. Enter the current code."),
        "n_failed_attempts": ngettext_lazy(
            "After %(failure_count)d wrong code, codes are refused for a moment. Try again shortly.",
            "After %(failure_count)d wrong codes, codes are refused for a moment. Try again shortly.",
            "failure_count",
        ),
    }
    no_device_message = _(
        "Your account has no authenticator app set up, which the console requires. Ask an "
        "administrator to enrol one for you."
    )

    def clean_otp(self, user: Any) -> None:
        if user is not None and not user_has_device(user, confirmed=True):
            raise forms.ValidationError(self.no_device_message, code="no_device")
        super().clean_otp(user)

    def _chosen_device(self, user: Any) -> Device | None:
        return super()._chosen_device(user) or next(devices_for_user(user, confirmed=True), None)


class ConsoleAdminSite(admin.AdminSite):
    # The queue lists need the whole width of a 1366 px screen; the index lists every queue.
    enable_nav_sidebar = False

    # Properties, not attributes set per request: requests share the site object.
    @property
    def login_form(self) -> type[AuthenticationForm] | None:  # type: ignore[override]
        return ConsoleOTPAuthenticationForm if settings.STAFF_REQUIRE_2FA else None

    @property
    def login_template(self) -> str | None:  # type: ignore[override]
        return "admin/login_otp.html" if settings.STAFF_REQUIRE_2FA else None

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and second_factor_satisfied(request.user)

    def get_urls(self) -> list[URLResolver | URLPattern]:
        from apps.console.customer_views import customer_search_view, customer_view

        def search(request: HttpRequest) -> HttpResponse:
            return customer_search_view(request, self)

        def customer(request: HttpRequest, user_id: int) -> HttpResponse:
            return customer_view(request, self, user_id)

        return [
            path("console/search/", self.admin_view(search), name="console_customer_search"),
            path("console/customer/<int:user_id>/", self.admin_view(customer), name="console_customer"),
            *super().get_urls(),
        ]
