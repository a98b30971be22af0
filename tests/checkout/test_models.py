from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from tests.factories import OrderFactory, OrderItemFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_an_idempotency_key_places_one_order_per_customer() -> None:
    order = OrderFactory(idempotency_key="checkout-7f3a")

    with pytest.raises(IntegrityError), transaction.atomic():
        OrderFactory(user=order.user, idempotency_key="checkout-7f3a")


def test_two_customers_may_use_the_same_idempotency_key() -> None:
    OrderFactory(idempotency_key="checkout-7f3a")

    other = OrderFactory(user=UserFactory(), idempotency_key="checkout-7f3a")

    assert other.pk is not None


def test_salesforce_order_ids_are_unique_once_known() -> None:
    OrderFactory(salesforce_id=None)
    OrderFactory(salesforce_id=None)
    order = OrderFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        OrderFactory(salesforce_id=order.salesforce_id)


@pytest.mark.parametrize(("field", "value"), [("quantity", 0), ("unit_price", -1)])
def test_order_items_refuse_nonsense_quantities_and_prices(field: str, value: int) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderItemFactory(**{field: value})
