"""Notifications benchmark (issue 19, item 3): the bell's API in-process, through the whole
middleware stack and session authentication (Django's test client, production settings).

- Pages: a customer with 10,000 live notifications; the list is walked with ``page_size=20``
  following ``next`` to page 500 (the last), then page 1 and page 500 are requested alternately,
  median of ``REPEAT`` each. Cursor pagination reads each page from the feed index from its
  cursor on, so the last page should cost what the first does.
- Unread count: ``GET /api/notifications/unread-count`` for a customer with 10,000 unread and
  one with 10 unread, alternately, median of ``REPEAT`` each.

The rows are inserted set-based for two customers outside the dashboard's traffic.
"""

from __future__ import annotations

import statistics
import time
from urllib.parse import urlsplit

from django.db import connection
from django.test import Client

from bench.dashboard import PROXY_HEADERS, session_cookies
from bench.data import CUSTOMERS, insert_select
from bench.report import Row, ms, verdict

LIST = "/api/notifications"
UNREAD = "/api/notifications/unread-count"
FEED_SIZE = 10_000
PAGE_SIZE = 20
LAST_PAGE = FEED_SIZE // PAGE_SIZE  # 500
FEW_UNREAD = 10
REPEAT = 200
# Customers outside the dashboard's traffic (2,000 from user 1) and its counts customers (the last two).
FEED_USER = CUSTOMERS - 2
FEW_USER = CUSTOMERS - 3


def _fill(user_id: int, count: int) -> None:
    from apps.notifications.models import Notification

    Notification.objects.filter(user_id=user_id).delete()
    insert_select(
        Notification,
        f"generate_series(1, {count:d}) AS n",
        {
            "id": "gen_random_uuid()",
            "user_id": str(user_id),
            "type": "'SYSTEM_ANNOUNCEMENT'",
            "title": "'Notice ' || n",
            "message": "'A message the customer may read.'",
            "source": "'SYSTEM'",
            "source_id": "NULL",
            "context": "'{}'::jsonb",
            "read": "false",
            "read_at": "NULL",
            "dismissed": "false",
            # A minute apart, the newest a minute old: all live (30-day retention).
            "created_at": "now() - n * interval '1 minute'",
            "expires_at": "now() - n * interval '1 minute' + interval '30 days'",
        },
    )


def _client(cookie: str) -> Client:
    client = Client()
    name, value = cookie.split("=", 1)
    client.cookies[name] = value
    return client


def _get(client: Client, path: str) -> dict:
    response = client.get(path, headers=PROXY_HEADERS)
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}: {response.content[:300]!r}")
    return response.json()


def _alternate(client_a: Client, path_a: str, client_b: Client, path_b: str) -> tuple[float, float]:
    """Median seconds of ``REPEAT`` requests of each, alternating so both see the same machine."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(REPEAT):
        for slot, (client, path) in enumerate(((client_a, path_a), (client_b, path_b))):
            started = time.perf_counter()
            client.get(path, headers=PROXY_HEADERS)
            times[slot].append(time.perf_counter() - started)
    return statistics.median(times[0]), statistics.median(times[1])


def run() -> list[Row]:
    from apps.notifications.models import Notification

    _fill(FEED_USER, FEED_SIZE)
    _fill(FEW_USER, FEW_UNREAD)
    with connection.cursor() as cursor:
        # As autovacuum leaves a table after a bulk insert: visibility map set, statistics fresh.
        cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(Notification._meta.db_table)}")
    feed_cookie, few_cookie = session_cookies([FEED_USER, FEW_USER])
    feed, few = _client(feed_cookie), _client(few_cookie)

    first = f"{LIST}?page_size={PAGE_SIZE}"
    path, page, seen = first, 1, 0
    while True:
        body = _get(feed, path)
        seen += len(body["results"])
        if page == LAST_PAGE or body["next"] is None:
            break
        next_url = urlsplit(body["next"])
        path, page = f"{next_url.path}?{next_url.query}", page + 1
    if page != LAST_PAGE or seen != FEED_SIZE or len(body["results"]) != PAGE_SIZE:
        raise RuntimeError(
            f"walked {page} pages, {seen:,} notifications: expected {LAST_PAGE} pages of {PAGE_SIZE}"
        )
    page_1, page_last = _alternate(feed, first, feed, path)
    pages_ratio = page_last / page_1

    many = _get(feed, UNREAD)["unread_count"]
    few_count = _get(few, UNREAD)["unread_count"]
    many_seconds, few_seconds = _alternate(feed, UNREAD, few, UNREAD)
    unread_ratio = many_seconds / few_seconds
    stored = Notification.objects.filter(user_id=FEED_USER, read=False).count()
    return [
        Row(
            "N",
            f"GET {LIST}?page_size={PAGE_SIZE}: page {LAST_PAGE} (the last, reached through `next`) "
            f"against page 1, {FEED_SIZE:,} notifications (in-process, median of {REPEAT})",
            f"page {LAST_PAGE}: {ms(page_last)}",
            f"page 1: {ms(page_1)}",
            f"{pages_ratio:.2f}",
            "<= 1.2",
            verdict(pages_ratio <= 1.2),
            key="3.pages",
        ),
        Row(
            "N",
            f"GET {UNREAD}: {stored:,} against {FEW_UNREAD} unread (in-process, median of {REPEAT}; "
            f"answers {many} and {few_count})",
            f"{stored:,} unread: {ms(many_seconds)}",
            f"{FEW_UNREAD} unread: {ms(few_seconds)}",
            f"{unread_ratio:.2f}",
            "0.8-1.2",
            verdict(0.8 <= unread_ratio <= 1.2),
            key="3.unread",
        ),
    ]
