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
from apps.opportunities.api.serializers import (
    SubscriptionCancellationInputSerializer,
    SubscriptionCancellationOutputSerializer,
)
from apps.opportunities.services import subscription_cancellation_request
from portal.api import signed_in_user


class SubscriptionCancellationCreateApi(APIView):
    InputSerializer = SubscriptionCancellationInputSerializer
    OutputSerializer = SubscriptionCancellationOutputSerializer

    @extend_schema(
        operation_id="subscriptions_cancellation_create",
        summary="Request cancellation of an internet or SIM subscription",
        description=(
            "Only Active internet and SIM services can be cancelled online (others: 400). A second "
            "request while the first is being processed answers 409 "
            "`cancellation_already_requested`; a service the portal cannot match to its "
            "Opportunity answers 409 `cancellation_unavailable` (contact support)."
        ),
        request=InputSerializer,
        responses={
            201: OutputSerializer,
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
        )
        return Response(self.OutputSerializer(cancellation).data, status=status.HTTP_201_CREATED)
