"""Output shapes of catalog items, shared by the per-product-type catalog APIs."""

from __future__ import annotations

from rest_framework import serializers

from apps.accounts.models import EligibilityStatus
from apps.catalog.models import Product
from portal.fields import EnumField, MoneyField


class CatalogItemSerializer(serializers.ModelSerializer[Product]):
    """A product as the shop shows it. `price` is an integer in the minor unit of `currency`
    (whole yen for JPY)."""

    currency = serializers.CharField(source="currency_code")
    price = MoneyField()

    class Meta:
        model = Product
        fields = ["id", "sku", "name", "description", "price", "currency", "billing_cycle", "item_class"]
        read_only_fields = fields


class InternetCatalogItemSerializer(CatalogItemSerializer):
    class Meta(CatalogItemSerializer.Meta):
        fields = [*CatalogItemSerializer.Meta.fields, "eligibility_offering"]
        read_only_fields = fields


class SimCatalogItemSerializer(CatalogItemSerializer):
    class Meta(CatalogItemSerializer.Meta):
        fields = [*CatalogItemSerializer.Meta.fields, "is_family_discount"]
        read_only_fields = fields


class CatalogEligibilitySerializer(serializers.Serializer):
    """The customer's internet eligibility, so the client can offer an eligibility check.

    `status` is null when no check was requested; `offering` is "" until an agent sets it.
    """

    status = EnumField(choices=EligibilityStatus.choices, allow_null=True)
    offering = serializers.CharField()
