"""Reads of the customer's orders, from the portal's mirror only (never Salesforce)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from apps.accounts.models import CustomerProfile, EligibilityStatus, IdVerificationStatus, User
from apps.billing.models import WhmcsPaymentMethod
from apps.catalog.models import ProductType
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


@dataclass(frozen=True)
class Prerequisite:
    label: str
    met: bool
    detail: str


def order_prerequisites(*, order: Order, profile: CustomerProfile | None = None) -> list[Prerequisite]:
    """What an order needs before an agent approves it: internet an eligibility result, SIM a
    verified ID (internet too where ``INTERNET_ORDERS_REQUIRE_ID_VERIFICATION`` says so), every
    order a payment method WHMCS can bill where ``ORDERS_REQUIRE_PAYMENT_METHOD`` says so."""
    if profile is None:
        profile = CustomerProfile.objects.filter(user_id=order.user_id).first() or CustomerProfile(
            user_id=order.user_id
        )
    checks: list[Prerequisite] = []
    if order.product_type == ProductType.INTERNET:
        checks.append(
            Prerequisite(
                label=gettext("Internet eligibility is set (Eligible)"),
                met=profile.internet_eligibility_status == EligibilityStatus.ELIGIBLE
                and bool(profile.internet_eligibility),
                detail=" · ".join(
                    part
                    for part in (
                        profile.get_internet_eligibility_status_display(),
                        profile.internet_eligibility,
                    )
                    if part
                ),
            )
        )
    needs_id = order.product_type == ProductType.SIM or (
        order.product_type == ProductType.INTERNET and settings.INTERNET_ORDERS_REQUIRE_ID_VERIFICATION
    )
    if needs_id:
        checks.append(
            Prerequisite(
                label=gettext("ID verification is Verified"),
                met=profile.id_verification_status == IdVerificationStatus.VERIFIED,
                detail=profile.get_id_verification_status_display(),
            )
        )
    if settings.ORDERS_REQUIRE_PAYMENT_METHOD:
        checks.append(_payment_method_check(order.user_id))
    return checks


def _payment_method_check(user_id: int) -> Prerequisite:
    today = timezone.localdate()
    methods = list(WhmcsPaymentMethod.objects.filter(user_id=user_id).order_by("whmcs_id"))
    usable = [method for method in methods if method.expires_on is None or method.expires_on >= today]
    if usable:
        detail = ", ".join(str(method) for method in usable)
    elif methods:
        detail = gettext("Only expired payment methods")
    else:
        detail = gettext("None in WHMCS")
    return Prerequisite(label=gettext("A payment method is on file"), met=bool(usable), detail=detail)
