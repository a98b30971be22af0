"""The notification APIs over HTTP, as the portal front end calls them."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.notifications.models import Notification, NotificationSource, NotificationType
from apps.notifications.selectors import UNREAD_COUNT_CAP
from apps.notifications.services import notification_create
from tests.factories import CustomerFactory, NotificationFactory
from tests.helpers import error_code, error_message

pytestmark = pytest.mark.django_db

ITEM_KEYS = {
    "id",
    "type",
    "title",
    "message",
    "action_url",
    "action_label",
    "source",
    "read",
    "read_at",
    "created_at",
    "expires_at",
}


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def list_ids(client: APIClient, **params: str) -> list[str]:
    response = client.get(reverse("notifications:list"), params)
    assert response.status_code == 200
    return [item["id"] for item in response.json()["results"]]


# --- List ---------------------------------------------------------------------------------------


def test_list_item_shape_never_exposes_source_id_or_parameters() -> None:
    user = CustomerFactory()
    notification = notification_create(
        user_id=user.pk,
        type=NotificationType.ORDER_APPROVED,
        source=NotificationSource.PORTAL,
        source_id="801000000000001",
        context={"order_number": "00001234"},
    )
    assert notification is not None

    response = client_for(user).get(reverse("notifications:list"))

    assert response.status_code == 200
    body = response.json()
    assert "count" not in body
    assert body["next"] is None
    assert body["previous"] is None
    [item] = body["results"]
    assert set(item) == ITEM_KEYS
    assert item["id"] == str(notification.pk)
    assert item["type"] == "order_approved"
    assert item["source"] == "portal"
    assert item["title"] == "Order approved"
    assert item["action_url"] == "/account/orders"
    assert item["read"] is False
    assert item["read_at"] is None


def test_list_shows_newest_first_read_or_not() -> None:
    user = CustomerFactory()
    now = timezone.now()
    old_unread = NotificationFactory(user=user, created_at=now - timedelta(days=3))
    new_read = NotificationFactory(user=user, created_at=now - timedelta(minutes=1), read=True, read_at=now)
    new_unread = NotificationFactory(user=user, created_at=now - timedelta(hours=1))
    old_read = NotificationFactory(user=user, created_at=now - timedelta(days=5), read=True, read_at=now)

    ids = list_ids(client_for(user))

    assert ids == [str(n.pk) for n in (new_read, new_unread, old_unread, old_read)]


def test_list_leaves_out_dismissed_expired_and_other_customers_notifications() -> None:
    user, other = CustomerFactory(), CustomerFactory()
    visible = NotificationFactory(user=user)
    NotificationFactory(user=user, dismissed=True)
    NotificationFactory(user=user, expires_at=timezone.now() - timedelta(seconds=1))
    NotificationFactory(user=other)

    ids = list_ids(client_for(user))

    assert ids == [str(visible.pk)]


def walk(client: APIClient, url: str) -> tuple[list[str], list[dict[str, object]]]:
    """Follow ``next`` from ``url`` to the end: the ids in order and each page's body."""
    ids: list[str] = []
    pages: list[dict[str, object]] = []
    next_url: str | None = url
    while next_url:
        response = client.get(next_url)
        assert response.status_code == 200
        body = response.json()
        pages.append(body)
        ids += [item["id"] for item in body["results"]]
        next_url = body["next"]
    return ids, pages


def test_list_is_cursor_paginated_20_per_page_newest_first() -> None:
    user = CustomerFactory()
    now = timezone.now()
    notifications = [NotificationFactory(user=user, created_at=now - timedelta(minutes=i)) for i in range(25)]
    client = client_for(user)

    ids, pages = walk(client, reverse("notifications:list"))

    assert ids == [str(n.pk) for n in notifications]
    assert [len(page["results"]) for page in pages] == [20, 5]  # type: ignore[arg-type]
    assert pages[0]["previous"] is None
    assert "cursor=" in str(pages[0]["next"])
    assert "page=" not in str(pages[0]["next"])
    back = client.get(str(pages[1]["previous"])).json()
    assert [item["id"] for item in back["results"]] == ids[:20]


def test_a_new_notification_does_not_shift_the_next_page() -> None:
    user = CustomerFactory()
    now = timezone.now()
    notifications = [
        NotificationFactory(user=user, created_at=now - timedelta(minutes=i + 1)) for i in range(6)
    ]
    client = client_for(user)
    first = client.get(reverse("notifications:list"), {"page_size": 3}).json()

    NotificationFactory(user=user, created_at=now)
    second = client.get(first["next"]).json()

    assert [item["id"] for item in second["results"]] == [str(n.pk) for n in notifications[3:]]


def test_ties_on_created_at_are_neither_repeated_nor_skipped() -> None:
    user = CustomerFactory()
    same_instant = timezone.now()
    notifications = NotificationFactory.create_batch(7, user=user, created_at=same_instant)

    ids, _ = walk(client_for(user), reverse("notifications:list") + "?page_size=2")

    assert sorted(ids) == sorted(str(n.pk) for n in notifications)
    assert len(ids) == 7


def test_list_page_size_can_be_chosen_up_to_100() -> None:
    user = CustomerFactory()
    NotificationFactory.create_batch(12, user=user)
    NotificationFactory.create_batch(100, user=user, read=True)
    client = client_for(user)

    small = client.get(reverse("notifications:list"), {"page_size": 5}).json()
    capped = client.get(reverse("notifications:list"), {"page_size": 1000}).json()

    assert len(small["results"]) == 5
    assert len(capped["results"]) == 100
    assert capped["next"] is not None


def test_a_cursor_that_does_not_decode_is_not_found() -> None:
    user = CustomerFactory()
    NotificationFactory(user=user)

    response = client_for(user).get(reverse("notifications:list"), {"cursor": "not-a-cursor"})

    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_list_query_count_stays_constant_as_notifications_grow(
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    user = CustomerFactory()
    client = client_for(user)
    NotificationFactory(user=user)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("notifications:list"))
    NotificationFactory.create_batch(40, user=user)

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(reverse("notifications:list"), {"page_size": 41})

    assert len(response.json()["results"]) == 41
    assert len(one.captured_queries) <= 3  # session, user, page (no COUNT)


# --- Unread count -------------------------------------------------------------------------------


def test_unread_count_counts_only_visible_unread_notifications() -> None:
    user, other = CustomerFactory(), CustomerFactory()
    NotificationFactory.create_batch(3, user=user)
    NotificationFactory(user=user, read=True, read_at=timezone.now())
    NotificationFactory(user=user, dismissed=True)
    NotificationFactory(user=user, expires_at=timezone.now() - timedelta(seconds=1))
    NotificationFactory(user=other)

    response = client_for(user).get(reverse("notifications:unread-count"))

    assert response.status_code == 200
    assert response.json() == {"unread_count": 3}


def test_the_unread_count_stops_at_the_cap_which_reads_that_many_or_more() -> None:
    user = CustomerFactory()
    NotificationFactory.create_batch(UNREAD_COUNT_CAP - 1, user=user)
    client = client_for(user)
    assert client.get(reverse("notifications:unread-count")).json() == {"unread_count": UNREAD_COUNT_CAP - 1}

    NotificationFactory.create_batch(2, user=user)

    assert client.get(reverse("notifications:unread-count")).json() == {"unread_count": UNREAD_COUNT_CAP}


# --- Read, read all, dismiss --------------------------------------------------------------------


def test_read_marks_the_notification_read_and_returns_it() -> None:
    notification = NotificationFactory()
    client = client_for(notification.user)

    response = client.post(reverse("notifications:read", args=[notification.pk]))

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(notification.pk)
    assert body["read"] is True
    assert body["read_at"] is not None
    notification.refresh_from_db()
    assert notification.read is True
    assert notification.read_at is not None
    assert client.get(reverse("notifications:unread-count")).json() == {"unread_count": 0}


def test_read_all_marks_every_unread_notification_read() -> None:
    user = CustomerFactory()
    NotificationFactory.create_batch(3, user=user)
    NotificationFactory(user=user, read=True, read_at=timezone.now())
    client = client_for(user)

    response = client.post(reverse("notifications:read-all"))

    assert response.status_code == 200
    assert response.json() == {"updated": 3}
    assert Notification.objects.filter(user=user, read=False).count() == 0
    assert client.get(reverse("notifications:unread-count")).json() == {"unread_count": 0}


def test_dismiss_removes_the_notification_from_the_list() -> None:
    user = CustomerFactory()
    kept = NotificationFactory(user=user)
    dismissed = NotificationFactory(user=user)
    client = client_for(user)

    response = client.post(reverse("notifications:dismiss", args=[dismissed.pk]))

    assert response.status_code == 204
    dismissed.refresh_from_db()
    assert dismissed.dismissed is True
    assert list_ids(client) == [str(kept.pk)]
    assert client.get(reverse("notifications:unread-count")).json() == {"unread_count": 1}


def test_an_unknown_notification_is_not_found() -> None:
    client = client_for(CustomerFactory())

    read = client.post(reverse("notifications:read", args=[uuid.uuid4()]))
    dismiss = client.post(reverse("notifications:dismiss", args=[uuid.uuid4()]))

    assert read.status_code == 404
    assert dismiss.status_code == 404


# --- Permissions --------------------------------------------------------------------------------


def test_another_customer_can_never_read_mark_or_dismiss_a_notification() -> None:
    owner, intruder = CustomerFactory(), CustomerFactory()
    notification = NotificationFactory(user=owner)
    client = client_for(intruder)

    listed = list_ids(client)
    read = client.post(reverse("notifications:read", args=[notification.pk]))
    dismiss = client.post(reverse("notifications:dismiss", args=[notification.pk]))
    read_all = client.post(reverse("notifications:read-all"))
    count = client.get(reverse("notifications:unread-count"))

    assert listed == []
    assert read.status_code == 404
    assert (error_code(read), error_message(read)) == ("not_found", "Not found.")
    assert dismiss.status_code == 404
    assert read_all.json() == {"updated": 0}
    assert count.json() == {"unread_count": 0}
    notification.refresh_from_db()
    assert notification.read is False
    assert notification.read_at is None
    assert notification.dismissed is False


@pytest.mark.parametrize(
    ("method", "name", "with_id"),
    [
        ("get", "notifications:list", False),
        ("get", "notifications:unread-count", False),
        ("post", "notifications:read-all", False),
        ("post", "notifications:read", True),
        ("post", "notifications:dismiss", True),
    ],
)
def test_anonymous_requests_are_refused(method: str, name: str, with_id: bool) -> None:
    notification = NotificationFactory()
    url = reverse(name, args=[notification.pk] if with_id else [])

    response = getattr(APIClient(), method)(url)

    # Signed out: 401 with the session's WWW-Authenticate challenge.
    assert response.status_code == 401
    assert (error_code(response), error_message(response)) == (
        "not_authenticated",
        "Authentication credentials were not provided.",
    )
    notification.refresh_from_db()
    assert notification.read is False
    assert notification.dismissed is False


def test_the_schema_documents_every_notification_endpoint() -> None:
    response = client_for(CustomerFactory()).get(reverse("api-schema"), {"format": "json"})

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(paths["/api/notifications"]) == {"get"}
    assert set(paths["/api/notifications/unread-count"]) == {"get"}
    assert set(paths["/api/notifications/read-all"]) == {"post"}
    assert set(paths["/api/notifications/{notification_id}/read"]) == {"post"}
    assert set(paths["/api/notifications/{notification_id}/dismiss"]) == {"post"}
    item = response.json()["components"]["schemas"]["Notification"]
    assert set(item["properties"]) == ITEM_KEYS
