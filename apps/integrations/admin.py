from django.contrib import admin

from apps.integrations.models import EventReplayCursor, OrphanedWhmcsClient, OutboxEntry, SalesforceSyncCursor


@admin.register(OutboxEntry)
class OutboxEntryAdmin(admin.ModelAdmin):
    list_display = ("id", "target_system", "operation", "record_key", "status", "attempts", "next_attempt_at")
    list_filter = ("target_system", "status", "operation")
    search_fields = ("record_key", "operation", "last_error")
    readonly_fields = (
        "target_system",
        "operation",
        "record_key",
        "payload",
        "result",
        "attempts",
        "last_error",
        "claimed_until",
        "created_at",
        "delivered_at",
    )


@admin.register(EventReplayCursor)
class EventReplayCursorAdmin(admin.ModelAdmin):
    list_display = ("topic", "events_processed", "last_event_at", "lease_owner", "lease_expires_at")
    readonly_fields = (
        "topic",
        "replay_id",
        "events_processed",
        "last_event_at",
        "lease_owner",
        "lease_expires_at",
    )


@admin.register(SalesforceSyncCursor)
class SalesforceSyncCursorAdmin(admin.ModelAdmin):
    """Where each object's periodic reconciliation resumes; clearing ``modstamp`` makes the next
    run read every record of the object again."""

    list_display = ("sobject", "modstamp", "last_run_at", "records_read")
    readonly_fields = ("sobject", "last_run_at", "records_read", "updated_at")


@admin.register(OrphanedWhmcsClient)
class OrphanedWhmcsClientAdmin(admin.ModelAdmin):
    list_display = ("whmcs_client_id", "email", "detected_by", "resolution", "created_at", "resolved_at")
    list_filter = ("detected_by", "resolution")
    search_fields = ("whmcs_client_id", "email", "salesforce_account_id")
