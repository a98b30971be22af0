"""One retry policy: a task retries when its error says a later try can succeed, on the shared
backoff; any other error fails it at once."""

from __future__ import annotations

import pytest

from apps.billing.tasks import sync_customer_billing_task
from apps.catalog.models import Product
from apps.catalog.tasks import sync_catalog_task
from apps.integrations.retry import Backoff, RetryableErrorTask
from emulators import EmulatorSuite
from tests.helpers import add_product

pytestmark = pytest.mark.django_db


def test_the_backoff_doubles_up_to_its_cap_and_jitter_only_shortens_it() -> None:
    exact = Backoff(initial=30, maximum=300, jitter=0)
    jittered = Backoff(initial=30, maximum=300, jitter=0.5)

    assert [exact.delay(attempt) for attempt in range(6)] == [30, 60, 120, 240, 300, 300]
    assert all(15 <= jittered.delay(0) <= 30 for _ in range(200))
    assert exact.delay(10_000) == 300  # no overflow however many attempts


def test_a_task_whose_error_is_retryable_is_retried_and_then_succeeds(systems: EmulatorSuite) -> None:
    add_product(systems)
    systems.salesforce.fail_next(1, status=503, error_code="SERVER_UNAVAILABLE", path_prefix="/services/data")

    sync_catalog_task.apply()

    assert Product.objects.count() == 1


def test_a_task_whose_error_is_not_retryable_fails_at_once(systems: EmulatorSuite) -> None:
    add_product(systems)
    refusals = systems.salesforce.fail_next(
        3, status=400, error_code="MALFORMED_QUERY", message="unexpected token", path_prefix="/services/data"
    )

    result = sync_catalog_task.apply()

    assert result.status == "FAILURE"
    assert Product.objects.count() == 0
    assert refusals.remaining == 2  # one call, no retry


def test_a_task_gives_up_after_its_retries(systems: EmulatorSuite) -> None:
    add_product(systems)
    outage = systems.salesforce.fail_next(
        2 + RetryableErrorTask.max_retries,
        status=503,
        error_code="SERVER_UNAVAILABLE",
        path_prefix="/services/data",
    )

    sync_catalog_task.apply()

    assert Product.objects.count() == 0
    assert outage.remaining == 1  # the first try and max_retries retries, then no more


@pytest.mark.parametrize("task", [sync_catalog_task, sync_customer_billing_task], ids=lambda task: task.name)
def test_sync_tasks_share_the_policy(task: object) -> None:
    assert isinstance(task, RetryableErrorTask)
