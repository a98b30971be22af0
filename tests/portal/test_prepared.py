"""Hot reads sent as prepared statements (portal/prepared.py): on PostgreSQL the dashboard's
statement is prepared once per connection and runs on one generic plan, and it stays visible to
Django's query log like any other statement."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import Settings

from portal.prepared import prepared_cursor
from tests.factories import CustomerFactory, NotificationFactory
from tests.helpers import api_for

pytestmark = pytest.mark.django_db


def prepared_statements() -> list[tuple[str, int, int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        return [
            (str(statement), int(generic), int(custom)) for statement, generic, custom in cursor.fetchall()
        ]


def test_a_statement_runs_with_its_values_and_is_logged() -> None:
    with CaptureQueriesContext(connection) as queries, prepared_cursor() as cursor:
        cursor.execute(
            "SELECT CAST(%s AS integer) + CAST(%s AS integer), CAST(%s AS text)", [40, 2, "{{7*7}}%s"]
        )
        assert cursor.fetchall() == [(42, "{{7*7}}%s")]

    assert len(queries.captured_queries) == 1
    assert "{{7*7}}%s" in queries.captured_queries[0]["sql"]  # logged with its values


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_the_dashboard_is_read_by_one_generic_plan_on_postgresql(settings: Settings) -> None:
    settings.DASHBOARD_CACHE_SECONDS = 0  # every request reads the database
    first, second = CustomerFactory(), CustomerFactory()
    NotificationFactory.create_batch(3, user=first)
    NotificationFactory(user=second)

    unread = [
        api_for(customer).get("/api/me/status").json()["summary"]["stats"]["unread_notifications"]
        for customer in (first, second, first)
    ]

    assert unread == [3, 1, 3]
    dashboards = [row for row in prepared_statements() if "notifications" in row[0]]
    assert len(dashboards) == 1  # prepared once, executed three times
    _, generic, custom = dashboards[0]
    assert (generic, custom) == (3, 0)
