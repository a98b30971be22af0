"""Claim / release / assign on queue items, "my items", "save and next", and decision forms
that post to (and re-render at) the record's own URL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.accounts.models import EligibilityStatus, User
from apps.checkout.models import Order, OrderStatus
from apps.console.models import AgentDecision, DecisionAction, QueueClaim
from emulators import EmulatorSuite
from tests.console.conftest import order_url
from tests.factories import AgentFactory
from tests.helpers import MakeCustomer
from tests.scenarios import pending_order

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/console/orderapprovalqueueitem/"


def eligible_order(systems: EmulatorSuite, make_customer: MakeCustomer, *, age_days: int = 0) -> Order:
    user = make_customer(
        internet_eligibility_status=EligibilityStatus.ELIGIBLE, internet_eligibility="Home 1G"
    )
    order = pending_order(systems, user)
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(days=age_days))
    return order


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_agent_claims_an_item_and_finds_it_under_my_items(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent: User, agent_client: Client
) -> None:
    mine = eligible_order(systems, make_customer)
    other = eligible_order(systems, make_customer)
    assert (
        "Nobody is working on this item." in agent_client.get(order_url("change", mine.pk)).content.decode()
    )

    response = agent_client.post(order_url("claim", mine.pk))

    assert response.status_code == 302
    assert "You are working on this item." in agent_client.get(order_url("change", mine.pk)).content.decode()
    decision = AgentDecision.objects.get()
    assert (decision.agent, decision.action, decision.after) == (
        agent,
        DecisionAction.CLAIM_ITEM,
        {"claimed_by": agent.pk},
    )
    listed = agent_client.get(CHANGELIST, {"claim": "mine"}).context["cl"].result_list
    assert [order.pk for order in listed] == [mine.pk]
    unclaimed = agent_client.get(CHANGELIST, {"claim": "unclaimed"}).context["cl"].result_list
    assert [order.pk for order in unclaimed] == [other.pk]
    assert "Aoi Tanaka" in agent_client.get(CHANGELIST).content.decode()


def test_an_item_claimed_by_another_agent_cannot_be_claimed_or_released(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    order = eligible_order(systems, make_customer)
    colleague = AgentFactory(first_name="Mei", last_name="Sato")
    client_for(colleague).post(order_url("claim", order.pk))

    claimed = agent_client.post(order_url("claim", order.pk), follow=True)
    released = agent_client.post(order_url("release_claim", order.pk))

    assert "Mei Sato is already working on this item." in claimed.content.decode()
    assert released.status_code == 403
    assert QueueClaim.objects.get().agent == colleague


def test_the_holder_releases_their_item(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    order = eligible_order(systems, make_customer)
    agent_client.post(order_url("claim", order.pk))

    agent_client.post(order_url("release_claim", order.pk))

    assert not QueueClaim.objects.exists()
    assert list(AgentDecision.objects.order_by("id").values_list("action", flat=True)) == [
        DecisionAction.CLAIM_ITEM,
        DecisionAction.RELEASE_ITEM,
    ]


def test_only_supervisors_assign(
    systems: EmulatorSuite,
    make_customer: MakeCustomer,
    agent: User,
    agent_client: Client,
    supervisor: User,
    supervisor_client: Client,
) -> None:
    order = eligible_order(systems, make_customer)
    assert 'id="console-assign"' not in agent_client.get(order_url("change", order.pk)).content.decode()
    assert 'id="console-assign"' in supervisor_client.get(order_url("change", order.pk)).content.decode()

    refused = agent_client.post(order_url("assign", order.pk), {"assignee": agent.pk})
    assigned = supervisor_client.post(order_url("assign", order.pk), {"assignee": agent.pk})

    assert refused.status_code == 403
    assert assigned.status_code == 302
    claim = QueueClaim.objects.get()
    assert (claim.agent, claim.assigned_by) == (agent, supervisor)
    decision = AgentDecision.objects.get()
    assert (decision.agent, decision.action) == (supervisor, DecisionAction.ASSIGN_ITEM)
    listed = agent_client.get(CHANGELIST, {"claim": "mine"}).context["cl"].result_list
    assert [item.pk for item in listed] == [order.pk]


def test_a_supervisor_cannot_assign_to_a_customer(
    systems: EmulatorSuite, make_customer: MakeCustomer, supervisor_client: Client
) -> None:
    order = eligible_order(systems, make_customer)

    supervisor_client.post(order_url("assign", order.pk), {"assignee": order.user_id})

    assert not QueueClaim.objects.exists()


def test_save_and_next_opens_and_claims_the_next_oldest_unclaimed_open_item(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent: User, agent_client: Client
) -> None:
    first = eligible_order(systems, make_customer, age_days=5)
    taken = eligible_order(systems, make_customer, age_days=4)
    held = eligible_order(systems, make_customer, age_days=3)
    expected = eligible_order(systems, make_customer, age_days=2)
    eligible_order(systems, make_customer, age_days=1)
    client_for(AgentFactory()).post(order_url("claim", taken.pk))
    agent_client.post(order_url("hold", held.pk), {"hold-reason": "Waiting"})

    response = agent_client.post(
        order_url("change", first.pk),
        {"_decision": "approve", "approve-items_checked": "on", "_next": "Save and next"},
    )

    first.refresh_from_db()
    assert first.status == OrderStatus.APPROVED
    assert response.status_code == 302
    assert response["Location"] == order_url("change", expected.pk)
    assert QueueClaim.objects.get(subject_id=str(expected.pk)).agent == agent


def test_save_and_next_at_the_end_of_the_queue_returns_to_the_list(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    order = eligible_order(systems, make_customer)

    response = agent_client.post(
        order_url("change", order.pk), {"_decision": "approve", "approve-items_checked": "on", "_next": "1"}
    )

    assert response["Location"] == CHANGELIST


def test_a_form_with_errors_is_shown_again_at_the_record_url_with_its_field_focused(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    order = eligible_order(systems, make_customer)
    page = agent_client.get(order_url("change", order.pk)).content.decode()
    assert f'action="{order_url("change", order.pk)}"' in page

    response = agent_client.post(order_url("change", order.pk), {"_decision": "reject", "reject-reason": ""})

    assert response.status_code == 200
    body = response.content.decode()
    assert "The decision was not recorded; see the form below." in body
    assert 'name="reject-reason"' in body
    assert "autofocus" in body.split('id="console-form-reject"')[1].split("</form>")[0]
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_REVIEW
    # Reloading the address is the record page again, not a POST-only URL.
    assert agent_client.get(order_url("change", order.pk)).status_code == 200
