from django.contrib.auth import login
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, OpenApiTypes, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.serializers import MeOutputSerializer
from apps.accounts.api.views import AnonymousFormApi, sign_in_again
from apps.accounts.models import RegistrationSource
from apps.accounts.registration import customer_register
from apps.accounts.selectors import user_with_profile
from apps.checkout.api.serializers import (
    CheckoutRegistrationInputSerializer,
    OrderCreateInputSerializer,
    OrderOutputSerializer,
    OrderPageOutputSerializer,
)
from apps.checkout.selectors import order_get, order_list
from apps.checkout.services import order_place
from apps.idempotency.api import KEY_HEADER, idempotent
from portal.api import signed_in_user
from portal.pagination import PagePagination


class CheckoutRegistrationApi(AnonymousFormApi):
    throttle_scope = "signup"

    @extend_schema(
        operation_id="checkout_registration",
        request=CheckoutRegistrationInputSerializer,
        responses={
            201: OpenApiResponse(
                MeOutputSerializer,
                description="Signed in. `account_setup` says whether the Salesforce and billing records "
                "exist yet (`complete`) or are still being created (`in_progress`: place the order once "
                "it is `complete`).",
            ),
            200: OpenApiResponse(
                MeOutputSerializer,
                description="The same registration again (same email and password): signed in to the "
                "registration already made, which is resumed if it is still under way.",
            ),
            400: OpenApiResponse(
                description="Validation error, or the email address is taken (`email_taken`)"
            ),
        },
        tags=["checkout"],
    )
    @idempotent(secret_fields=["password"], replay=sign_in_again)
    def post(self, request: Request) -> Response:
        """Register during checkout (source "Portal Checkout") and sign in; a SIM checkout also
        opens the customer's SIM Opportunity."""
        serializer = CheckoutRegistrationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        registration = customer_register(
            data=serializer.to_registration_data(),
            source=RegistrationSource.PORTAL_CHECKOUT,
            order_type=serializer.validated_data["order_type"],
        )
        user = registration.user
        login(request._request, user, backend="django.contrib.auth.backends.ModelBackend")
        return Response(
            MeOutputSerializer(user_with_profile(user_id=user.pk)).data,
            status=status.HTTP_200_OK if registration.resumed else status.HTTP_201_CREATED,
        )


class OrderListCreateApi(APIView):
    InputSerializer = OrderCreateInputSerializer
    OutputSerializer = OrderOutputSerializer

    @extend_schema(
        operation_id="orders_list",
        summary="The customer's orders, newest first",
        parameters=[
            OpenApiParameter("page", OpenApiTypes.INT, OpenApiParameter.QUERY, description="Page number."),
            OpenApiParameter(
                "page_size",
                OpenApiTypes.INT,
                OpenApiParameter.QUERY,
                description=PagePagination.page_size_query_description,
            ),
        ],
        responses={200: OrderPageOutputSerializer},
        tags=["orders"],
    )
    def get(self, request: Request) -> Response:
        paginator = PagePagination()
        page = paginator.paginate_queryset(order_list(user=signed_in_user(request)), request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="orders_create",
        summary="Place an order",
        description=(
            "Internet orders need a confirmed eligibility check (400 `eligibility_required`), SIM "
            "orders a verified residence card (400 `id_verification_required`). The order is "
            "accepted even while Salesforce is unreachable; it reaches Salesforce as soon as "
            "possible (`submitted_to_salesforce`)."
        ),
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            200: OpenApiResponse(
                OutputSerializer,
                description="The order placed by an earlier request with this key, once that request's "
                "answer is no longer kept.",
            ),
            409: OpenApiResponse(description="Another order is being placed (`order_in_progress`)."),
        },
        tags=["orders"],
    )
    @idempotent(required=True)
    def post(self, request: Request) -> Response:
        user = signed_in_user(request)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        placement = order_place(
            user=user,
            # Also the order's own guard, for repeats after the kept answer expired.
            idempotency_key=request.headers[KEY_HEADER],
            product_type=serializer.validated_data["product_type"],
            lines=serializer.to_lines(),
            opportunity_id=serializer.validated_data["opportunity_id"],
        )
        order = order_get(user=user, order_id=placement.order.pk)
        return Response(
            self.OutputSerializer(order).data,
            status=status.HTTP_201_CREATED if placement.created else status.HTTP_200_OK,
        )


class OrderDetailApi(APIView):
    OutputSerializer = OrderOutputSerializer

    @extend_schema(
        operation_id="orders_retrieve",
        summary="One of the customer's orders",
        responses={200: OutputSerializer},
        tags=["orders"],
    )
    def get(self, request: Request, order_id: int) -> Response:
        order = order_get(user=signed_in_user(request), order_id=order_id)
        if order is None:
            raise NotFound()
        return Response(self.OutputSerializer(order).data)
