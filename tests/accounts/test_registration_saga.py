"""Registration as a resumable saga: faults at each step, through the HTTP API and the emulators.

The customer's answer comes once the portal user exists; what Salesforce or WHMCS could not do
while they waited, the worker finishes (``registration_advance`` is the task's body, called here
as the worker would). Every case ends with one Account, one Contact, one WHMCS client and one
portal user linked together, or with what was created listed as an orphan and the email free.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from apps.accounts.models import IdMapping, OrphanedSalesforceAccount, RegistrationAttempt, User
from apps.accounts.registration import registration_abandon, registration_advance, registrations_resume_due
from apps.integrations.models import OrphanedWhmcsClient, OutboxEntry
from apps.integrations.outbox import outbox_deliver_due
from emulators import EmulatorSuite
from portal.exceptions import ApplicationError
from tests.helpers import error_code, field_messages, wait_until
from tests.scenarios import SIGNUP

pytestmark = pytest.mark.django_db

EMAIL = "hana.sato@example.com"


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture(autouse=True)
def _no_wait_after_unknown_outcomes(settings: SettingsWrapper) -> None:
    """The worker's next try after a lost answer comes at once here (production waits a minute)."""
    settings.REGISTRATION_RETRY_AFTER_UNKNOWN_SECONDS = 0


def attempt() -> RegistrationAttempt:
    return RegistrationAttempt.objects.get()


def worker_runs() -> RegistrationAttempt:
    """What the worker's ``accounts.advance_registration`` task does."""
    return registration_advance(attempt_id=attempt().pk)


def assert_linked_once(systems: EmulatorSuite) -> None:
    """One Account, one Contact, one WHMCS client and one portal user, linked together."""
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
    assert attempt().status == RegistrationAttempt.Status.SUCCEEDED
    outbox_deliver_due()
    assert systems.salesforce.store.get_record("Account", account["Id"])["WH_Account__c"] == str(client["id"])


def steps(row: RegistrationAttempt) -> list[tuple[str, str]]:
    return [(step["step"], step["status"]) for step in row.steps]


def test_salesforce_down_answers_at_once_and_the_worker_finishes(
    api: APIClient, systems: EmulatorSuite
) -> None:
    systems.salesforce.fail_next(5, status=503, error_code="SERVER_UNAVAILABLE", path_prefix="composite")

    response = api.post("/api/auth/signup", SIGNUP, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["account_setup"] == "in_progress"
    assert systems.salesforce.store.find_records("Account") == []
    assert systems.whmcs.calls == {}
    row = attempt()
    assert (row.status, row.failed_step, row.tries) == ("in_progress", "salesforce_account", 1)
    assert row.next_try_at is not None
    assert row.next_try_at > timezone.now()
    # Signed in, and told what is going on when they try something that needs the account.
    assert api.get("/api/me").json()["account_setup"] == "in_progress"
    (task,) = [task for task in api.get("/api/me/status").json()["tasks"] if task["type"] == "account_setup"]
    assert task["priority"] == 1
    refused = api.post(
        "/api/support/cases", {"subject": "Hello", "description": "Hi", "category": "account"}, format="json"
    )
    assert refused.status_code == 400, refused.json()
    assert error_code(refused) == "account_setup_in_progress"

    systems.salesforce.clear_faults()
    worker_runs()

    assert_linked_once(systems)
    assert api.get("/api/me").json()["account_setup"] == "complete"
    assert "account_setup" not in [task["type"] for task in api.get("/api/me/status").json()["tasks"]]


def test_a_lost_salesforce_answer_is_found_and_adopted(api: APIClient, systems: EmulatorSuite) -> None:
    systems.salesforce.lose_answer_next(method="POST", path_prefix="composite")

    response = api.post("/api/auth/signup", SIGNUP, format="json")

    assert response.status_code == 201
    assert len(systems.salesforce.store.find_records("Account")) == 1  # the write happened
    assert attempt().salesforce_account_id == ""

    worker_runs()

    assert_linked_once(systems)
    assert ("salesforce_account", "adopted") in steps(attempt())


def test_a_lost_whmcs_answer_is_found_and_adopted(api: APIClient, systems: EmulatorSuite) -> None:
    systems.whmcs.inject_fault(action="AddClient", kind="lose_answer")

    response = api.post("/api/auth/signup", SIGNUP, format="json")

    assert response.status_code == 201
    assert len(systems.whmcs.state.clients) == 1
    assert attempt().failed_step == "whmcs_client"

    worker_runs()

    assert_linked_once(systems)
    assert ("whmcs_client", "adopted") in steps(attempt())
    assert systems.whmcs.call_count("AddClient") == 1


def test_a_slow_whmcs_and_a_customer_retrying_create_one_client(
    api: APIClient, systems: EmulatorSuite, settings: SettingsWrapper
) -> None:
    """WHMCS answers after the request gave up (AddClient lands later); the customer retries."""
    settings.REGISTRATION_STEP_TIMEOUT_SECONDS = 0.5
    settings.REGISTRATION_RETRY_AFTER_UNKNOWN_SECONDS = 60
    systems.whmcs.inject_fault(action="AddClient", kind="latency", seconds=1.5)

    first = api.post("/api/auth/signup", SIGNUP, format="json")
    retry = APIClient().post("/api/auth/signup", SIGNUP, format="json")

    assert first.status_code == 201
    assert first.json()["account_setup"] == "in_progress"
    # The same registration again: resumed (and signed in), not started over.
    assert retry.status_code == 200
    assert retry.json()["id"] == first.json()["id"]
    assert len(systems.salesforce.store.find_records("Account")) == 1
    wait_until(lambda: len(systems.whmcs.state.clients) == 1, timeout=5, message="WHMCS's late AddClient")
    assert systems.whmcs.call_count("AddClient") == 1  # the retry waited for the lost answer

    RegistrationAttempt.objects.update(next_try_at=timezone.now())  # a minute later
    registrations_resume_due()  # no: the attempt is still too young for beat's sweep
    assert attempt().status == RegistrationAttempt.Status.IN_PROGRESS
    worker_runs()

    assert_linked_once(systems)


def test_someone_else_signing_up_with_the_email_meanwhile_is_refused(
    api: APIClient, systems: EmulatorSuite
) -> None:
    systems.salesforce.fail_next(5, status=503, error_code="SERVER_UNAVAILABLE", path_prefix="composite")
    assert api.post("/api/auth/signup", SIGNUP, format="json").status_code == 201

    response = APIClient().post(
        "/api/auth/signup", {**SIGNUP, "password": "another-secret-42"}, format="json"
    )

    assert response.status_code == 400
    assert field_messages(response) == {"email": ["An account with this email address already exists."]}
    assert User.objects.count() == 1


def test_beat_sweep_resumes_an_attempt_left_by_a_killed_process(
    api: APIClient, systems: EmulatorSuite
) -> None:
    """The process died after Salesforce wrote the Account and before it logged the answer: its
    claim runs out and beat's sweep finishes the attempt, adopting the Account."""
    systems.salesforce.lose_answer_next(method="POST", path_prefix="composite")
    api.post("/api/auth/signup", SIGNUP, format="json")
    row = attempt()
    # As the killed process left it: the step started, no outcome, the claim still held.
    RegistrationAttempt.objects.filter(pk=row.pk).update(
        steps=row.steps[:1],
        tries=0,
        next_try_at=None,
        claimed_until=timezone.now() + timedelta(minutes=5),
        created_at=timezone.now() - timedelta(minutes=10),
    )
    assert registrations_resume_due() == 0  # claimed: maybe still running

    RegistrationAttempt.objects.filter(pk=row.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert registrations_resume_due() == 1

    assert_linked_once(systems)


def test_a_refusal_waits_for_a_supervisor_who_abandons_it_and_frees_the_email(
    api: APIClient, systems: EmulatorSuite
) -> None:
    # WHMCS refuses the client for good (a business rule, not an outage).
    systems.whmcs.inject_fault(action="AddClient", kind="error", message="Invalid phone number")
    response = api.post("/api/auth/signup", SIGNUP, format="json")
    assert response.status_code == 201
    row = attempt()
    assert (row.status, row.failed_step) == ("needs_attention", "whmcs_client")
    assert api.get("/api/me").json()["account_setup"] == "needs_attention"
    (account,) = systems.salesforce.store.find_records("Account")

    registration_abandon(attempt=row, reason="customer asked to start again")

    row.refresh_from_db()
    assert row.status == RegistrationAttempt.Status.ABANDONED
    assert not User.objects.filter(email=EMAIL).exists()
    orphan = OrphanedSalesforceAccount.objects.get()
    assert (orphan.salesforce_account_id, orphan.customer_number) == (account["Id"], row.customer_number)
    assert not OrphanedWhmcsClient.objects.exists()  # WHMCS created nothing
    # The orphaned Account stops looking like an active portal customer.
    assert OutboxEntry.objects.filter(operation="registration.deactivate_orphaned_account").count() == 1
    outbox_deliver_due()
    assert systems.salesforce.store.get_record("Account", account["Id"])["Portal_Status__c"] == "Inactive"
    # The email is free: the customer registers again, from scratch.
    again = APIClient().post("/api/auth/signup", SIGNUP, format="json")
    assert again.status_code == 201
    assert again.json()["account_setup"] == "complete"


def test_abandoning_lists_a_whmcs_client_whose_answer_was_lost(
    api: APIClient, systems: EmulatorSuite
) -> None:
    systems.whmcs.inject_fault(action="AddClient", kind="lose_answer")
    api.post("/api/auth/signup", SIGNUP, format="json")
    RegistrationAttempt.objects.update(status=RegistrationAttempt.Status.NEEDS_ATTENTION)

    registration_abandon(attempt=attempt(), reason="test")

    (client,) = systems.whmcs.state.clients
    orphan = OrphanedWhmcsClient.objects.get()
    assert orphan.whmcs_client_id == int(client["id"])
    assert orphan.salesforce_account_id == systems.salesforce.store.find_records("Account")[0]["Id"]


def test_abandon_changes_nothing_while_the_systems_cannot_be_checked(
    api: APIClient, systems: EmulatorSuite
) -> None:
    systems.whmcs.inject_fault(action="AddClient", kind="lose_answer")
    api.post("/api/auth/signup", SIGNUP, format="json")
    RegistrationAttempt.objects.update(status=RegistrationAttempt.Status.NEEDS_ATTENTION)
    systems.whmcs.inject_fault(action="GetClientsDetails", kind="http_status", status=503, times=None)

    with pytest.raises(ApplicationError) as refused:
        registration_abandon(attempt=attempt(), reason="test")

    assert refused.value.code == "systems_unavailable"
    assert attempt().status == RegistrationAttempt.Status.NEEDS_ATTENTION
    assert User.objects.filter(email=EMAIL).exists()
    assert not OrphanedSalesforceAccount.objects.exists()


def test_a_double_click_creates_one_customer(api: APIClient, systems: EmulatorSuite) -> None:
    first = api.post("/api/auth/signup", SIGNUP, format="json")
    second = api.post("/api/auth/signup", SIGNUP, format="json")

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    assert_linked_once(systems)


def test_checkout_registration_resumes_into_the_sim_opportunity(
    api: APIClient, systems: EmulatorSuite
) -> None:
    systems.whmcs.inject_fault(action="AddClient", kind="http_status", status=503)
    body: dict[str, Any] = {**SIGNUP, "order_type": "sim"}

    assert api.post("/api/checkout/registration", body, format="json").status_code == 201
    worker_runs()

    assert_linked_once(systems)
    (opportunity,) = systems.salesforce.store.find_records("Opportunity")
    assert opportunity["AccountId"] == systems.salesforce.store.find_records("Account")[0]["Id"]


def test_the_same_idempotency_key_resumes_the_registration(api: APIClient, systems: EmulatorSuite) -> None:
    systems.whmcs.inject_fault(action="AddClient", kind="http_status", status=503)
    first = api.post("/api/auth/signup", SIGNUP, format="json", HTTP_IDEMPOTENCY_KEY="signup-7f3a")
    assert (first.status_code, first.json()["account_setup"]) == (201, "in_progress")

    repeat = APIClient().post("/api/auth/signup", SIGNUP, format="json", HTTP_IDEMPOTENCY_KEY="signup-7f3a")

    assert repeat.status_code == 201
    assert repeat.headers["Idempotent-Replayed"] == "true"
    assert repeat.json() == {**first.json(), "account_setup": "complete"}
    assert_linked_once(systems)
