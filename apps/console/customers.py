"""One customer whole (profile, services, invoices, orders, cases, decisions, notifications
sent, Salesforce/WHMCS sync state) and the console's one search box (email, name, phone,
customer number, postal code, Japanese address): reads only."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Concat, Replace

from apps.accounts.models import CustomerProfile, IdMapping, User
from apps.billing.models import WhmcsInvoice, WhmcsService
from apps.checkout.models import Order
from apps.console.models import AgentDecision
from apps.console.selectors import japanese_address_run, outbox_unsettled_for_customer
from apps.notifications.models import Notification
from apps.opportunities.models import Case

SEARCH_LIMIT = 50

# A phone number or postal code as agents type them: digits and separators (〒, +81, brackets).
_NUMBER = re.compile(r"[\d\s+()〒\-－‐−]+")


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _without_spaces(text: str) -> str:
    return "".join(text.split())


def customer_search(*, query: str) -> QuerySet[User]:
    """Customers whose email, name (either order, kana too), phone number, customer number,
    postal code or Japanese address matches ``query``; phone numbers and postal codes match with
    or without hyphens (a query of digits and separators only), the Japanese address by any run of it (``渋谷区``, ``神南1-2-3``,
    ``東京都渋谷区神南``) with or without spaces between its parts."""
    query = query.strip()
    if not query:
        return User.objects.none()
    condition = (
        Q(email__icontains=query)
        | Q(first_name__icontains=query)
        | Q(last_name__icontains=query)
        | Q(full_name__icontains=query.replace(" ", ""))
        | Q(profile__customer_number__iexact=query)
        | Q(profile__last_name_kana__icontains=query)
        | Q(profile__first_name_kana__icontains=query)
        | Q(address_ja__icontains=_without_spaces(query))
    )
    digits = _digits(query)
    # Only a query that is a number (phone, postal code) matches by its digits: the digits of a
    # street ("神南1-2-3") or a customer number are not a phone number.
    if len(digits) >= 3 and _NUMBER.fullmatch(query):
        condition |= Q(phone_digits__contains=digits) | Q(postal_digits__startswith=digits)
    return (
        User.objects.filter(is_staff=False)
        .annotate(
            full_name=Concat("last_name", "first_name"),
            phone_digits=Replace(
                Replace("profile__phone_number", Value("-"), Value("")), Value(" "), Value("")
            ),
            postal_digits=Replace("profile__postal_code", Value("-"), Value("")),
            address_ja=japanese_address_run("profile__"),
        )
        .filter(condition)
        .select_related("profile")
        .order_by("last_name", "first_name", "pk")[:SEARCH_LIMIT]
    )


@dataclass(frozen=True)
class SyncLinks:
    salesforce_account_id: str
    whmcs_client_id: int | None
    salesforce_url: str
    whmcs_url: str


def _sync_links(mapping: IdMapping | None) -> SyncLinks:
    account_id = mapping.salesforce_account_id if mapping else ""
    client_id = mapping.whmcs_client_id if mapping else None
    sf_base = settings.CONSOLE_SALESFORCE_URL.rstrip("/")
    whmcs_base = settings.CONSOLE_WHMCS_ADMIN_URL.rstrip("/")
    return SyncLinks(
        salesforce_account_id=account_id,
        whmcs_client_id=client_id,
        salesforce_url=f"{sf_base}/lightning/r/Account/{account_id}/view" if sf_base and account_id else "",
        whmcs_url=f"{whmcs_base}/clientssummary.php?userid={client_id}" if whmcs_base and client_id else "",
    )


def customer_overview(*, user_id: int) -> dict[str, Any] | None:
    user = User.objects.filter(pk=user_id, is_staff=False).first()
    if user is None:
        return None
    profile = CustomerProfile.objects.filter(user=user).first()
    mapping = IdMapping.objects.filter(user=user).first()
    return {
        "customer": user,
        "profile": profile,
        "sync": _sync_links(mapping),
        "services": list(WhmcsService.objects.filter(user=user).order_by("-registered_on", "-pk")),
        "invoices": list(WhmcsInvoice.objects.filter(user=user).order_by("-issued_on", "-pk")[:24]),
        "orders": list(Order.objects.filter(user=user).order_by("-created_at")),
        "cases": list(Case.objects.filter(user=user).order_by("-created_at")),
        "decisions": list(
            AgentDecision.objects.filter(customer=user)
            .select_related("agent")
            .order_by("-created_at", "-id")[:50]
        ),
        "notifications": list(Notification.objects.filter(user=user).order_by("-created_at")[:50]),
        "outbox_entries": outbox_unsettled_for_customer(user_id=user.pk),
    }
