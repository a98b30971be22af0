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
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection

from apps.checkout.fulfillment import fulfillment_request
from apps.checkout.models import ActivationStatus, FulfillmentRun, Order
from apps.devtools.emulators import process_environment
from apps.notifications.models import Notification, NotificationType
from emulators import EmulatorSuite
from portal.celery import app as celery_app
from tests import helpers
from tests.helpers import in_ci
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


def wait_showing_log(predicate: Callable[[], object], *, timeout: float, message: str, log: Path) -> None:
    """``tests.helpers.wait_until``, showing the tail of the workers' log when it times out."""

    def log_tail() -> str:
        return "worker log:\n" + (log.read_text(errors="replace")[-4000:] if log.exists() else "")

    helpers.wait_until(predicate, timeout=timeout, message=message, interval=0.1, details=log_tail)


def oldest_unacknowledged_age() -> float:
    """Seconds since the broker handed out the oldest message no worker acknowledged (kombu's
    Redis transport keeps them in ``unacked_index``, scored by delivery time); 0 if none."""
    with redis.Redis.from_url(settings.REDIS_URL) as client:
        oldest = client.zrange("unacked_index", 0, 0, withscores=True)
        return time.time() - oldest[0][1] if oldest else 0.0


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Workers:
    """Starts ``celery worker`` processes (one pool process each) in their own process groups."""

    def __init__(self, systems: EmulatorSuite, directory: Path) -> None:
        self.directory = directory
        self.log = directory / "workers.log"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.environment = {
            **{key: value for key, value in os.environ.items() if not key.startswith(("SF_", "WHMCS_"))},
            **process_environment(systems),
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "DEBUG": "true",
            "LOG_LEVEL": "INFO",
            "EMULATOR_DIR": str(directory / "emulators"),
            "PRIVATE_MEDIA_ROOT": str(directory / "private"),
            # The AddOrder the test interrupts must not time out before the kill.
            "WHMCS_TIMEOUT_SECONDS": "5",
        }

    def start(self, **environment: str) -> subprocess.Popen[bytes]:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "--queues=default,salesforce",
            f"--hostname=killed-worker-test-{uuid.uuid4().hex[:8]}@%h",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
        ]
        with self.log.open("ab") as log:
            process = subprocess.Popen(
                command,
                cwd=REPO,
                env={**self.environment, **environment},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def kill_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def pool_processes(worker: subprocess.Popen[bytes]) -> list[int]:
    """The pids whose parent is the worker's main process (its prefork pool)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == worker.pid:
            children.append(int(entry.name))
    return children


@pytest.fixture
def workers(systems: EmulatorSuite, tmp_path: Path) -> Iterator[Workers]:
    celery_app.control.purge()  # Nothing queued by earlier tests may reach these workers.
    started = Workers(systems, tmp_path)
    yield started
    started.kill_all()
    celery_app.control.purge()


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
        lambda: (systems.salesforce.store.get_record("Order", order_id) or {}).get("Status") == "Activated",
        timeout=60,
        message="Salesforce to show the order activated",
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
