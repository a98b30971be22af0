from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.models import (
    CustomerProfile,
    IdMapping,
    OrphanedSalesforceAccount,
    RegistrationAttempt,
    User,
)


class CustomerProfileInline(admin.StackedInline):
    model = CustomerProfile
    can_delete = False
    extra = 0
    # Mastered in Salesforce: changed through the agent console's decisions, never typed in here.
    readonly_fields = (
        "customer_number",
        "portal_status",
        "registration_source",
        "last_signed_in_at",
        "internet_eligibility",
        "internet_eligibility_status",
        "internet_eligibility_requested_at",
        "internet_eligibility_checked_at",
        "internet_eligibility_notes",
        "internet_eligibility_case_id",
        "id_verification_status",
        "id_verification_submitted_at",
        "id_verification_verified_at",
        "id_verification_note",
        "id_verification_rejection_message",
        "salesforce_modified_at",
        "synced_at",
    )


class IdMappingInline(admin.StackedInline):
    model = IdMapping
    can_delete = False
    extra = 0
    readonly_fields = ("salesforce_account_id", "salesforce_contact_id", "whmcs_client_id", "created_at")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "first_name", "last_name", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "first_name", "last_name", "profile__customer_number")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    inlines = (CustomerProfileInline, IdMappingInline)


@admin.register(CustomerProfile)
class CustomerProfileAdmin(admin.ModelAdmin):
    list_display = (
        "user",
        "customer_number",
        "registration_source",
        "internet_eligibility_status",
        "id_verification_status",
        "synced_at",
    )
    list_filter = (
        "portal_status",
        "registration_source",
        "internet_eligibility_status",
        "id_verification_status",
    )
    search_fields = ("user__email", "customer_number", "user__last_name")
    list_select_related = ("user",)
    readonly_fields = CustomerProfileInline.readonly_fields
    raw_id_fields = ("user",)


@admin.register(IdMapping)
class IdMappingAdmin(admin.ModelAdmin):
    list_display = ("user", "salesforce_account_id", "salesforce_contact_id", "whmcs_client_id", "created_at")
    search_fields = ("user__email", "salesforce_account_id", "salesforce_contact_id", "whmcs_client_id")
    list_select_related = ("user",)
    raw_id_fields = ("user",)


@admin.register(RegistrationAttempt)
class RegistrationAttemptAdmin(admin.ModelAdmin):
    """Read-only record of every multi-system registration, for support and orphan cleanup."""

    list_display = ("email", "source", "status", "salesforce_account_id", "whmcs_client_id", "created_at")
    list_filter = ("status", "source")
    search_fields = ("email", "salesforce_account_id", "whmcs_client_id", "customer_number")
    readonly_fields = tuple(field.name for field in RegistrationAttempt._meta.fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(OrphanedSalesforceAccount)
class OrphanedSalesforceAccountAdmin(admin.ModelAdmin):
    """Accounts registration left behind; ``cleanup_orphaned_whmcs_clients --salesforce`` acts on them."""

    list_display = (
        "salesforce_account_id",
        "email",
        "customer_number",
        "detected_by",
        "resolution",
        "created_at",
    )
    list_filter = ("detected_by", "resolution")
    search_fields = ("salesforce_account_id", "email", "customer_number")
    readonly_fields = tuple(field.name for field in OrphanedSalesforceAccount._meta.fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class StaffTOTPDeviceAdmin(TOTPDeviceAdmin):
    """django-otp's admin of staff authenticators (the console's second factor). Its setup pages
    (key, QR code) refuse whoever may not see devices before looking one up, and answer 404 for a
    device that does not exist instead of a server error."""

    def _device_check(self, request: HttpRequest, pk: int) -> None:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        get_object_or_404(TOTPDevice, pk=pk)

    def config_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        self._device_check(request, pk)
        return super().config_view(request, pk)

    def qrcode_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        self._device_check(request, pk)
        return super().qrcode_view(request, pk)


admin.site.unregister(TOTPDevice)
admin.site.register(TOTPDevice, StaffTOTPDeviceAdmin)
