from django.contrib.auth import login
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.api.serializers import MeOutputSerializer
from apps.accounts.api.views import AnonymousFormApi
from apps.accounts.models import RegistrationSource
from apps.accounts.registration import customer_register
from apps.accounts.selectors import user_with_profile
from apps.checkout.api.serializers import CheckoutRegistrationInputSerializer


class CheckoutRegistrationApi(AnonymousFormApi):
    throttle_scope = "signup"

    @extend_schema(
        operation_id="checkout_registration",
        request=CheckoutRegistrationInputSerializer,
        responses={201: MeOutputSerializer},
        tags=["checkout"],
    )
    def post(self, request: Request) -> Response:
        """Register during checkout (source "Portal Checkout") and sign in; a SIM checkout also
        opens the customer's SIM Opportunity."""
        serializer = CheckoutRegistrationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = customer_register(
            data=serializer.to_registration_data(),
            source=RegistrationSource.PORTAL_CHECKOUT,
            order_type=serializer.validated_data["order_type"],
        )
        login(request._request, user, backend="django.contrib.auth.backends.ModelBackend")
        return Response(
            MeOutputSerializer(user_with_profile(user_id=user.pk)).data, status=status.HTTP_201_CREATED
        )
