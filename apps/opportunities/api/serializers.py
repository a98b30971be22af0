"""Output shapes shared by the subscription APIs."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.integrations.models import WhmcsService
from apps.opportunities.models import LineReturnStatus, OpportunityStage


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


class SubscriptionCancellationInputSerializer(serializers.Serializer):
    """A cancellation request. `confirm` must be true: the customer confirmed the date shown."""

    comments = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    confirm = serializers.BooleanField()

    def validate_confirm(self, value: bool) -> bool:
        if not value:
            raise serializers.ValidationError(_("Please confirm the cancellation."))
        return value


# A plain enum schema: `Subscription.cancellation.stage` documents the same choices under its own
# name, and drf-spectacular warns about one choice set with two names (which fails the deployment
# check) unless ENUM_NAME_OVERRIDES names it once.
@extend_schema_field({"type": "string", "enum": list(OpportunityStage.values)})
class OpportunityStageField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=OpportunityStage.choices, **kwargs)


class SubscriptionCancellationOutputSerializer(serializers.Serializer):
    """The scheduled cancellation. Under the 25th rule (Japan time) a request before the 25th
    ends the service on the last day of this month, a later one on the last day of next month
    (`scheduled_for`, at 23:59:59 JST). `case_submitted` is false while the request is still on
    its way to Salesforce."""

    scheduled_for = serializers.DateField(source="schedule.scheduled_for")
    scheduled_at = serializers.DateTimeField(source="schedule.scheduled_at")
    cancellation_month = serializers.CharField(source="schedule.cancellation_month")
    opportunity_stage = OpportunityStageField(source="opportunity.stage")
    case_submitted = serializers.BooleanField()
