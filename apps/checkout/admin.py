from django.contrib import admin

from apps.checkout.models import Order, OrderItem


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    raw_id_fields = ("product",)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "user",
        "product_type",
        "status",
        "activation_status",
        "total_amount",
        "created_at",
    )
    list_filter = ("product_type", "status", "activation_status")
    search_fields = ("order_number", "salesforce_id", "user__email", "idempotency_key")
    list_select_related = ("user",)
    raw_id_fields = ("user", "opportunity")
    readonly_fields = (
        "idempotency_key",
        "activation_error_code",
        "activation_error_message",
        "activation_error_at",
    )
    inlines = (OrderItemInline,)


from django.http import HttpRequest  # noqa: E402

from apps.checkout.models_fulfillment import FulfillmentRun  # noqa: E402


@admin.register(FulfillmentRun)
class FulfillmentRunAdmin(admin.ModelAdmin):
    """Read-only: runs are written by the fulfillment task; an agent retries from Salesforce by
    setting the Order's activation status back to Activating."""

    list_display = (
        "salesforce_order_id",
        "order",
        "status",
        "error_code",
        "whmcs_order_id",
        "whmcs_service_id",
        "attempts",
        "updated_at",
    )
    list_filter = ("status", "error_code")
    search_fields = ("salesforce_order_id", "order__order_number", "user__email", "last_idempotency_key")
    list_select_related = ("order", "user")
    ordering = ("-created_at",)

    def get_readonly_fields(self, request: HttpRequest, obj: FulfillmentRun | None = None) -> list[str]:
        return [field.name for field in FulfillmentRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: FulfillmentRun | None = None) -> bool:
        return False
