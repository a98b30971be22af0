"""Output shapes of the billing APIs: invoices, stored payment methods and subscriptions (WHMCS
services), all read from the WHMCS mirror."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.billing.models import WhmcsInvoice, WhmcsPaymentMethod, WhmcsService
from apps.opportunities.models import LineReturnStatus, OpportunityStage


class InvoiceSerializer(serializers.ModelSerializer[WhmcsInvoice]):
    """An invoice; `subtotal`, `tax` and `total` are decimal strings in `currency`."""

    currency = serializers.CharField(source="currency_code")

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
    otherwise; `line_return_status` applies to internet lines only ("" when not set).
    """

    stage = serializers.ChoiceField(choices=OpportunityStage.choices, source="cancellation_stage")
    scheduled_at = serializers.DateTimeField(source="cancellation_scheduled_at", allow_null=True)
    line_return_status = serializers.ChoiceField(
        choices=LineReturnStatus.choices, source="cancellation_line_return_status"
    )


class SubscriptionSerializer(serializers.ModelSerializer[WhmcsService]):
    """A service the customer has in WHMCS. `cancellation` is null when no Opportunity names it."""

    # Reads the cancellation_* annotations that whmcs_service_list() adds.

    cancellation = serializers.SerializerMethodField()

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
