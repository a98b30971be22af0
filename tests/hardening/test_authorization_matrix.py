"""Who may call what: every API URL for anonymous, customer A, customer B, agent and supervisor.

The table is checked against the URL configuration, so an endpoint added without a row here
fails the suite. Objects in the URLs belong to customer A: B must get 404 (never 403, which would
confirm the object exists), anonymous 401 (with a WWW-Authenticate challenge), staff accounts have
no customer records of their own.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from apps.accounts.models import User
from tests.factories import (
    CustomerFactory,
    NotificationFactory,
    OrderFactory,
    StaffUserFactory,
    SupportCaseFactory,
    WhmcsInvoiceFactory,
    WhmcsServiceFactory,
)

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "customer_a", "customer_b", "agent", "supervisor")


@dataclass(frozen=True)
class Row:
    method: str
    expected: dict[str, int]  # role -> status
    body: dict[str, Any] | None = None
    format: str = "json"


def same(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def signed_in(status: int, anonymous: int = 401) -> dict[str, int]:
    return {**same(status), "anonymous": anonymous}


def owned(owner: int = 200, other: int = 404, staff: int = 404) -> dict[str, int]:
    return {"anonymous": 401, "customer_a": owner, "customer_b": other, "agent": staff, "supervisor": staff}


# URL name -> how to call it and what each role gets.
MATRIX: dict[str, list[Row]] = {
    "healthz": [Row("get", same(200))],
    "readyz": [Row("get", same(200))],
    "api-schema": [Row("get", same(200))],
    "api-docs": [Row("get", same(200))],
    "api-redoc": [Row("get", same(200))],
    # Any other /api/ path: the envelope's 404 for everyone, whatever the method.
    "api-not-found": [Row("get", same(404)), Row("post", same(404), {})],
    "accounts:csrf": [Row("get", same(200))],
    "accounts:signup": [Row("post", same(400), {})],
    "accounts:login": [Row("post", same(400), {})],
    "accounts:logout": [Row("post", signed_in(204))],
    "accounts:password-change": [Row("post", signed_in(400), {})],
    "accounts:password-reset": [Row("post", same(400), {})],
    "accounts:password-reset-confirm": [Row("post", same(400), {})],
    "accounts:me": [Row("get", signed_in(200))],
    "accounts:me-language": [Row("put", signed_in(200), {"language": "ja"})],
    "accounts:me-status": [Row("get", signed_in(200))],
    "accounts:me-summary": [Row("get", signed_in(200))],
    "accounts:billing-invoice-list": [Row("get", signed_in(200))],
    "accounts:billing-invoice-detail": [Row("get", owned())],
    "accounts:billing-payment-method-list": [Row("get", signed_in(200))],
    # The factories' WHMCS client ids are unknown to the emulated WHMCS (503); staff have none (409).
    "accounts:billing-payment-method-add-link": [
        Row("post", {"anonymous": 401, "customer_a": 503, "customer_b": 503, "agent": 409, "supervisor": 409})
    ],
    "accounts:billing-payment-method-refresh": [
        Row("post", {"anonymous": 401, "customer_a": 503, "customer_b": 503, "agent": 409, "supervisor": 409})
    ],
    "catalog-internet": [Row("get", same(200))],
    "catalog-sim": [Row("get", same(200))],
    "catalog-vpn": [Row("get", same(200))],
    "checkout:registration": [Row("post", same(400), {})],
    "checkout:order-list": [Row("get", signed_in(200)), Row("post", signed_in(400), {})],
    "checkout:order-detail": [Row("get", owned())],
    "verification:eligibility-request": [Row("get", signed_in(200)), Row("post", signed_in(400), {})],
    "verification:residence-card": [Row("get", signed_in(200)), Row("post", signed_in(400), {}, "multipart")],
    "subscription-list": [Row("get", signed_in(200))],
    "subscription-detail": [Row("get", owned())],
    # A's service has no Opportunity in this world: A is told to contact support; nobody else sees it.
    "subscription-cancellation": [Row("post", owned(owner=409), {"confirm": True})],
    "notifications:list": [Row("get", signed_in(200))],
    "notifications:unread-count": [Row("get", signed_in(200))],
    "notifications:read-all": [Row("post", signed_in(200))],
    "notifications:read": [Row("post", owned())],
    "notifications:dismiss": [Row("post", owned(owner=204))],
    # Staff have no customer account: they may list (nothing) but cannot open a ticket.
    "support-case-list": [Row("get", signed_in(200)), Row("post", signed_in(400), {})],
    "support-case-detail": [Row("get", owned())],
    "support-case-comments": [Row("post", owned(owner=201), {"body": "Any news?"})],
    # The language cookie, for anyone.
    "set_language": [Row("post", same(302), {"language": "ja"})],
    # The customer portal's pages render for anyone: what they show comes from the API above.
    # Its welcome page sends a signed-in customer to the dashboard.
    "web:home": [Row("get", {**same(200), "customer_a": 302, "customer_b": 302})],
    **{
        f"web:{name}": [Row("get", same(200))]
        for name in (
            "login",
            "signup",
            "reset-password",
            "logout",
            "dashboard",
            "shop",
            "checkout",
            "services",
            "internet",
            "sim",
            "vpn",
            "cancel",
            "orders",
            "invoices",
            "payment-methods",
            "support",
            "support-case",
            "settings",
            "verification",
        )
    },
}


def api_url_names() -> dict[str, str]:
    """Every URL outside the admin: name -> route, from the URL configuration itself."""
    found: dict[str, str] = {}

    def walk(patterns: list[Any], prefix: str, namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern) and not (prefix + str(pattern.pattern)).startswith("admin/"):
                found[f"{namespace}{pattern.name}"] = prefix + str(pattern.pattern)

    walk(get_resolver().url_patterns, "", "")
    return found


def test_every_url_has_a_row() -> None:
    assert sorted(api_url_names()) == sorted(MATRIX)


@pytest.fixture
def world() -> dict[str, Any]:
    customer_a, customer_b = CustomerFactory(), CustomerFactory()
    agent = StaffUserFactory()
    supervisor = StaffUserFactory()
    for user, group in ((agent, "Agents"), (supervisor, "Supervisors")):
        if Group.objects.filter(name=group).exists():
            user.groups.add(Group.objects.get(name=group))
    return {
        "users": {
            "customer_a": customer_a,
            "customer_b": customer_b,
            "agent": agent,
            "supervisor": supervisor,
        },
        "kwargs": {
            "invoice_id": WhmcsInvoiceFactory(user=customer_a).pk,
            "order_id": OrderFactory(user=customer_a).pk,
            "service_id": WhmcsServiceFactory(user=customer_a).pk,
            "notification_id": NotificationFactory(user=customer_a).pk,
            "case_id": SupportCaseFactory(user=customer_a).pk,
        },
    }


def client_for(role: str, users: dict[str, User]) -> APIClient:
    client = APIClient()
    if role != "anonymous":
        client.force_login(users[role])
    return client


def url_for(route: str, kwargs: dict[str, Any]) -> str:
    def fill(match: re.Match[str]) -> str:
        return str(kwargs[match.group(2)])

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", fill, route.lstrip("^"))


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_each_role_gets_the_expected_status(name: str, world: dict[str, Any], systems: Any) -> None:
    route = api_url_names()[name]
    call: Callable[..., Any]
    for row in MATRIX[name]:
        for role in ROLES:
            client = client_for(role, world["users"])
            call = getattr(client, row.method)
            url = url_for(route, world["kwargs"])
            response = call(url, row.body, format=row.format) if row.body is not None else call(url)
            assert response.status_code == row.expected[role], (
                f"{row.method.upper()} {name} as {role}: {response.status_code} "
                f"{getattr(response, 'content', b'')[:200]!r}"
            )


def admin_routes() -> list[tuple[str, str]]:
    """Every admin URL: (route, name), from the admin site itself."""
    found: list[tuple[str, str]] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                found.append(("admin/" + prefix + str(pattern.pattern), pattern.name or ""))

    walk(admin.site.get_urls(), "")
    return found


# Admin URLs that are not behind the admin login, and what a non-staff visitor gets there.
ADMIN_OPEN = {
    "login": 200,
    "logout": 302,  # nothing to log out of: back to the index
    "console_idverificationqueueitem_document": 404,  # never reveals that a document exists
}


def test_customers_and_anonymous_never_reach_the_admin(world: dict[str, Any]) -> None:
    for route, name in admin_routes():
        url = url_for(route, defaultdict(lambda: "1"))
        for role in ("anonymous", "customer_a"):
            response = client_for(role, world["users"]).get(url)
            if name in ADMIN_OPEN:
                assert response.status_code == ADMIN_OPEN[name], f"{name} as {role}: {response.status_code}"
            else:
                assert response.status_code == 302, f"{name} as {role}: {response.status_code}"
                assert response["Location"].startswith("/admin/login/"), name


def test_staff_never_meet_a_server_error_anywhere_in_the_admin(world: dict[str, Any]) -> None:
    for route, name in admin_routes():
        url = url_for(route, defaultdict(lambda: "1"))
        for role in ("agent", "supervisor"):
            response = client_for(role, world["users"]).get(url)
            assert response.status_code < 500, f"{name} as {role}: {response.status_code}"
