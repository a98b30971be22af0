"""Reads of the customer's orders, from the portal's mirror only (never Salesforce)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from apps.accounts.models import CustomerProfile, EligibilityStatus, IdVerificationStatus, User
from apps.billing.models import WhmcsPaymentMethod
from apps.catalog.models import PriceMismatch, ProductType
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


def order_prerequisites_prefetch(orders: QuerySet[Order]) -> QuerySet[Order]:
    """What :func:`order_prerequisites` reads, for a list of orders in a fixed number of queries."""
    return orders.prefetch_related(
        Prefetch("items", queryset=OrderItem.objects.select_related("product")),
        "items__product__price_mismatches",
        Prefetch("user__whmcspaymentmethod_set", queryset=WhmcsPaymentMethod.objects.order_by("whmcs_id")),
    )


def order_prerequisites(*, order: Order, profile: CustomerProfile | None = None) -> list[Prerequisite]:
    """What an order needs before an agent approves it: internet an eligibility result, SIM a
    verified ID (internet too where ``INTERNET_ORDERS_REQUIRE_ID_VERIFICATION`` says so), every
    order a payment method WHMCS can bill where ``ORDERS_REQUIRE_PAYMENT_METHOD`` says so, and
    every item a WHMCS product that can bill it (quote vs WHMCS price shown, billed as quoted)."""
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
        checks.append(_payment_method_check(order))
    checks.append(_billing_check(order))
    return checks


def _money(amount: Decimal, currency: str) -> str:
    return f"¥{amount:,.0f}" if currency == "JPY" else f"{amount:,.2f} {currency}"


def _billing_check(order: Order) -> Prerequisite:
    """Quote vs WHMCS, from the catalog sync's last comparison (``PriceMismatch``): fulfillment
    bills each item's quoted unit price (AddOrder ``priceoverride``), so a price difference is
    shown but does not block; an item WHMCS cannot bill at all (no product, cycle not offered)
    does. Reads ``order.items`` with their products' mismatches (prefetched by
    :func:`order_prerequisites_prefetch`)."""
    items = sorted(order.items.all(), key=lambda item: item.pk)
    rows: dict[tuple[int, str], PriceMismatch] = {
        (row.product_id, row.kind): row for item in items for row in item.product.price_mismatches.all()
    }
    blocking: list[str] = []
    differences: list[str] = []
    quoted_total = whmcs_total = Decimal("0")
    for item in items:
        product = item.product
        quoted_total += item.unit_price * item.quantity
        for kind in PriceMismatch.BLOCKING_KINDS:
            if (product.pk, kind) in rows:
                blocking.append(f"{product.name}: {PriceMismatch.Kind(kind).label}")
        price_row = rows.get((product.pk, PriceMismatch.Kind.PRICE))
        fee_row = rows.get((product.pk, PriceMismatch.Kind.SETUP_FEE))
        whmcs_price = (
            price_row.whmcs_price if price_row and price_row.whmcs_price is not None else product.price
        )
        setup_fee = fee_row.whmcs_setup_fee if fee_row and fee_row.whmcs_setup_fee else Decimal("0")
        whmcs_total += whmcs_price * item.quantity + setup_fee * item.quantity
        if whmcs_price != item.unit_price or setup_fee:
            differences.append(
                gettext("%(product)s: quoted %(quote)s, WHMCS %(whmcs)s")
                % {
                    "product": product.name,
                    "quote": _money(item.unit_price, order.currency_code),
                    "whmcs": _money(whmcs_price, order.currency_code)
                    + (
                        gettext(" + setup fee %(fee)s") % {"fee": _money(setup_fee, order.currency_code)}
                        if setup_fee
                        else ""
                    ),
                }
            )
    if blocking:
        detail = "; ".join(blocking)
    elif differences:
        detail = gettext("Quote %(quote)s, WHMCS list price %(whmcs)s: billed as quoted. %(items)s") % {
            "quote": _money(quoted_total, order.currency_code),
            "whmcs": _money(whmcs_total, order.currency_code),
            "items": "; ".join(differences),
        }
    else:
        detail = gettext("Quote %(quote)s matches WHMCS") % {
            "quote": _money(quoted_total, order.currency_code)
        }
    return Prerequisite(label=gettext("WHMCS bills the quoted prices"), met=not blocking, detail=detail)


def _payment_method_check(order: Order) -> Prerequisite:
    """From ``order.user.whmcspaymentmethod_set`` (prefetched by the console's queue)."""
    today = timezone.localdate()
    methods = sorted(order.user.whmcspaymentmethod_set.all(), key=lambda method: method.whmcs_id)
    usable = [method for method in methods if method.expires_on is None or method.expires_on >= today]
    if usable:
        detail = ", ".join(str(method) for method in usable)
    elif methods:
        detail = gettext("Only expired payment methods")
    else:
        detail = gettext("None in WHMCS")
    return Prerequisite(label=gettext("A payment method is on file"), met=bool(usable), detail=detail)
