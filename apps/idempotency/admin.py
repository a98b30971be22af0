from django.contrib import admin

from apps.idempotency.models import IdempotentRequest


@admin.register(IdempotentRequest)
class IdempotentRequestAdmin(admin.ModelAdmin):
    """Read-only: deleting a row frees its key (e.g. one a client must send again at once)."""

    list_display = ("operation", "scope", "key", "state", "response_status", "created_at")
    list_filter = ("state", "operation")
    search_fields = ("key", "scope")
    # The kept answer can hold a customer's details: the list and the page show only its status.
    fields = (
        "scope",
        "operation",
        "key",
        "fingerprint",
        "state",
        "response_status",
        "locked_until",
        "created_at",
        "completed_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
