from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from apps.catalog.models import Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "product_type",
        "item_class",
        "billing_cycle",
        "price",
        "eligibility_offering",
        "is_family_discount",
        "is_active",
        "synced_at",
    )
    list_filter = ("product_type", "item_class", "billing_cycle", "is_family_discount", "is_active")
    search_fields = ("name", "sku", "salesforce_id")

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Product2 is mastered in Salesforce; the catalog sync is the only writer.
        return False
