"""Output shapes of the billing APIs: invoices, stored payment methods and subscriptions (WHMCS
services), all read from the WHMCS mirror."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.billing.models import WhmcsInvoice, WhmcsPaymentMethod, WhmcsService
from apps.catalog.models import ProductType
from apps.opportunities.models import LineReturnStatus, OpportunityStage
from portal.fields import EnumField, MoneyField, wire_choices

# WHMCS spells billing cycles for display ("One Time", "Semi-Annually"); the portal's values are the
# catalog's (`one_time`) plus the cycles only WHMCS has.
SUBSCRIPTION_BILLING_CYCLE_MAPPING = {
    "Monthly": "monthly",
    "Quarterly": "quarterly",
    "Semi-Annually": "semiannually",
    "Annually": "annually",
    "Biennially": "biennially",
    "Triennially": "triennially",
    "One Time": "one_time",
    "One-Time": "one_time",
    "One-time": "one_time",
    "Free Account": "free",
}
INVOICE_STATUSES = wire_choices(WhmcsInvoice.Status.choices)
SUBSCRIPTION_STATUSES = wire_choices(WhmcsService.Status.choices)
PAYMENT_METHOD_TYPES = wire_choices(WhmcsPaymentMethod.Type.choices)
SUBSCRIPTION_BILLING_CYCLES = wire_choices((), SUBSCRIPTION_BILLING_CYCLE_MAPPING)
LINE_RETURN_STATUSES = wire_choices(LineReturnStatus.choices)


class InvoiceSerializer(serializers.ModelSerializer[WhmcsInvoice]):
    """An invoice; `subtotal`, `tax` and `total` are integers in the minor unit of `currency`
    (whole yen for JPY)."""

    currency = serializers.CharField(source="currency_code")
    subtotal = MoneyField()
    tax = MoneyField()
    total = MoneyField()
    status = EnumField(choices=WhmcsInvoice.Status.choices, read_only=True)

    class Meta:
        model = WhmcsInvoice
        ref_name = "Invoice"
        fields = [
            "id",
            "whmcs_id",
            "number",
            "status",
            "issued_on",
            "due_on",
            "paid_at",
            "subtotal",
            "tax",
            "total",
            "currency",
            "synced_at",
        ]
        read_only_fields = fields


class PaymentMethodSerializer(serializers.ModelSerializer[WhmcsPaymentMethod]):
    """A stored payment method: display data only, never a card or account number."""

    type = EnumField(choices=WhmcsPaymentMethod.Type.choices, read_only=True)

    class Meta:
        model = WhmcsPaymentMethod
        ref_name = "PaymentMethod"
        fields = [
            "id",
            "whmcs_id",
            "type",
            "description",
            "gateway_name",
            "card_type",
            "card_last_four",
            "expires_on",
            "bank_name",
            "synced_at",
        ]
        read_only_fields = fields


class SubscriptionCancellationSerializer(serializers.Serializer):
    """The cancellation state of a service, from the Opportunity that names its WHMCS service.

    `scheduled_at` is the SIM scheduled cancellation for SIM opportunities and the internet one
    otherwise; `line_return_status` applies to internet lines only (null when not set).
    """

    stage = serializers.ChoiceField(choices=OpportunityStage.choices, source="cancellation_stage")
    scheduled_at = serializers.DateTimeField(source="cancellation_scheduled_at", allow_null=True)
    line_return_status = EnumField(
        choices=LineReturnStatus.choices,
        source="cancellation_line_return_status",
        allow_null=True,
        help_text="Null for SIM and VPN services, and for internet lines until the return is arranged.",
    )


class SubscriptionSerializer(serializers.ModelSerializer[WhmcsService]):
    """A service the customer has in WHMCS. `cancellation` is null when no Opportunity names it.
    `status` and `billing_cycle` are WHMCS's values in the portal's spelling (`one_time`, not
    "One Time")."""

    # Reads the cancellation_* annotations that whmcs_service_list() adds.

    cancellation = serializers.SerializerMethodField()
    status = EnumField(choices=WhmcsService.Status.choices, read_only=True)
    recurring_amount = MoneyField(
        currency_code="JPY", help_text="Whole yen (the customer's WHMCS currency is JPY)."
    )
    product_type = EnumField(
        choices=ProductType.choices,
        read_only=True,
        allow_null=True,
        help_text="Null when the WHMCS product is not one of the portal's catalog products.",
    )
    billing_cycle = EnumField(
        choices=(),
        mapping=SUBSCRIPTION_BILLING_CYCLE_MAPPING,
        read_only=True,
        allow_null=True,
        help_text="Null when WHMCS has no cycle for the service or one the portal does not know.",
    )

    class Meta:
        model = WhmcsService
        fields = [
            "id",
            "whmcs_id",
            "name",
            "product_type",
            "status",
            "billing_cycle",
            "recurring_amount",
            "registered_on",
            "next_due_on",
            "synced_at",
            "cancellation",
        ]
        read_only_fields = fields

    @extend_schema_field(SubscriptionCancellationSerializer(allow_null=True))
    def get_cancellation(self, service: WhmcsService) -> dict[str, Any] | None:
        if getattr(service, "cancellation_opportunity_id", None) is None:
            return None
        return SubscriptionCancellationSerializer(service).data
