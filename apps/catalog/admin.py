from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from apps.catalog.models import PriceMismatch, Product


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


@admin.register(PriceMismatch)
class PriceMismatchAdmin(admin.ModelAdmin):
    """Where WHMCS would bill a product differently from its Salesforce price (found by the
    catalog sync). Read-only: fulfillment bills the quote anyway (AddOrder ``priceoverride``);
    correct the price in Salesforce or WHMCS and the row goes at the next sync. Supervisors only
    (``catalog.view_pricemismatch``, migration ``console.0009_price_mismatch_permissions``)."""

    list_display = (
        "product",
        "kind",
        "billing_cycle",
        "salesforce_price",
        "whmcs_price",
        "whmcs_setup_fee",
        "currency_code",
        "whmcs_product_id",
        "first_seen_at",
        "checked_at",
    )
    list_filter = ("kind", "product__product_type")
    search_fields = ("product__name", "product__sku", "product__salesforce_id")
    list_select_related = ("product",)

    class Media:
        css = {"all": ["console/console.css"]}  # the console's lists fit the screen

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
