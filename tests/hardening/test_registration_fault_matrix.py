"""Every registration step × {error answer, answer lost after the write, process killed mid-step}.

Faults come from the emulators' own injection (an error answer; a call carried out whose answer
never arrives; a slow call whose process is killed while it waits) and from killing real
processes: the web request's process (a one-off portal process that dies right after the step's
write) and real Celery workers where the work is queued. Then the customer retries as a customer
would, by sending the same sign-up again, and time passes for beat's sweep. Each case must end
with exactly one Salesforce Account, one Contact, one WHMCS client and one portal user, linked.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from apps.accounts.models import IdMapping, RegistrationAttempt, User
from apps.accounts.registration import registrations_resume_due
from apps.integrations.outbox import outbox_deliver_due
from emulators import EmulatorSuite
from portal import settings as portal_settings
from tests.helpers import in_ci, wait_until
from tests.processes import REPO, Workers, pool_processes, portal_environment, wait_showing_log
from tests.scenarios import SIGNUP

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

EMAIL = "hana.sato@example.com"
STEPS = ("salesforce_account", "whmcs_client", "id_mapping")
needs_redis = pytest.mark.skipif(
    not settings.REDIS_URL and not in_ci(),
    reason="needs the Redis broker (REDIS_URL); CI provides it and runs this test",
)

# A portal process that registers the customer and is killed (SIGKILL, no clean-up) right after
# the given step's write: the Composite or AddClient was carried out, or the mapping's transaction
# was under way. What the web process serving the sign-up would leave if it died there.
KILLED_AFTER_THE_WRITE = """
import json, os, signal, sys
import django
django.setup()
from apps.accounts import registration
from apps.accounts.api.serializers import RegistrationInputSerializer
from apps.integrations.salesforce.gateway import SalesforceGateway
from apps.integrations.whmcs.client import WhmcsClient

owner, name = {
    "salesforce_account": (SalesforceGateway, "composite"),
    "whmcs_client": (WhmcsClient, "add_client"),
    "id_mapping": (registration, "outbox_enqueue_salesforce"),
}[sys.argv[1]]
write = getattr(owner, name)

def write_then_die(*args, **kwargs):
    write(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)

setattr(owner, name, write_then_die)
serializer = RegistrationInputSerializer(data=json.loads(sys.argv[2]))
serializer.is_valid(raise_exception=True)
registration.customer_register(data=serializer.to_registration_data(), source="portal_signup")
"""


@pytest.fixture(autouse=True)
def _quick_retries(settings: Settings) -> None:
    settings.REGISTRATION_RETRY_INITIAL_SECONDS = 0.2
    settings.REGISTRATION_RETRY_AFTER_UNKNOWN_SECONDS = 0
    # Other processes hash the password as production does; this one must read their hashes.
    settings.PASSWORD_HASHERS = [*settings.PASSWORD_HASHERS, *portal_settings.PASSWORD_HASHERS]


def sign_up() -> Any:
    """The customer sends the sign-up (again), from a fresh browser."""
    return APIClient().post("/api/auth/signup", SIGNUP, format="json")


def a_while_later() -> None:
    """Time passes: retries fall due and a dead process's claim runs out."""
    RegistrationAttempt.objects.filter(status=RegistrationAttempt.Status.IN_PROGRESS).update(
        next_try_at=timezone.now(),
        claimed_until=timezone.now() - timedelta(seconds=1),
        created_at=timezone.now() - timedelta(minutes=10),
    )


def assert_linked_once(systems: EmulatorSuite) -> None:
    (account,) = systems.salesforce.store.find_records("Account")
    (contact,) = systems.salesforce.store.find_records("Contact")
    (client,) = systems.whmcs.state.clients
    (user,) = User.objects.filter(email=EMAIL)
    mapping = IdMapping.objects.get(user=user)
    assert (mapping.salesforce_account_id, mapping.salesforce_contact_id, mapping.whmcs_client_id) == (
        account["Id"],
        contact["Id"],
        int(client["id"]),
    )
    assert contact["AccountId"] == account["Id"]
    assert RegistrationAttempt.objects.get().status == RegistrationAttempt.Status.SUCCEEDED
    # The Account learns its WHMCS client through the outbox (delivered here, or by a worker).
    outbox_deliver_due()
    wait_until(
        lambda: (
            systems.salesforce.store.get_record("Account", account["Id"])["WH_Account__c"]
            == str(client["id"])
        ),
        timeout=30,
        message="the Account to learn its WHMCS client",
    )


def inject_error_answer(step: str, systems: EmulatorSuite, monkeypatch: pytest.MonkeyPatch) -> None:
    if step == "salesforce_account":
        systems.salesforce.fail_next(1, status=503, error_code="SERVER_UNAVAILABLE", path_prefix="composite")
    elif step == "whmcs_client":
        systems.whmcs.inject_fault(action="AddClient", kind="http_status", status=503)
    else:
        create = IdMapping.objects.create
        failures = iter([OperationalError("database is locked")])

        def create_once_failing(**fields: Any) -> IdMapping:
            for failure in failures:
                raise failure
            return create(**fields)

        monkeypatch.setattr(IdMapping.objects, "create", create_once_failing)


def inject_lost_answer(step: str, systems: EmulatorSuite) -> None:
    if step == "salesforce_account":
        systems.salesforce.lose_answer_next(method="POST", path_prefix="composite")
    elif step == "whmcs_client":
        systems.whmcs.inject_fault(action="AddClient", kind="lose_answer")
    # The portal's own step answers the customer: below, its answer is lost on the way to them.


@pytest.mark.parametrize("step", STEPS)
def test_an_error_answer_then_the_customer_retrying(
    step: str, systems: EmulatorSuite, monkeypatch: pytest.MonkeyPatch
) -> None:
    inject_error_answer(step, systems, monkeypatch)

    first = sign_up()
    assert first.status_code == 201, first.json()
    assert first.json()["account_setup"] == "in_progress"
    assert RegistrationAttempt.objects.get().failed_step == step

    retry = sign_up()

    assert retry.status_code == 200
    assert retry.json()["account_setup"] == "complete"
    assert_linked_once(systems)


@pytest.mark.parametrize("step", STEPS)
def test_an_answer_lost_after_the_write_then_the_customer_retrying(step: str, systems: EmulatorSuite) -> None:
    inject_lost_answer(step, systems)

    sign_up()  # whatever it answered never reached the customer
    sign_up()  # at once: a write that may still be landing is not looked for yet
    a_while_later()
    retry = sign_up()

    assert retry.status_code == 200
    assert retry.json()["account_setup"] == "complete"
    assert_linked_once(systems)


@pytest.mark.parametrize("step", STEPS)
def test_the_process_killed_after_the_write_then_the_customer_and_beat(
    step: str, systems: EmulatorSuite, tmp_path: Path
) -> None:
    process = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_THE_WRITE, step, json.dumps(SIGNUP)],
        cwd=REPO,
        env=portal_environment(systems, tmp_path),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert process.returncode == -signal.SIGKILL, process.stderr.decode()[-3000:]
    attempt = RegistrationAttempt.objects.get()
    assert attempt.claimed_until is not None  # the dead process still holds it

    # The customer, who saw the request fail, signs up again: the attempt is theirs and under way.
    retry = sign_up()
    assert retry.status_code == 200, retry.json()
    assert retry.json()["account_setup"] in {"in_progress", "complete"}
    # The dead process's claim runs out; beat's sweep finishes the attempt.
    a_while_later()
    registrations_resume_due()

    assert_linked_once(systems)


# --- real workers ------------------------------------------------------------------------------


def started_twice(step: str) -> bool:
    attempt = RegistrationAttempt.objects.get()
    return sum(1 for entry in attempt.steps if (entry["step"], entry["status"]) == (step, "started")) >= 2


@needs_redis
@pytest.mark.parametrize("step", ["salesforce_account", "whmcs_client"])
def test_the_worker_finishing_the_attempt_is_killed_mid_call_and_its_task_redelivered(
    step: str, systems: EmulatorSuite, workers: Workers, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The request meets an error answer and queues the rest for the workers.
    inject_error_answer(step, systems, monkeypatch)
    assert sign_up().status_code == 201
    # The worker's try of the step is slow, and its pool process is killed while it waits:
    # the call is carried out after its caller is gone.
    if step == "salesforce_account":
        systems.salesforce.add_latency(2.0, method="POST", path_prefix="composite", count=1)
    else:
        systems.whmcs.inject_fault(action="AddClient", kind="latency", seconds=2.0)
    worker = workers.start(
        REGISTRATION_RETRY_AFTER_UNKNOWN_SECONDS="3", REGISTRATION_RETRY_INITIAL_SECONDS="0.2"
    )
    wait_showing_log(lambda: started_twice(step), timeout=60, message=f"the worker's {step}", log=workers.log)
    [pool_process] = pool_processes(worker)
    os.kill(pool_process, signal.SIGKILL)

    # The redelivered task takes over its own claim, waits for the cut-off call to land, finds
    # what it created and adopts it.
    wait_showing_log(
        lambda: RegistrationAttempt.objects.filter(status=RegistrationAttempt.Status.SUCCEEDED).exists(),
        timeout=90,
        message="the registration to finish",
        log=workers.log,
    )
    assert_linked_once(systems)
    assert (step, "adopted") in [
        (entry["step"], entry["status"]) for entry in RegistrationAttempt.objects.get().steps
    ]
