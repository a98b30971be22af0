"""Stuck registrations in the console: the supervisors' queue, the record page (steps log, what
exists where), Resume and Abandon through the registration saga, each audited; agents are refused."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import OrphanedSalesforceAccount, RegistrationAttempt, User
from apps.console import services
from apps.console.models import AgentDecision, DecisionAction, SubjectType
from apps.integrations.models import OutboxEntry
from emulators import EmulatorSuite
from tests.factories import RegistrationAttemptFactory, StaffUserFactory, UserFactory
from tests.scenarios import SIGNUP, stuck_registration

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:console_registrationqueueitem_changelist")


def url(name: str, attempt: RegistrationAttempt) -> str:
    return reverse(f"admin:console_registrationqueueitem_{name}", args=[attempt.pk])


def rows(page: str) -> list[int]:
    return [int(pk) for pk in re.findall(r"/admin/console/registrationqueueitem/(\d+)/change/", page)]


def attempt_started(ago: timedelta, **fields: Any) -> RegistrationAttempt:
    """An attempt with a portal user, started ``ago``."""
    user = UserFactory()
    attempt = RegistrationAttemptFactory(email=user.email, user=user, **fields)
    RegistrationAttempt.objects.filter(pk=attempt.pk).update(created_at=timezone.now() - ago)
    return attempt


def test_the_queue_lists_stuck_registrations_oldest_first(supervisor_client: Client) -> None:
    slow = attempt_started(
        timedelta(minutes=40),
        status=RegistrationAttempt.Status.IN_PROGRESS,
        customer_number="P0000002",
        failed_step="salesforce_account",
        error="Salesforce: POST composite: no answer in time",
        tries=3,
        next_try_at=timezone.now() + timedelta(minutes=4),
    )
    refused = attempt_started(
        timedelta(days=2, hours=3),
        status=RegistrationAttempt.Status.NEEDS_ATTENTION,
        customer_number="P0000001",
        failed_step="whmcs_client",
        error="WHMCS: " + "Invalid phone number. " * 10,
        tries=1,
    )
    attempt_started(timedelta(minutes=5), status=RegistrationAttempt.Status.IN_PROGRESS)  # still young
    attempt_started(timedelta(days=3), status=RegistrationAttempt.Status.SUCCEEDED)
    abandoned = attempt_started(timedelta(days=4), status=RegistrationAttempt.Status.ABANDONED)

    page = supervisor_client.get(QUEUE).content.decode()
    everything = supervisor_client.get(QUEUE, {"state": "all"}).content.decode()
    found = supervisor_client.get(QUEUE, {"q": "P0000002"}).content.decode()

    assert rows(page) == [refused.pk, slow.pk]
    assert "2 days 3 hours" in page
    assert "40 minutes" in page
    assert "WHMCS client" in page
    assert "Salesforce Account and Contact" in page
    assert "WHMCS: Invalid phone number. Invalid phone number. Invalid phone number. Invali…" in page
    assert "Needs attention" in page
    assert "Portal signup" in page
    assert rows(everything)[0] == abandoned.pk
    assert len(rows(everything)) == 5
    assert rows(found) == [slow.pk]


def test_the_index_counts_stuck_registrations_for_supervisors_only(
    supervisor_client: Client, agent_client: Client
) -> None:
    attempt_started(timedelta(hours=1), status=RegistrationAttempt.Status.NEEDS_ATTENTION)
    attempt_started(timedelta(hours=2), status=RegistrationAttempt.Status.IN_PROGRESS)
    attempt_started(timedelta(minutes=1), status=RegistrationAttempt.Status.IN_PROGRESS)

    supervisors = supervisor_client.get(reverse("admin:index")).content.decode()
    agents = agent_client.get(reverse("admin:index")).content.decode()

    row = re.search(r'<tr id="console-queue-registration">.*?</tr>', supervisors, re.S)
    assert row is not None
    assert '<td class="console-queue-count">2</td>' in row.group(0)
    assert f'href="{QUEUE}"' in row.group(0)
    assert 'id="console-queue-eligibility"' in agents
    assert 'id="console-queue-registration"' not in agents


def test_agents_are_refused_the_queue_the_record_and_both_actions(
    systems: EmulatorSuite, agent_client: Client
) -> None:
    attempt = stuck_registration(systems)

    responses = [
        agent_client.get(QUEUE),
        agent_client.get(url("change", attempt)),
        agent_client.post(url("resume", attempt)),
        agent_client.post(url("abandon", attempt), {"abandon-reason": "Customer asked us to."}),
    ]

    assert [response.status_code for response in responses] == [403, 403, 403, 403]
    attempt.refresh_from_db()
    assert attempt.status == RegistrationAttempt.Status.NEEDS_ATTENTION
    assert User.objects.filter(pk=attempt.user_id).exists()
    assert not AgentDecision.objects.exists()


def test_staff_who_may_view_the_queue_but_not_decide_cannot_act(systems: EmulatorSuite) -> None:
    attempt = stuck_registration(systems)
    staff = StaffUserFactory()
    staff.user_permissions.add(Permission.objects.get(codename="view_registrationqueueitem"))
    client = Client()
    client.force_login(staff)

    page = client.get(url("change", attempt)).content.decode()
    response = client.post(url("abandon", attempt), {"abandon-reason": "No."})

    assert "You do not have permission to resume or abandon registrations." in page
    assert 'id="console-form-abandon"' not in page
    assert response.status_code == 403
    attempt.refresh_from_db()
    assert attempt.status == RegistrationAttempt.Status.NEEDS_ATTENTION


def test_the_record_page_shows_the_steps_log_readably_and_what_exists_where(
    systems: EmulatorSuite, supervisor_client: Client
) -> None:
    attempt = stuck_registration(systems)
    RegistrationAttempt.objects.filter(pk=attempt.pk).update(
        steps=[
            {"step": "salesforce_account", "status": "started", "at": "2026-11-20T01:02:03+00:00"},
            {
                "step": "salesforce_account",
                "status": "succeeded",
                "at": "2026-11-20T01:02:04+00:00",
                "salesforce_account_id": attempt.salesforce_account_id,
                "salesforce_contact_id": attempt.salesforce_contact_id,
            },
            {"step": "whmcs_client", "status": "started", "at": "2026-11-20T01:02:05+00:00"},
            {
                "step": "whmcs_client",
                "status": "failed",
                "at": "2026-11-20T01:02:06+00:00",
                "error": "WHMCS: Invalid phone number",
                "retryable": False,
            },
        ]
    )

    page = supervisor_client.get(url("change", attempt)).content.decode()

    log = re.search(r'<table id="console-registration-log">.*?</table>', page, re.S)
    assert log is not None
    cells = [
        re.sub(r"<[^>]+>", " ", cell).split() for cell in re.findall(r"<td>(.*?)</td>", log.group(0), re.S)
    ]
    assert cells[:4] == [
        ["2026-11-20", "10:02:03"],  # Asia/Tokyo
        ["Salesforce", "Account", "and", "Contact"],
        ["Started"],
        ["—"],
    ]
    assert cells[12:] == [
        ["2026-11-20", "10:02:06"],
        ["WHMCS", "client"],
        ["Failed"],
        ["Error:", "WHMCS:", "Invalid", "phone", "number", "A", "later", "try", "can", "succeed:", "no"],
    ]
    assert f"Salesforce Account ID: {attempt.salesforce_account_id}" in log.group(0)
    assert '"step"' not in page  # no raw JSON
    records = re.search(r'<dl id="console-registration-records">.*?</dl>', page, re.S)
    assert records is not None
    assert attempt.email in records.group(0)
    assert "no ID mapping yet" in records.group(0)
    assert attempt.salesforce_account_id in records.group(0)
    assert attempt.salesforce_contact_id in records.group(0)
    assert "not created" in records.group(0)  # the WHMCS client
    assert f"Abandoning removes the portal user {attempt.email}" in page
    assert (
        f"<li>Salesforce Account {attempt.salesforce_account_id} (with its Contact), set to Inactive</li>"
        in page
    )
    assert 'id="console-form-resume"' in page
    assert 'id="console-form-abandon"' in page


def test_the_record_page_is_in_japanese(systems: EmulatorSuite, supervisor_client: Client) -> None:
    attempt = stuck_registration(systems)

    page = supervisor_client.get(url("change", attempt), headers={"accept-language": "ja"}).content.decode()

    assert "停滞中の登録" in page
    assert "WHMCSクライアント" in page
    assert "再開" in page
    assert "破棄" in page
    assert "要対応" in page


def test_resume_gives_a_fresh_round_of_tries_and_the_worker_finishes(
    systems: EmulatorSuite,
    supervisor: User,
    supervisor_client: Client,
    eager_celery: None,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    attempt = stuck_registration(systems)  # WHMCS has since accepted the phone number

    with django_capture_on_commit_callbacks(execute=True):
        response = supervisor_client.post(url("resume", attempt))

    assert response.status_code == 302
    assert response["Location"] == url("change", attempt)
    attempt.refresh_from_db()
    assert attempt.status == RegistrationAttempt.Status.SUCCEEDED
    assert attempt.user.id_mapping.whmcs_client_id == int(systems.whmcs.state.clients[0]["id"])
    decision = AgentDecision.objects.get()
    assert (decision.agent, decision.customer, decision.subject_type, decision.subject_id) == (
        supervisor,
        attempt.user,
        SubjectType.REGISTRATION,
        str(attempt.pk),
    )
    assert decision.action == DecisionAction.RESUME_REGISTRATION
    assert (decision.before["status"], decision.before["tries"], decision.before["failed_step"]) == (
        "needs_attention",
        1,
        "whmcs_client",
    )
    assert (decision.after["status"], decision.after["tries"]) == ("in_progress", 0)


def test_abandon_needs_a_reason(systems: EmulatorSuite, supervisor_client: Client) -> None:
    attempt = stuck_registration(systems)

    response = supervisor_client.post(url("abandon", attempt), {"abandon-reason": "  "})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    attempt.refresh_from_db()
    assert attempt.status == RegistrationAttempt.Status.NEEDS_ATTENTION
    assert not AgentDecision.objects.exists()


def test_abandon_removes_the_user_lists_the_orphans_and_is_audited(
    systems: EmulatorSuite, supervisor: User, supervisor_client: Client
) -> None:
    attempt = stuck_registration(systems)
    account_id, user_id = attempt.salesforce_account_id, attempt.user_id

    response = supervisor_client.post(
        url("abandon", attempt), {"abandon-reason": "The customer will sign up with another email."}
    )

    assert response.status_code == 302
    attempt.refresh_from_db()
    assert attempt.status == RegistrationAttempt.Status.ABANDONED
    assert not User.objects.filter(pk=user_id).exists()
    orphan = OrphanedSalesforceAccount.objects.get()
    assert (orphan.salesforce_account_id, orphan.registration_attempt) == (account_id, attempt)
    assert OutboxEntry.objects.filter(operation="registration.deactivate_orphaned_account").count() == 1
    decision = AgentDecision.objects.get()
    assert (decision.agent, decision.customer, decision.action, decision.note) == (
        supervisor,
        None,
        DecisionAction.ABANDON_REGISTRATION,
        "The customer will sign up with another email.",
    )
    assert (decision.before["status"], decision.before["user_id"]) == ("needs_attention", user_id)
    assert (decision.after["status"], decision.after["user_id"], decision.after["salesforce_account_id"]) == (
        "abandoned",
        None,
        account_id,
    )
    # The page of the abandoned registration still opens, with the orphan and the decision.
    page = supervisor_client.get(response["Location"]).content.decode()
    assert "Abandoned registration" in page
    assert "removed" in page
    assert f"Salesforce Account {account_id}: Open" in page
    assert "The customer will sign up with another email." in page
    assert 'id="console-form-abandon"' not in page


def test_an_earlier_decision_survives_the_user_it_was_about(
    systems: EmulatorSuite, supervisor_client: Client
) -> None:
    attempt = stuck_registration(systems)
    supervisor_client.post(url("resume", attempt))
    RegistrationAttempt.objects.filter(pk=attempt.pk).update(
        status=RegistrationAttempt.Status.NEEDS_ATTENTION
    )

    supervisor_client.post(url("abandon", attempt), {"abandon-reason": "Gave up."})

    assert list(AgentDecision.objects.order_by("pk").values_list("action", "customer")) == [
        (DecisionAction.RESUME_REGISTRATION, None),
        (DecisionAction.ABANDON_REGISTRATION, None),
    ]


def test_a_registration_still_in_progress_cannot_be_resumed_or_abandoned(supervisor_client: Client) -> None:
    attempt = attempt_started(timedelta(hours=1), status=RegistrationAttempt.Status.IN_PROGRESS)

    page = supervisor_client.get(url("change", attempt)).content.decode()
    response = supervisor_client.post(url("resume", attempt))

    assert 'id="console-still-trying"' in page
    assert 'id="console-form-resume"' not in page
    assert response.status_code == 200
    assert (
        "The decision was not recorded: Only a registration that needs attention can be resumed."
        in response.content.decode()
    )
    attempt.refresh_from_db()
    assert attempt.status == RegistrationAttempt.Status.IN_PROGRESS
    assert not AgentDecision.objects.exists()


def test_abandon_while_the_systems_cannot_be_checked_says_so_and_changes_nothing(
    systems: EmulatorSuite, supervisor_client: Client
) -> None:
    # The WHMCS client's answer was lost, so abandoning must look for it first; WHMCS is down.
    systems.whmcs.inject_fault(action="AddClient", kind="lose_answer")
    assert APIClient().post("/api/auth/signup", SIGNUP, format="json").status_code == 201
    RegistrationAttempt.objects.update(status=RegistrationAttempt.Status.NEEDS_ATTENTION)
    attempt = RegistrationAttempt.objects.get()
    systems.whmcs.inject_fault(action="GetClientsDetails", kind="http_status", status=503, times=None)

    page = supervisor_client.get(url("change", attempt)).content.decode()
    response = supervisor_client.post(url("abandon", attempt), {"abandon-reason": "Gave up."})

    assert "<li>the WHMCS client, if the lost try created one</li>" in page

    assert response.status_code == 200
    assert (
        "Salesforce or WHMCS cannot be checked right now, so nothing was changed. Try again later."
        in response.content.decode()
    )
    attempt.refresh_from_db()
    assert attempt.status == RegistrationAttempt.Status.NEEDS_ATTENTION
    assert User.objects.filter(pk=attempt.user_id).exists()
    assert not AgentDecision.objects.exists()


def test_superusers_see_the_queue_and_the_record(systems: EmulatorSuite) -> None:
    attempt = stuck_registration(systems)
    client = Client()
    client.force_login(User.objects.create_superuser("root@sonixnet.example", "not-used-here"))

    assert client.get(QUEUE).status_code == 200
    assert 'id="console-form-abandon"' in client.get(url("change", attempt)).content.decode()


def test_a_registration_refused_before_anything_was_created_is_abandoned_without_orphans(
    systems: EmulatorSuite, supervisor_client: Client
) -> None:
    attempt = attempt_started(
        timedelta(hours=1),
        status=RegistrationAttempt.Status.NEEDS_ATTENTION,
        customer_number="P0000009",
        failed_step="salesforce_account",
        steps=[
            {"step": "salesforce_account", "status": "started", "at": "2026-11-20T01:00:00+00:00"},
            {
                "step": "salesforce_account",
                "status": "failed",
                "at": "2026-11-20T01:00:01+00:00",
                "error": "Salesforce: REQUIRED_FIELD_MISSING",
                "retryable": False,
            },
        ],
    )

    page = supervisor_client.get(url("change", attempt)).content.decode()
    response = supervisor_client.post(url("abandon", attempt), {"abandon-reason": "Test sign-up."})

    assert "Nothing was created in Salesforce or WHMCS." in page
    assert response.status_code == 302
    attempt.refresh_from_db()
    assert attempt.status == RegistrationAttempt.Status.ABANDONED
    assert not OrphanedSalesforceAccount.objects.exists()
    assert AgentDecision.objects.get().action == DecisionAction.ABANDON_REGISTRATION


def test_the_services_refuse_an_agent_without_the_permission_whoever_calls_them(
    systems: EmulatorSuite, agent: User
) -> None:
    """The admin views check first; the services check again, since abandoning deletes a user."""
    attempt = stuck_registration(systems)

    with pytest.raises(PermissionDenied):
        services.registration_abandon(agent=agent, attempt_id=attempt.pk, reason="Not mine to decide.")
    with pytest.raises(PermissionDenied):
        services.registration_resume(agent=agent, attempt_id=attempt.pk)

    attempt.refresh_from_db()
    assert attempt.status == RegistrationAttempt.Status.NEEDS_ATTENTION
    assert User.objects.filter(pk=attempt.user_id).exists()
