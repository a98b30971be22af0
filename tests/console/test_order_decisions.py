"""Order approval's other outcomes: reject with a reason (Cancelled here and in Salesforce) and
hold with a reason (no approval until released), each audited, written through the outbox and
told to the customer in a notification."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from apps.accounts.models import EligibilityStatus, User
from apps.checkout.models import OrderStatus
from apps.console.models import AgentDecision, DecisionAction
from apps.integrations.models import OutboxEntry
from apps.notifications.models import Notification, NotificationType
from emulators import EmulatorSuite
from tests.console.conftest import order_url
from tests.helpers import MakeCustomer, deliver_all
from tests.scenarios import pending_order

pytestmark = pytest.mark.django_db


def eligible_customer(make_customer: MakeCustomer, **fields: object) -> User:
    return make_customer(
        internet_eligibility_status=EligibilityStatus.ELIGIBLE, internet_eligibility="Home 1G", **fields
    )


def customer_notifications(customer: User) -> list[dict[str, object]]:
    """The customer's notifications from their API, in the language their sign-in set (the
    language cookie, as the login view sets it from their preferred language)."""
    client = Client()
    client.force_login(customer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = customer.preferred_language
    response = client.get(reverse("notifications:list"))
    assert response.status_code == 200
    results: list[dict[str, object]] = response.json()["results"]
    return results


def test_reject_cancels_the_order_here_and_in_salesforce_with_the_reason(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent: User, agent_client: Client
) -> None:
    order = pending_order(systems, eligible_customer(make_customer))
    page = agent_client.get(order_url("change", order.pk)).content.decode()
    assert 'id="console-form-reject"' in page

    response = agent_client.post(
        order_url("reject", order.pk), {"reject-reason": "Duplicate of order 00000101"}
    )

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
    page = agent_client.get(order_url("change", order.pk)).content.decode()
    assert 'id="console-form-approve"' not in page
    assert 'id="console-form-reject"' not in page
    [notification] = customer_notifications(order.user)
    assert notification["type"] == "order_rejected"
    assert notification["message"] == (
        f"We could not accept your order {order.order_number} and it has been cancelled. If you have any "
        "questions, please contact our support team. Reason: Duplicate of order 00000101"
    )


def test_the_customer_reads_the_rejection_in_their_language_with_the_reason_as_written(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    customer = eligible_customer(make_customer, preferred_language="ja")
    order = pending_order(systems, customer)
    order.order_number = "00000102"
    order.save(update_fields=["order_number"])
    reason = "<b>工事不可</b> 100% %(order_number)s {reason}"

    agent_client.post(order_url("reject", order.pk), {"reject-reason": f"  {reason}\n"})

    [notification] = customer_notifications(customer)
    assert (notification["type"], notification["title"], notification["action_url"]) == (
        "order_rejected",
        "ご注文をお受けできませんでした",
        "/account/orders",
    )
    assert notification["message"] == (
        "ご注文（注文番号：00000102）をお受けできず、キャンセルいたしました。"
        f"ご不明な点がございましたら、サポートチームまでお問い合わせください。理由：{reason}"
    )
    assert Notification.objects.get().context == {"order_number": "00000102", "reason": reason}


def test_reject_needs_a_reason(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    order = pending_order(systems, eligible_customer(make_customer))

    response = agent_client.post(order_url("reject", order.pk), {"reject-reason": "  "})

    assert response.status_code == 200
    assert "The decision was not recorded" in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_REVIEW
    assert not OutboxEntry.objects.exists()
    assert not AgentDecision.objects.exists()
    assert not Notification.objects.exists()


def test_a_held_order_is_not_approved_until_released(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    order = pending_order(systems, eligible_customer(make_customer))

    response = agent_client.post(
        order_url("hold", order.pk), {"hold-reason": "Waiting for the customer's call"}
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.held_at is not None
    assert order.status == OrderStatus.PENDING_REVIEW
    page = agent_client.get(order_url("change", order.pk)).content.decode()
    assert "Waiting for the customer&#x27;s call" in page
    assert 'id="console-form-approve"' not in page
    assert 'id="console-form-release"' in page
    refused = agent_client.post(order_url("approve", order.pk), {"approve-items_checked": "on"})
    assert "This order is on hold; release it before approving it." in refused.content.decode()
    deliver_all()
    sf_order = systems.salesforce.store.get_record("Order", order.salesforce_id)
    assert (sf_order["Status"], sf_order["Description"]) == (
        "Pending Review",
        "Waiting for the customer's call",
    )

    [held] = customer_notifications(order.user)
    assert (held["type"], held["message"]) == (
        "order_on_hold",
        f"Your order {order.order_number} is on hold. Reason: Waiting for the customer's call",
    )

    agent_client.post(order_url("release", order.pk), {"release-note": "Customer called back"})
    released = customer_notifications(order.user)[0]
    assert (released["type"], released["message"]) == (
        "order_hold_released",
        f"Your order {order.order_number} is no longer on hold and is being reviewed again.",
    )
    assert "Customer called back" not in str(released)  # the release note is the agents' own
    approved = agent_client.post(order_url("approve", order.pk), {"approve-items_checked": "on"})

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
    agent_client.post(order_url("hold", order.pk), {"hold-reason": "Checking the address"})

    agent_client.post(order_url("reject", order.pk), {"reject-reason": "Address not serviceable"})

    order.refresh_from_db()
    assert (order.status, order.held_at) == (OrderStatus.CANCELLED, None)
    assert list(Notification.objects.order_by("created_at").values_list("type", flat=True)) == [
        NotificationType.ORDER_ON_HOLD,
        NotificationType.ORDER_REJECTED,
    ]


def test_an_agent_without_the_approval_permission_cannot_reject_or_hold(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent: User, agent_client: Client
) -> None:
    order = pending_order(systems, eligible_customer(make_customer))
    agent.groups.clear()
    agent.user_permissions.set(
        agent.user_permissions.model.objects.filter(codename="view_orderapprovalqueueitem")
    )

    rejected = agent_client.post(order_url("reject", order.pk), {"reject-reason": "No"})
    held = agent_client.post(order_url("hold", order.pk), {"hold-reason": "No"})

    assert (rejected.status_code, held.status_code) == (403, 403)
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_REVIEW
    assert order.held_at is None
    assert not Notification.objects.exists()
