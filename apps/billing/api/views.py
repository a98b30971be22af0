"""Customer billing APIs: invoices, stored payment methods and subscriptions (the customer's
WHMCS services with their cancellation state), read from the WHMCS and Opportunity mirrors.

WHMCS is the system of record; these reads never call it. Money is a decimal string with its
currency. Cancelling a subscription is the Opportunity's business
(``apps.opportunities.api.views.SubscriptionCancellationCreateApi``).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from apps.accounts.models import User
from apps.billing.api.serializers import InvoiceSerializer, PaymentMethodSerializer, SubscriptionSerializer
from apps.billing.models import WhmcsInvoice
from apps.billing.selectors import (
    whmcs_invoice_get,
    whmcs_invoice_list,
    whmcs_payment_method_list,
    whmcs_service_get,
    whmcs_service_list,
)
from apps.billing.services import payment_method_add_link_create, payment_methods_refresh
from portal.fields import EnumField
from portal.pagination import PagePagination


def _customer(request: Request) -> User:
    user = request.user
    assert isinstance(user, User), "IsAuthenticated lets only signed-in users through"
    return user


class InvoiceListApi(APIView):
    pagination_class = PagePagination

    class FilterSerializer(serializers.Serializer):
        status = EnumField(choices=WhmcsInvoice.Status.choices, required=False)

        class Meta:
            ref_name = "InvoiceFilter"

    OutputSerializer = InvoiceSerializer

    @extend_schema(
        operation_id="billing_invoices_list",
        summary="The customer's invoices, newest first",
        parameters=[FilterSerializer],
        responses={200: OutputSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        invoices = whmcs_invoice_list(user=_customer(request), status=filters.validated_data.get("status"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(invoices, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


class InvoiceDetailApi(APIView):
    OutputSerializer = InvoiceSerializer

    @extend_schema(
        operation_id="billing_invoices_retrieve",
        summary="One of the customer's invoices",
        responses={200: OutputSerializer},
    )
    def get(self, request: Request, invoice_id: int) -> Response:
        invoice = whmcs_invoice_get(user=_customer(request), invoice_id=invoice_id)
        if invoice is None:
            raise NotFound()
        return Response(self.OutputSerializer(invoice).data)


class PaymentMethodListApi(APIView):
    class OutputSerializer(serializers.Serializer):
        payment_methods = PaymentMethodSerializer(many=True)
        total_count = serializers.IntegerField()

        class Meta:
            ref_name = "PaymentMethodList"

    @extend_schema(
        operation_id="billing_payment_methods_list",
        summary="The customer's stored payment methods (not paginated)",
        responses={200: OutputSerializer},
    )
    def get(self, request: Request) -> Response:
        methods = whmcs_payment_method_list(user=_customer(request))
        data = {"payment_methods": methods, "total_count": len(methods)}
        return Response(self.OutputSerializer(data).data)


class PaymentMethodAddLinkCreateApi(APIView):
    """A single-use WHMCS sign-on link to the page where the customer adds a card. The card is
    entered in WHMCS, never in the portal; on return, call the refresh endpoint."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "whmcs_link"

    class OutputSerializer(serializers.Serializer):
        url = serializers.URLField()
        expires_at = serializers.DateTimeField()

        class Meta:
            ref_name = "PaymentMethodAddLink"

    @extend_schema(
        operation_id="billing_payment_methods_add_link",
        summary="A one-time link (valid 60 s) to add a payment method in WHMCS",
        request=None,
        responses={
            200: OutputSerializer,
            409: OpenApiResponse(description="No billing account yet (`billing_account_not_ready`)."),
            503: OpenApiResponse(
                description="Billing is unavailable (`billing_unavailable`): try again later."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        link = payment_method_add_link_create(user_id=_customer(request).pk)
        return Response(self.OutputSerializer(link).data)


class PaymentMethodRefreshApi(APIView):
    """Re-read the customer's payment methods (and services and invoices) from WHMCS now."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "whmcs_link"

    OutputSerializer = PaymentMethodListApi.OutputSerializer

    @extend_schema(
        operation_id="billing_payment_methods_refresh",
        summary="Re-sync the customer's payment methods from WHMCS (after adding one there)",
        request=None,
        responses={
            200: OutputSerializer,
            409: OpenApiResponse(description="No billing account yet (`billing_account_not_ready`)."),
            503: OpenApiResponse(
                description="Billing is unavailable (`billing_unavailable`): try again later."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        user = _customer(request)
        payment_methods_refresh(user_id=user.pk)
        methods = whmcs_payment_method_list(user=user)
        return Response(self.OutputSerializer({"payment_methods": methods, "total_count": len(methods)}).data)


class SubscriptionListApi(APIView):
    pagination_class = PagePagination

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
