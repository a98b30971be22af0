from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_a_product2_is_mirrored_once() -> None:
    product = ProductFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFactory(salesforce_id=product.salesforce_id)


def test_prices_are_never_negative() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFactory(price=-1)
