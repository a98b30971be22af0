"""Reads of the customer's orders, from the portal's mirror only (never Salesforce)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from apps.accounts.models import User
from apps.checkout.models import Order, OrderItem


def order_list(*, user: User) -> QuerySet[Order]:
    """The customer's orders, newest first, with their items and products (a fixed number of
    queries whatever the page size)."""
    items = OrderItem.objects.select_related("product").order_by("pk")
    return (
        Order.objects.filter(user=user)
        .prefetch_related(Prefetch("items", queryset=items))
        .order_by("-created_at", "-pk")
    )


def order_get(*, user: User, order_id: int) -> Order | None:
    """One of the customer's orders by its portal pk, or None if it is not theirs."""
    return order_list(user=user).filter(pk=order_id).first()
