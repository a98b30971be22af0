"""Shapes of the subscription cancellation API. The subscriptions themselves are billing's
(``apps.billing.api.serializers``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.opportunities.models import OpportunityStage


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
