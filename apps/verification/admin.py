from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from apps.verification.models import EligibilityRequest, ResidenceCardStatusChange, ResidenceCardSubmission


@admin.register(EligibilityRequest)
class EligibilityRequestAdmin(admin.ModelAdmin):
    list_display = ("user", "postal_code", "prefecture", "city", "created_at")
    search_fields = ("user__email", "postal_code", "city", "address_line1")
    list_select_related = ("user",)
    raw_id_fields = ("user", "case")


class ResidenceCardStatusChangeInline(admin.TabularInline):
    model = ResidenceCardStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ("from_status", "to_status", "changed_by", "note", "changed_at")

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(ResidenceCardSubmission)
class ResidenceCardSubmissionAdmin(admin.ModelAdmin):
    list_display = ("user", "status", "content_type", "size", "submitted_at", "reviewed_at")
    list_filter = ("status", "content_type", "rejection_reason")
    search_fields = ("user__email",)
    list_select_related = ("user",)
    # The document itself is never linked from here: private storage has no URL.
    exclude = ("file",)
    readonly_fields = (
        "user",
        "content_type",
        "size",
        "sha256",
        "status",
        "salesforce_content_version_id",
        "submitted_at",
        "reviewed_at",
        "reviewed_by",
    )
    inlines = (ResidenceCardStatusChangeInline,)
