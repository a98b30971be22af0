"""A Celery worker killed mid-task: the broker hands the task out again and its effect is applied
once.

Real worker processes (``celery -A portal worker``) on the Redis broker, against this test's
database and the emulators. Each is killed with SIGKILL while its fulfillment task waits on
WHMCS's AddOrder, so WHMCS places the order after its caller is gone. Two ways to die:

* the pool process running the task: the worker re-queues the message at once (late acks with
  ``reject_on_worker_lost``);
* the whole worker: the message stays unacknowledged in Redis until a new worker restores it
  after the visibility timeout (``CELERY_BROKER_VISIBILITY_TIMEOUT``, short here).

Either way the redelivered task takes over its own claim, finds the order WHMCS placed instead of
placing another, and finishes: one WHMCS order, one activation, one notification.

Skipped without Redis on a developer machine; with ``CI`` true it runs (CI has Redis).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from django.conf import settings

from apps.checkout.fulfillment import fulfillment_request
from apps.checkout.models import ActivationStatus, FulfillmentRun, Order
from apps.notifications.models import Notification, NotificationType
from emulators import EmulatorSuite
from tests.helpers import in_ci
from tests.processes import Workers, oldest_unacknowledged_age, pool_processes, wait_showing_log
from tests.scenarios import ORDER_TOPIC, seed_order

REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.REDIS_URL and not in_ci(),
        reason="needs the Redis broker (REDIS_URL); CI provides it and runs this test",
    ),
    # Workers start and stop, and each test waits up to 90 s for a fulfillment.
    pytest.mark.timeout(300),
]


def approve_and_queue(systems: EmulatorSuite) -> tuple[FulfillmentRun, str]:
    """The agent approves the order; its provision request queues the fulfillment task."""
    scenario = seed_order(systems)
    systems.salesforce.store.update_record("Order", scenario.order_id, {"Status": "Approved"})
    payload = systems.bus.decode(systems.bus.events(ORDER_TOPIC)[-1])
    run = fulfillment_request(payload=payload, event_id="evt-kill")
    assert run is not None
    return run, scenario.order_id


def assert_fulfilled_once(systems: EmulatorSuite, run: FulfillmentRun, order_id: str, log: Path) -> None:
    wait_showing_log(
        lambda: FulfillmentRun.objects.filter(pk=run.pk, status=FulfillmentRun.Status.SUCCEEDED).exists(),
        timeout=90,
        message="the fulfillment to finish",
        log=log,
    )
    run.refresh_from_db()
    [whmcs_order] = systems.whmcs.state.orders
    assert run.whmcs_order_id == whmcs_order["id"]
    assert systems.whmcs.calls.get("addorder") == 1  # Found, not placed again.
    assert [step for step in run.steps if step["step"] == "whmcs_add_order"][-1]["found_existing"] is True
    assert Order.objects.get(salesforce_id=order_id).activation_status == ActivationStatus.ACTIVATED
    assert Notification.objects.filter(type=NotificationType.ORDER_ACTIVATED).count() == 1
    wait_showing_log(
        lambda: (systems.salesforce.store.get_record("Order", order_id) or {}).get("Status") == "Completed",
        timeout=60,
        message="Salesforce to show the order completed",
        log=log,
    )


def test_a_pool_process_killed_during_add_order_is_replaced_and_the_order_placed_once(
    systems: EmulatorSuite, workers: Workers
) -> None:
    # Given a worker, and WHMCS slow to answer AddOrder
    worker = workers.start()
    systems.whmcs.inject_fault(action="AddOrder", kind="latency", seconds=2.0)

    # When an approved order's task is waiting on AddOrder and its pool process is killed
    run, order_id = approve_and_queue(systems)
    wait_showing_log(
        lambda: systems.whmcs.calls.get("addorder") == 1, timeout=60, message="AddOrder", log=workers.log
    )
    [pool_process] = pool_processes(worker)
    os.kill(pool_process, signal.SIGKILL)

    # Then the worker re-queues the task, a new pool process resumes it, and it is done once
    assert_fulfilled_once(systems, run, order_id, workers.log)
    assert worker.poll() is None


def test_a_worker_killed_during_add_order_is_taken_over_by_the_next_worker_once(
    systems: EmulatorSuite, workers: Workers
) -> None:
    # Given a worker, and WHMCS slow to answer AddOrder
    workers.start()
    systems.whmcs.inject_fault(action="AddOrder", kind="latency", seconds=2.0)

    # When the whole worker is killed while its task waits on AddOrder
    run, order_id = approve_and_queue(systems)
    wait_showing_log(
        lambda: systems.whmcs.calls.get("addorder") == 1, timeout=60, message="AddOrder", log=workers.log
    )
    workers.kill_all()

    # Then a worker started once the task's message is past its visibility timeout (1 s) restores
    # it and finishes it once
    wait_showing_log(
        lambda: oldest_unacknowledged_age() > 1.2,
        timeout=30,
        message="the unacknowledged message to pass the visibility timeout",
        log=workers.log,
    )
    workers.start(CELERY_BROKER_VISIBILITY_TIMEOUT="1")
    assert_fulfilled_once(systems, run, order_id, workers.log)
