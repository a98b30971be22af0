from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from apps.integrations.models import (
    EventReplayCursor,
    OrphanedWhmcsClient,
    OutboxEntry,
    WhmcsInvoice,
    WhmcsPaymentMethod,
    WhmcsService,
)


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


@admin.register(OrphanedWhmcsClient)
class OrphanedWhmcsClientAdmin(admin.ModelAdmin):
    list_display = ("whmcs_client_id", "email", "detected_by", "resolution", "created_at", "resolved_at")
    list_filter = ("detected_by", "resolution")
    search_fields = ("whmcs_client_id", "email", "salesforce_account_id")


class WhmcsMirrorAdmin(admin.ModelAdmin):
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    search_fields = ("user__email", "whmcs_id")

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Mirrors of WHMCS records: the WHMCS sync is the only writer.
        return False


@admin.register(WhmcsService)
class WhmcsServiceAdmin(WhmcsMirrorAdmin):
    list_display = ("name", "user", "status", "billing_cycle", "recurring_amount", "next_due_on", "synced_at")
    list_filter = ("status", "product_type")


@admin.register(WhmcsInvoice)
class WhmcsInvoiceAdmin(WhmcsMirrorAdmin):
    list_display = ("__str__", "user", "status", "due_on", "total", "synced_at")
    list_filter = ("status",)


@admin.register(WhmcsPaymentMethod)
class WhmcsPaymentMethodAdmin(WhmcsMirrorAdmin):
    list_display = ("__str__", "user", "type", "card_last_four", "expires_on", "synced_at")
    list_filter = ("type",)
