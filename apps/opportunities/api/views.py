"""Customer APIs for subscriptions: the customer's WHMCS services and their cancellation state.

Reads come from the portal's WHMCS and Opportunity mirrors only; a cancellation request is
written to the portal and reaches Salesforce through the outbox.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import User
from apps.integrations.selectors import whmcs_service_get, whmcs_service_list
from apps.opportunities.api.serializers import (
    SubscriptionCancellationInputSerializer,
    SubscriptionCancellationOutputSerializer,
    SubscriptionSerializer,
)
from apps.opportunities.services import subscription_cancellation_request
from portal.api import signed_in_user


def _customer(request: Request) -> User:
    user = request.user
    assert isinstance(user, User), "IsAuthenticated lets only signed-in users through"
    return user


class SubscriptionListApi(APIView):
    pagination_class = PageNumberPagination

    OutputSerializer = SubscriptionSerializer

    @extend_schema(
        operation_id="subscriptions_list",
        summary="The customer's subscriptions (WHMCS services), newest first",
        responses={200: OutputSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        services = whmcs_service_list(user=_customer(request))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(services, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


class SubscriptionDetailApi(APIView):
    OutputSerializer = SubscriptionSerializer

    @extend_schema(
        operation_id="subscriptions_retrieve",
        summary="One of the customer's subscriptions",
        responses={200: OutputSerializer},
    )
    def get(self, request: Request, service_id: int) -> Response:
        service = whmcs_service_get(user=_customer(request), service_id=service_id)
        if service is None:
            raise NotFound()
        return Response(self.OutputSerializer(service).data)


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
    def post(self, request: Request, service_id: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cancellation = subscription_cancellation_request(
            user=signed_in_user(request),
            service_id=service_id,
            comments=serializer.validated_data["comments"],
        )
        return Response(self.OutputSerializer(cancellation).data, status=status.HTTP_201_CREATED)
