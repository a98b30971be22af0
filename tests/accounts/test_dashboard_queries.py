"""What the dashboard reads from the database, through the HTTP API with a real session cookie.

As deployed with Redis: sessions are ``cached_db`` and the signed-in user is cached
(apps/accounts/user_cache.py), so a dashboard served from its cache reads no table at all, and a
miss reads only the dashboard's own rows. The counts are capped, so their cost does not grow with
the customer's history. Commits (``transaction=True``): caches are dropped when a write commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.accounts.dashboard import DASHBOARD_COUNT_CAP
from apps.accounts.models import User
from tests.factories import CustomerFactory, NotificationFactory
from tests.helpers import error_code

pytestmark = pytest.mark.django_db(transaction=True)

STATUS = "/api/me/status"
PASSWORD = "a long enough passphrase 42"


@pytest.fixture(autouse=True)
def as_deployed(settings: Any) -> Iterator[None]:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    settings.AUTH_USER_CACHE_SECONDS = 60
    settings.DASHBOARD_CACHE_SECONDS = 30
    cache.clear()
    yield
    cache.clear()


def signed_in(user: User) -> APIClient:
    """A client holding the session cookie the sign-in endpoint set."""
    user.set_password(PASSWORD)
    user.save()
    api = APIClient()
    response = api.post("/api/auth/login", {"email": user.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return api


def test_a_dashboard_cache_hit_reads_no_table() -> None:
    api = signed_in(CustomerFactory())
    first = api.get(STATUS)
    assert first.status_code == 200

    with CaptureQueriesContext(connection) as queries:
        again = api.get(STATUS)

    assert again.status_code == 200
    assert again.json() == first.json()
    assert len(queries) == 0, [query["sql"] for query in queries]


def test_a_dashboard_cache_miss_reads_at_most_five_queries(
    settings: Any, django_assert_max_num_queries: Callable[[int], AbstractContextManager[Any]]
) -> None:
    customer = CustomerFactory()
    NotificationFactory.create_batch(3, user=customer)
    api = signed_in(customer)
    assert api.get(STATUS).status_code == 200
    settings.DASHBOARD_CACHE_SECONDS = 0  # every request reads the dashboard's rows

    with django_assert_max_num_queries(5):
        response = api.get(STATUS)

    assert response.status_code == 200
    assert response.json()["summary"]["stats"]["unread_notifications"] == 3


def test_a_linked_customer_s_dashboard_is_one_statement(
    settings: Any, django_assert_num_queries: Callable[[int], AbstractContextManager[Any]]
) -> None:
    # A row (profile, mapping, next invoice, counts) and the recent orders and notifications.
    customer = CustomerFactory()
    NotificationFactory.create_batch(2, user=customer)
    api = signed_in(customer)
    assert api.get(STATUS).status_code == 200
    settings.DASHBOARD_CACHE_SECONDS = 0

    with django_assert_num_queries(1):
        response = api.get(STATUS)

    assert response.json()["summary"]["stats"]["unread_notifications"] == 2
    assert len(response.json()["summary"]["recent_activity"]) == 2


def test_a_password_change_ends_other_sessions_despite_the_cached_user() -> None:
    customer = CustomerFactory()
    api = signed_in(customer)
    assert api.get(STATUS).status_code == 200

    customer.set_password("another long passphrase 43")
    customer.save()

    response = api.get(STATUS)
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


def test_a_deactivated_customer_is_signed_out_despite_the_cached_user() -> None:
    customer = CustomerFactory()
    api = signed_in(customer)
    assert api.get(STATUS).status_code == 200

    customer.is_active = False
    customer.save()

    assert api.get(STATUS).status_code == 401


def test_the_unread_count_stops_at_the_cap() -> None:
    customer = CustomerFactory()
    NotificationFactory.create_batch(DASHBOARD_COUNT_CAP + 20, user=customer)
    api = signed_in(customer)

    stats = api.get(STATUS).json()["summary"]["stats"]

    assert stats["unread_notifications"] == DASHBOARD_COUNT_CAP
