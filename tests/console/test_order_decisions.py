"""Order approval's other outcomes: reject with a reason (Cancelled here and in Salesforce) and
hold with a reason (no approval until released), each audited and written through the outbox."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.accounts.models import EligibilityStatus, User
from apps.checkout.models import OrderStatus
from apps.console.models import AgentDecision, DecisionAction
from apps.integrations.models import OutboxEntry
from emulators import EmulatorSuite
from tests.console.test_orders import pending_order, url
from tests.helpers import MakeCustomer, deliver_all

pytestmark = pytest.mark.django_db


def eligible_customer(make_customer: MakeCustomer) -> User:
    return make_customer(
        internet_eligibility_status=EligibilityStatus.ELIGIBLE, internet_eligibility="Home 1G"
    )


def test_reject_cancels_the_order_here_and_in_salesforce_with_the_reason(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent: User, agent_client: Client
) -> None:
    order = pending_order(systems, eligible_customer(make_customer))
    page = agent_client.get(url("change", order.pk)).content.decode()
    assert 'id="console-form-reject"' in page

    response = agent_client.post(url("reject", order.pk), {"reject-reason": "Duplicate of order 00000101"})

    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.rejection_reason) == (OrderStatus.CANCELLED, "Duplicate of order 00000101")
    decision = AgentDecision.objects.get()
    assert (decision.agent, decision.action, decision.note) == (
        agent,
        DecisionAction.REJECT_ORDER,
        "Duplicate of order 00000101",
    )
    assert decision.before["status"] == "pending_review"
    assert decision.after["status"] == "cancelled"
    assert deliver_all().delivered == [OutboxEntry.objects.get().pk]
    sf_order = systems.salesforce.store.get_record("Order", order.salesforce_id)
    assert (sf_order["Status"], sf_order["Description"]) == ("Cancelled", "Duplicate of order 00000101")
    page = agent_client.get(url("change", order.pk)).content.decode()
    assert 'id="console-form-approve"' not in page
    assert 'id="console-form-reject"' not in page


def test_reject_needs_a_reason(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    order = pending_order(systems, eligible_customer(make_customer))

    response = agent_client.post(url("reject", order.pk), {"reject-reason": "  "})

    assert response.status_code == 200
    assert "The decision was not recorded" in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_REVIEW
    assert not OutboxEntry.objects.exists()
    assert not AgentDecision.objects.exists()


def test_a_held_order_is_not_approved_until_released(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    order = pending_order(systems, eligible_customer(make_customer))

    response = agent_client.post(url("hold", order.pk), {"hold-reason": "Waiting for the customer's call"})

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.held_at is not None
    assert order.status == OrderStatus.PENDING_REVIEW
    page = agent_client.get(url("change", order.pk)).content.decode()
    assert "Waiting for the customer&#x27;s call" in page
    assert 'id="console-form-approve"' not in page
    assert 'id="console-form-release"' in page
    refused = agent_client.post(url("approve", order.pk), {"approve-items_checked": "on"})
    assert "This order is on hold; release it before approving it." in refused.content.decode()
    deliver_all()
    sf_order = systems.salesforce.store.get_record("Order", order.salesforce_id)
    assert (sf_order["Status"], sf_order["Description"]) == (
        "Pending Review",
        "Waiting for the customer's call",
    )

    agent_client.post(url("release", order.pk), {"release-note": "Customer called back"})
    approved = agent_client.post(url("approve", order.pk), {"approve-items_checked": "on"})

    assert approved.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.held_at, order.hold_reason) == (OrderStatus.APPROVED, None, "")
    assert list(AgentDecision.objects.order_by("id").values_list("action", flat=True)) == [
        DecisionAction.HOLD_ORDER,
        DecisionAction.RELEASE_ORDER,
        DecisionAction.APPROVE_ORDER,
    ]
    deliver_all()
    sf_order = systems.salesforce.store.get_record("Order", order.salesforce_id)
    assert sf_order["Status"] == "Approved"
    assert not sf_order.get("Description")


def test_a_held_order_can_be_rejected(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    order = pending_order(systems, eligible_customer(make_customer))
    agent_client.post(url("hold", order.pk), {"hold-reason": "Checking the address"})

    agent_client.post(url("reject", order.pk), {"reject-reason": "Address not serviceable"})

    order.refresh_from_db()
    assert (order.status, order.held_at) == (OrderStatus.CANCELLED, None)


def test_an_agent_without_the_approval_permission_cannot_reject_or_hold(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent: User, agent_client: Client
) -> None:
    order = pending_order(systems, eligible_customer(make_customer))
    agent.groups.clear()
    agent.user_permissions.set(
        agent.user_permissions.model.objects.filter(codename="view_orderapprovalqueueitem")
    )

    rejected = agent_client.post(url("reject", order.pk), {"reject-reason": "No"})
    held = agent_client.post(url("hold", order.pk), {"hold-reason": "No"})

    assert (rejected.status_code, held.status_code) == (403, 403)
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_REVIEW
    assert order.held_at is None
