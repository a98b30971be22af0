"""Customer API for cancelling a subscription (a WHMCS service, listed by ``apps.billing.api``).

A cancellation request is written to the portal and reaches Salesforce through the outbox.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.idempotency.api import idempotent
from apps.opportunities import services as cancellation_services
from apps.opportunities.api.serializers import (
    SubscriptionCancellationInputSerializer,
    SubscriptionCancellationOutputSerializer,
    SubscriptionCancellationPreviewOutputSerializer,
)
from apps.opportunities.selectors import subscription_cancellation_preview
from apps.opportunities.services import subscription_cancellation_request
from portal.api import signed_in_user


class SubscriptionCancellationCreateApi(APIView):
    InputSerializer = SubscriptionCancellationInputSerializer
    OutputSerializer = SubscriptionCancellationOutputSerializer
    PreviewOutputSerializer = SubscriptionCancellationPreviewOutputSerializer

    @extend_schema(
        operation_id="subscriptions_cancellation_preview",
        summary="Preview a cancellation: the months the service may end in",
        description=(
            "Under the 25th rule (Japan time) a cancellation requested before the 25th may end the "
            "service on the last day of this month, from the 25th on at the earliest on the last day "
            "of next month; the earliest month and the two after it are offered, each with its "
            "`end_date` (the service ends at 23:59:59 JST that day). Send the chosen `month` as "
            "`cancellation_month` to `POST` on the same path. `pending_request` is the cancellation "
            "already requested (null if none). A service the request would refuse is refused "
            "here with the same error: a VPN service 400 `cancellation_not_supported`, a service "
            "that is not Active 400 `service_not_active`, a service no Opportunity names (a "
            "one-time fee) 409 `cancellation_unavailable`; another customer's service 404."
        ),
        responses={
            200: PreviewOutputSerializer,
            400: OpenApiResponse(description="The service cannot be cancelled online."),
            404: OpenApiResponse(description="Not one of the customer's services."),
            409: OpenApiResponse(description="The portal cannot match the service to its Opportunity."),
        },
    )
    def get(self, request: Request, service_id: int) -> Response:
        preview = subscription_cancellation_preview(
            user=signed_in_user(request), service_id=service_id, now=cancellation_services.clock_now()
        )
        months = [
            {"month": schedule.cancellation_month, "end_date": schedule.scheduled_for}
            for schedule in preview.schedules
        ]
        body = {
            "months": months,
            "earliest_month": preview.earliest_month,
            "pending_request": preview.pending_request,
        }
        return Response(self.PreviewOutputSerializer(body).data)

    @extend_schema(
        operation_id="subscriptions_cancellation_create",
        summary="Request cancellation of an internet or SIM subscription",
        description=(
            "`cancellation_month` chooses one of the months the preview (`GET` on this path) "
            "offers; omitted, the earliest. A month not offered answers 400 "
            "`cancellation_month_not_offered` with `offered_months`. "
            "Only Active internet and SIM services can be cancelled online (others: 400). A second "
            "request while the first is being processed answers 409 "
            "`cancellation_already_requested`; a service the portal cannot match to its "
            "Opportunity answers 409 `cancellation_unavailable` (contact support)."
        ),
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            400: OpenApiResponse(description="A month not offered, or a service that cannot be cancelled."),
            409: OpenApiResponse(description="Already requested, or not possible online."),
        },
    )
    @idempotent()
    def post(self, request: Request, service_id: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cancellation = subscription_cancellation_request(
            user=signed_in_user(request),
            service_id=service_id,
            comments=serializer.validated_data["comments"],
            cancellation_month=serializer.validated_data["cancellation_month"],
        )
        return Response(self.OutputSerializer(cancellation).data, status=status.HTTP_201_CREATED)
