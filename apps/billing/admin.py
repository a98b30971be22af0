"""The WHMCS mirror in the agent console: read-only, the WHMCS sync is its only writer."""

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from apps.billing.models import WhmcsInvoice, WhmcsPaymentMethod, WhmcsService


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
