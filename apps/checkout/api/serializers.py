from rest_framework import serializers

from apps.accounts.api.serializers import RegistrationInputSerializer
from apps.catalog.models import ProductType


class CheckoutRegistrationInputSerializer(RegistrationInputSerializer):
    """Sign-up during checkout: the customer's details plus what they are about to order."""

    order_type = serializers.ChoiceField(choices=ProductType.choices)
