"""Shapes of the subscription cancellation API. The subscriptions themselves are billing's
(``apps.billing.api.serializers``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from apps.opportunities.models import OpportunityStage


class SubscriptionCancellationInputSerializer(serializers.Serializer):
    """A cancellation request. `confirm` must be true: the customer confirmed the date shown."""

    comments = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    cancellation_month = serializers.RegexField(
        r"^\d{4}-(0[1-9]|1[0-2])$",
        required=False,
        default=None,
        allow_null=True,
        help_text=(
            "The month the service ends (`YYYY-MM`), one of the `months` the preview "
            "(`GET /api/subscriptions/{id}/cancellation`) offers; omitted: the earliest."
        ),
        error_messages={"invalid": _("Enter a month as YYYY-MM.")},
    )
    confirm = serializers.BooleanField()

    def validate_confirm(self, value: bool) -> bool:
        if not value:
            raise serializers.ValidationError(_("Please confirm the cancellation."))
        return value


# The stage under its one schema name, `OpportunityStage` (ENUM_NAME_OVERRIDES), as
# `Subscription.cancellation.stage` names it too.
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


class CancellationMonthOutputSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="`YYYY-MM`, the value to send as `cancellation_month`.")
    end_date = serializers.DateField(
        help_text="The service's last day (it ends at 23:59:59 Japan time on that day)."
    )


class SubscriptionCancellationPreviewOutputSerializer(serializers.Serializer):
    """The months a cancellation requested now may end in, earliest first (the 25th rule, Japan
    time: before the 25th the earliest is this month, from the 25th next month; three months are
    offered). `pending_request` is the cancellation already requested, or null."""

    months = CancellationMonthOutputSerializer(many=True)
    earliest_month = serializers.CharField()
    pending_request = CancellationMonthOutputSerializer(allow_null=True)
