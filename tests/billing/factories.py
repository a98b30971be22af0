"""Small factories for the billing-sync tests."""

from __future__ import annotations

from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from apps.accounts.models import IdMapping, User
from apps.catalog.models import BillingCycle, ItemClass, Product, ProductType


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    first_name = "Taro"
    last_name = "Yamada"


class IdMappingFactory(DjangoModelFactory[IdMapping]):
    class Meta:
        model = IdMapping

    user = factory.SubFactory(UserFactory)
    salesforce_account_id = factory.Sequence(lambda n: f"001{n:015d}")
    whmcs_client_id = None


class ProductFactory(DjangoModelFactory[Product]):
    class Meta:
        model = Product

    salesforce_id = factory.Sequence(lambda n: f"01t{n:015d}")
    name = "Home 1G"
    product_type = ProductType.INTERNET
    item_class = ItemClass.PLAN
    billing_cycle = BillingCycle.MONTHLY
    price = Decimal("5500.00")
    whmcs_product_id = 1
