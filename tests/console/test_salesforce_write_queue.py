"""The supervisors' queue of held or failed Salesforce writes: reason, age and record, filters,
the audited bulk retry; agents cannot see it; coalesced updates are shown as such."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.services import customer_sign_in_record
from apps.console.models import AgentDecision, DecisionAction, SubjectType
from apps.integrations.models import OutboxEntry
from tests.factories import CustomerFactory, OrderFactory, OutboxEntryFactory

pytestmark = pytest.mark.django_db

QUEUE = "admin:console_salesforcewritequeueitem_changelist"


def listed(client: Client, **params: str) -> list[int]:
    return [entry.pk for entry in client.get(reverse(QUEUE), params).context["cl"].result_list]


def failed_entries() -> tuple[OutboxEntry, OutboxEntry, OutboxEntry, User]:
    customer = CustomerFactory()
    key = f"Account:{customer.id_mapping.salesforce_account_id}"
    failed = OutboxEntryFactory(
        record_key=key,
        operation="console.order.approve",
        status=OutboxEntry.Status.FAILED,
        attempts=12,
        last_error="INVALID_FIELD: No such column 'Foo__c'",
    )
    held = OutboxEntryFactory(
        record_key=key,
        operation="order.place",
        status=OutboxEntry.Status.FAILED,
        attempts=1,
        last_error="OUTCOME_UNKNOWN: the answer was lost",
    )
    delivered = OutboxEntryFactory(record_key=key, status=OutboxEntry.Status.DELIVERED)
    OutboxEntry.objects.filter(pk=held.pk).update(created_at=timezone.now() - timedelta(days=2))
    return failed, held, delivered, customer


def test_supervisors_see_held_and_failed_writes_with_reason_age_and_record(supervisor_client: Client) -> None:
    failed, held, _delivered, customer = failed_entries()

    page = supervisor_client.get(reverse(QUEUE)).content.decode()

    assert listed(supervisor_client) == [held.pk, failed.pk]  # oldest first
    assert "INVALID_FIELD: No such column" in page
    assert "Held: outcome unknown" in page
    assert customer.email in page
    assert listed(supervisor_client, state="held") == [held.pk]
    assert listed(supervisor_client, state="failed") == [failed.pk]
    assert listed(supervisor_client, older_than="1d") == [held.pk]


def test_agents_cannot_see_the_queue_or_retry(agent_client: Client) -> None:
    failed, _held, _delivered, _customer = failed_entries()

    response = agent_client.get(reverse(QUEUE))
    retried = agent_client.post(reverse(QUEUE), {"action": "retry_selected", "_selected_action": [failed.pk]})

    assert response.status_code == 403
    assert retried.status_code == 403
    failed.refresh_from_db()
    assert failed.status == OutboxEntry.Status.FAILED


def test_bulk_retry_queues_the_failed_writes_again_with_an_audit_row_each(
    supervisor: object, supervisor_client: Client
) -> None:
    failed, held, delivered, customer = failed_entries()

    response = supervisor_client.post(
        reverse(QUEUE),
        {"action": "retry_selected", "_selected_action": [failed.pk, held.pk, delivered.pk]},
        follow=True,
    )

    assert "2 Salesforce writes are queued again." in response.content.decode()
    for entry in (failed, held):
        entry.refresh_from_db()
        assert (entry.status, entry.attempts) == (OutboxEntry.Status.PENDING, 0)
    delivered.refresh_from_db()
    assert delivered.status == OutboxEntry.Status.DELIVERED
    decisions = AgentDecision.objects.order_by("id")
    assert [(d.agent, d.action, d.subject_type, d.subject_id, d.customer) for d in decisions] == [
        (supervisor, DecisionAction.RETRY_SYNC, SubjectType.SALESFORCE_WRITE, str(failed.pk), customer),
        (supervisor, DecisionAction.RETRY_SYNC, SubjectType.SALESFORCE_WRITE, str(held.pk), customer),
    ]
    assert decisions[0].before["status"] == "failed"
    assert listed(supervisor_client) == []


def test_a_coalesced_sign_in_stamp_is_shown_as_such(agent_client: Client, supervisor_client: Client) -> None:
    customer = CustomerFactory()
    order = OrderFactory(user=customer)
    customer_sign_in_record(user_id=customer.pk)
    stamp = OutboxEntry.objects.get(operation="account.last_sign_in")

    page = agent_client.get(
        reverse("admin:console_orderapprovalqueueitem_change", args=[order.pk])
    ).content.decode()
    queue = supervisor_client.get(reverse(QUEUE), {"state": "coalesced"}).content.decode()

    assert "Waiting to reach Salesforce" not in page
    assert f'id="console-outbox-{stamp.pk}"' in page
    assert "only the latest value is sent" in page
    assert "Coalesced: only the latest value is sent" in queue
