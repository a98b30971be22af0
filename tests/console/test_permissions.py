"""Who reaches the console: the groups from the data migration, agents, supervisors, other
staff, customers and anonymous visitors."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from apps.console.groups import AGENT_PERMISSIONS, SUPERVISOR_PERMISSIONS
from apps.console.models import AgentDecision
from tests.factories import CustomerFactory, OrderFactory, ResidenceCardSubmissionFactory, StaffUserFactory

pytestmark = pytest.mark.django_db

QUEUES = [
    "admin:console_eligibilityqueueitem_changelist",
    "admin:console_idverificationqueueitem_changelist",
    "admin:console_orderapprovalqueueitem_changelist",
    "admin:console_cancellationqueueitem_changelist",
    "admin:console_agentdecision_changelist",
]


def codenames(group: Group) -> set[tuple[str, str]]:
    return {(p.content_type.app_label, p.codename) for p in group.permissions.select_related("content_type")}


def test_the_migration_creates_the_agent_and_supervisor_groups() -> None:
    agents = Group.objects.get(name="Agents")
    supervisors = Group.objects.get(name="Supervisors")

    assert codenames(agents) == set(AGENT_PERMISSIONS)
    assert codenames(supervisors) == set(SUPERVISOR_PERMISSIONS)
    assert codenames(supervisors) - codenames(agents) == {
        ("console", "reopen_decision"),
        ("axes", "view_accessattempt"),
        ("axes", "delete_accessattempt"),
        ("axes", "view_accesslog"),
        ("axes", "view_accessfailurelog"),
        ("console", "view_registrationqueueitem"),
        ("console", "manage_registration"),
        ("catalog", "view_pricemismatch"),
        ("console", "assign_queue_item"),
        ("console", "view_salesforcewritequeueitem"),
        ("console", "retry_salesforce_write"),
    }


@pytest.mark.parametrize("queue", QUEUES)
def test_an_agent_sees_every_queue(agent_client: Client, queue: str) -> None:
    assert agent_client.get(reverse(queue)).status_code == 200


@pytest.mark.parametrize("queue", QUEUES)
def test_customers_and_anonymous_visitors_are_sent_to_the_admin_login(queue: str) -> None:
    customer = Client()
    customer.force_login(CustomerFactory())

    for client in (Client(), customer):
        response = client.get(reverse(queue))
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


def test_a_customer_cannot_post_a_decision() -> None:
    order = OrderFactory(user=CustomerFactory())
    client = Client()
    client.force_login(order.user)

    response = client.post(
        reverse("admin:console_orderapprovalqueueitem_approve", args=[order.pk]),
        {"approve-items_checked": "on"},
    )

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    order.refresh_from_db()
    assert order.status == "pending_review"


def test_staff_outside_the_groups_see_no_queue_and_cannot_decide() -> None:
    staff = StaffUserFactory()
    order = OrderFactory(user=CustomerFactory())
    client = Client()
    client.force_login(staff)

    index = client.get(reverse("admin:index")).content.decode()
    queue = client.get(reverse("admin:console_orderapprovalqueueitem_changelist"))
    decide = client.post(
        reverse("admin:console_orderapprovalqueueitem_approve", args=[order.pk]),
        {"approve-items_checked": "on"},
    )

    assert 'id="console-queues"' not in index
    assert queue.status_code == 403
    assert decide.status_code == 403


def test_viewing_a_queue_without_the_decide_permission_shows_no_form_and_refuses_the_post() -> None:
    staff = StaffUserFactory()
    staff.user_permissions.add(Permission.objects.get(codename="view_orderapprovalqueueitem"))
    order = OrderFactory(user=CustomerFactory())
    client = Client()
    client.force_login(staff)

    page = client.get(
        reverse("admin:console_orderapprovalqueueitem_change", args=[order.pk])
    ).content.decode()
    decide = client.post(
        reverse("admin:console_orderapprovalqueueitem_approve", args=[order.pk]),
        {"approve-items_checked": "on"},
    )

    assert "You do not have permission to approve orders." in page
    assert 'id="console-form-approve"' not in page
    assert decide.status_code == 403


def test_a_decision_url_opened_as_a_page_goes_to_the_record(agent_client: Client) -> None:
    """Reloading after a decision (or opening its address) never lands on a POST-only page."""
    submission = ResidenceCardSubmissionFactory(user=CustomerFactory())

    response = agent_client.get(reverse("admin:console_idverificationqueueitem_verify", args=[submission.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:console_idverificationqueueitem_change", args=[submission.pk]
    )
    assert not AgentDecision.objects.exists()
