"""Customer billing APIs: invoices and stored payment methods, read from the WHMCS mirror.

WHMCS is the system of record; these reads never call it. Money is a decimal string with its
currency. The URL patterns are exported as ``billing_urlpatterns`` for ``apps.accounts.api.urls``.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import User
from apps.integrations.models import WhmcsInvoice, WhmcsPaymentMethod
from apps.integrations.selectors import whmcs_invoice_get, whmcs_invoice_list, whmcs_payment_method_list


def _customer(request: Request) -> User:
    user = request.user
    assert isinstance(user, User), "IsAuthenticated lets only signed-in users through"
    return user


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


class InvoiceListApi(APIView):
    pagination_class = PageNumberPagination

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=WhmcsInvoice.Status.choices, required=False)

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


billing_urlpatterns = [
    path("billing/invoices", InvoiceListApi.as_view(), name="billing-invoice-list"),
    path("billing/invoices/<int:invoice_id>", InvoiceDetailApi.as_view(), name="billing-invoice-detail"),
    path("billing/payment-methods", PaymentMethodListApi.as_view(), name="billing-payment-method-list"),
]
