"""Every queue is timed: an SLA per queue, overdue counts on the index, a past-SLA filter."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.checkout.models import Order
from apps.console.selectors import console_queue_counts
from apps.opportunities.models import CaseOrigin, CasePriority, CaseStatus, CaseType, OpportunityStage
from apps.verification.models import ResidenceCardSubmission
from tests.factories import (
    AgentFactory,
    CaseFactory,
    CustomerFactory,
    OpportunityFactory,
    OrderFactory,
    ResidenceCardSubmissionFactory,
)

pytestmark = pytest.mark.django_db

SUPPORT = reverse("admin:console_supportcasequeueitem_changelist")
ORDERS = reverse("admin:console_orderapprovalqueueitem_changelist")
ID_VERIFICATION = reverse("admin:console_idverificationqueueitem_changelist")
CANCELLATIONS = reverse("admin:console_cancellationqueueitem_changelist")


def rows(page: str, marker: str) -> list[int]:
    return [int(pk) for pk in re.findall(re.escape(marker) + r"(\d+)/change/", page)]


def ticket(*, priority: str, age: timedelta, status: str = CaseStatus.NEW) -> int:
    case = CaseFactory(
        user=CustomerFactory(),
        type=CaseType.GENERAL_INQUIRY,
        origin=CaseOrigin.PORTAL_WEBSITE,
        priority=priority,
        status=status,
    )
    type(case).objects.filter(pk=case.pk).update(created_at=timezone.now() - age)
    return int(case.pk)


def test_every_queue_counts_what_is_past_its_sla_on_the_index(agent_client: Client) -> None:
    now = timezone.now()
    late_card = ResidenceCardSubmissionFactory(user=CustomerFactory())
    ResidenceCardSubmission.objects.filter(pk=late_card.pk).update(submitted_at=now - timedelta(days=8))
    ResidenceCardSubmissionFactory(user=CustomerFactory())
    late_order = OrderFactory(user=CustomerFactory())
    Order.objects.filter(pk=late_order.pk).update(created_at=now - timedelta(days=8))
    OrderFactory(user=CustomerFactory())
    OpportunityFactory(
        user=CustomerFactory(),
        stage=OpportunityStage.CANCELLING,
        scheduled_cancellation_at=now - timedelta(days=1),
    )
    OpportunityFactory(
        user=CustomerFactory(),
        stage=OpportunityStage.CANCELLING,
        scheduled_cancellation_at=now + timedelta(days=9),
    )
    ticket(priority=CasePriority.HIGH, age=timedelta(days=8))
    ticket(priority=CasePriority.LOW, age=timedelta(hours=5))
    ticket(priority=CasePriority.HIGH, age=timedelta(days=8), status=CaseStatus.CLOSED)

    counts = {q.key: (q.count, q.overdue) for q in console_queue_counts(user=AgentFactory())}
    page = agent_client.get(reverse("admin:index")).content.decode()

    assert counts["id_verification"] == (2, 1)
    assert counts["order_approval"] == (2, 1)
    assert counts["cancellation"] == (2, 1)
    assert counts["support_case"] == (2, 1)
    assert 'id="console-queue-support_case"' in page
    assert page.count("1 past SLA") == 4
    assert "8 days" in page  # the oldest item's age


def test_support_tickets_are_timed_by_priority_and_filtered_past_sla(agent_client: Client) -> None:
    urgent = ticket(priority=CasePriority.HIGH, age=timedelta(days=3))
    relaxed = ticket(priority=CasePriority.LOW, age=timedelta(minutes=30))

    overdue = agent_client.get(SUPPORT, {"sla": "overdue"}).content.decode()
    on_time = agent_client.get(SUPPORT, {"sla": "on_time"}).content.decode()
    everything = agent_client.get(SUPPORT).content.decode()

    marker = "/admin/console/supportcasequeueitem/"
    assert rows(overdue, marker) == [urgent]
    assert rows(on_time, marker) == [relaxed]
    assert rows(everything, marker) == [urgent, relaxed]  # oldest first
    assert everything.count("console-badge-overdue") == 1
    assert everything.count("console-badge-sla") == 1


@pytest.mark.parametrize("changelist", [ORDERS, ID_VERIFICATION, CANCELLATIONS])
def test_each_queue_list_has_the_past_sla_filter(agent_client: Client, changelist: str) -> None:
    page = agent_client.get(changelist).content.decode()

    assert "?sla=overdue" in page
    assert "?sla=on_time" in page
