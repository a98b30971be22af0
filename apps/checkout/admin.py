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
