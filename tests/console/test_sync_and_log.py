"""Sync visibility on the record pages (last synced, pending and failed Salesforce writes, retry)
and the read-only decision log."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.console.models import AgentDecision, DecisionAction
from apps.integrations.models import OutboxEntry
from apps.integrations.outbox import WriteBack, outbox_enqueue_salesforce
from apps.integrations.salesforce.gateway import CompositeSubrequest
from apps.opportunities.models import Case
from tests.factories import (
    AgentDecisionFactory,
    CaseFactory,
    CustomerFactory,
    OrderFactory,
    OutboxEntryFactory,
    StaffUserFactory,
)

pytestmark = pytest.mark.django_db


def test_the_record_page_shows_last_synced_and_the_customers_unsent_writes(agent_client: Client) -> None:
    customer = CustomerFactory()
    account_key = f"Account:{customer.id_mapping.salesforce_account_id}"
    order = OrderFactory(user=customer, synced_at=timezone.now())
    failed = OutboxEntryFactory(
        record_key=account_key,
        operation="checkout.order",
        status=OutboxEntry.Status.FAILED,
        attempts=12,
        last_error="INVALID_FIELD: No such column 'Foo__c'",
    )
    pending = OutboxEntryFactory(record_key=account_key, operation="console.order.approve")
    OutboxEntryFactory(record_key=account_key, status=OutboxEntry.Status.DELIVERED)
    OutboxEntryFactory(record_key="Account:001000000000999", status=OutboxEntry.Status.FAILED)

    page = agent_client.get(
        reverse("admin:console_orderapprovalqueueitem_change", args=[order.pk])
    ).content.decode()
    queue = agent_client.get(reverse("admin:console_orderapprovalqueueitem_changelist")).content.decode()

    assert order.salesforce_id in page
    assert timezone.localtime(order.synced_at).strftime("%Y-%m-%d %H:%M") in page
    assert f'id="console-outbox-{failed.pk}"' in page
    assert f'id="console-outbox-{pending.pk}"' in page
    assert page.count('class="console-outbox-') == 2
    assert "INVALID_FIELD: No such column" in page
    retry_url = reverse("admin:console_orderapprovalqueueitem_retry_sync", args=[order.pk, failed.pk])
    assert f'action="{retry_url}"' in page
    assert reverse("admin:console_orderapprovalqueueitem_retry_sync", args=[order.pk, pending.pk]) not in page
    assert "console-badge-overdue" in queue  # the sync column shows the failure


def test_retry_puts_a_failed_write_back_in_the_queue_and_is_logged(agent_client: Client) -> None:
    customer = CustomerFactory()
    order = OrderFactory(user=customer)
    failed = OutboxEntryFactory(
        record_key=f"Account:{customer.id_mapping.salesforce_account_id}",
        status=OutboxEntry.Status.FAILED,
        attempts=12,
    )

    response = agent_client.post(
        reverse("admin:console_orderapprovalqueueitem_retry_sync", args=[order.pk, failed.pk])
    )

    assert response.status_code == 302
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (OutboxEntry.Status.PENDING, 0)
    decision = AgentDecision.objects.get()
    assert decision.action == DecisionAction.RETRY_SYNC
    assert decision.before["status"] == "failed"
    assert decision.after["status"] == "pending"


def test_another_customers_write_cannot_be_retried_from_this_record(agent_client: Client) -> None:
    order = OrderFactory(user=CustomerFactory())
    elsewhere = OutboxEntryFactory(record_key="Account:001000000000999", status=OutboxEntry.Status.FAILED)

    agent_client.post(
        reverse("admin:console_orderapprovalqueueitem_retry_sync", args=[order.pk, elsewhere.pk])
    )

    elsewhere.refresh_from_db()
    assert elsewhere.status == OutboxEntry.Status.FAILED
    assert AgentDecision.objects.count() == 0


def test_the_decision_log_is_read_only(agent_client: Client) -> None:
    decision = AgentDecisionFactory(note="Home 1G confirmed")

    listing = agent_client.get(reverse("admin:console_agentdecision_changelist")).content.decode()
    detail = agent_client.get(reverse("admin:console_agentdecision_change", args=[decision.pk]))
    edit = agent_client.post(reverse("admin:console_agentdecision_change", args=[decision.pk]), {"note": "x"})
    add = agent_client.get(reverse("admin:console_agentdecision_add"))
    delete = agent_client.post(
        reverse("admin:console_agentdecision_delete", args=[decision.pk]), {"post": "yes"}
    )

    assert "Home 1G confirmed" in listing
    assert detail.status_code == 200
    assert 'name="note"' not in detail.content.decode()
    assert edit.status_code == 403
    assert add.status_code == 403
    assert delete.status_code == 403
    decision.refresh_from_db()
    assert decision.note == "Home 1G confirmed"


def test_the_decision_log_is_not_open_to_other_staff() -> None:
    client = Client()
    client.force_login(StaffUserFactory())

    assert client.get(reverse("admin:console_agentdecision_changelist")).status_code == 403


def test_the_record_page_lists_its_decisions_and_links_to_them_in_the_log(agent_client: Client) -> None:
    order = OrderFactory(user=CustomerFactory())
    mine = AgentDecisionFactory(
        customer=order.user,
        subject_type="order",
        subject_id=str(order.pk),
        action=DecisionAction.APPROVE_ORDER,
        before={"status": "pending_review"},
        after={"status": "approved"},
    )
    other = AgentDecisionFactory(subject_type="order", subject_id=str(order.pk + 1000), note="Someone else")

    page = agent_client.get(
        reverse("admin:console_orderapprovalqueueitem_change", args=[order.pk])
    ).content.decode()
    log_url = (
        reverse("admin:console_agentdecision_changelist")
        + f"?subject_type__exact=order&subject_id={order.pk}"
    )
    log = agent_client.get(log_url).content.decode()

    assert "<dt>Status</dt><dd>Pending Review → Approved</dd>" in page
    assert log_url.replace("&", "&amp;") in page
    assert reverse("admin:console_agentdecision_change", args=[mine.pk]) in log
    assert reverse("admin:console_agentdecision_change", args=[other.pk]) not in log


def held_case_create(customer: Any, case: Case) -> OutboxEntry:
    """An eligibility Case create held because its answer was lost (Salesforce may have it)."""
    entry = outbox_enqueue_salesforce(
        operation="eligibility.request",
        record_key=f"Account:{customer.id_mapping.salesforce_account_id}",
        subrequests=[CompositeSubrequest.create("Case", "case", {"Subject": "Check"})],
        write_backs=[WriteBack("case", "opportunities.Case", case.pk)],
    )
    OutboxEntry.objects.filter(pk=entry.pk).update(
        status=OutboxEntry.Status.FAILED,
        attempts=1,
        last_error="OUTCOME_UNKNOWN: Salesforce composite: no answer in time. Salesforce may have "
        "created the records: check there before retrying, or they will be created twice.",
    )
    entry.refresh_from_db()
    return entry


def test_a_write_held_with_an_unknown_outcome_can_be_settled_with_the_record_found_in_salesforce(
    agent_client: Client,
) -> None:
    # Given an eligibility request whose Case create lost its answer, and an ordinary failure
    customer = CustomerFactory()
    order = OrderFactory(user=customer)
    case = CaseFactory(user=customer, salesforce_id=None)
    held = held_case_create(customer, case)
    refused = OutboxEntryFactory(
        record_key=held.record_key, status=OutboxEntry.Status.FAILED, last_error="INVALID_FIELD: Foo__c"
    )
    page_url = reverse("admin:console_orderapprovalqueueitem_change", args=[order.pk])
    resolve_url = reverse("admin:console_orderapprovalqueueitem_resolve_sync", args=[order.pk, held.pk])

    # The record page offers "found in Salesforce" for the held write only, asking for the Case's ID
    page = agent_client.get(page_url).content.decode()
    assert f'action="{resolve_url}"' in page
    assert 'name="salesforce_id_case"' in page
    assert (
        reverse("admin:console_orderapprovalqueueitem_resolve_sync", args=[order.pk, refused.pk]) not in page
    )

    # When the agent enters the ID of the Case they found
    response = agent_client.post(resolve_url, {"salesforce_id_case": "500000000000123AAA"})

    # Then the write is settled without being sent again, the ID written back, the decision logged
    assert response.status_code == 302
    held.refresh_from_db()
    case.refresh_from_db()
    assert (held.status, case.salesforce_id) == (OutboxEntry.Status.DELIVERED, "500000000000123AAA")
    decision = AgentDecision.objects.get()
    assert decision.action == DecisionAction.RESOLVE_SYNC
    assert decision.after == {"status": "delivered", "salesforce_ids": {"case": "500000000000123AAA"}}


def test_settling_needs_a_real_salesforce_id_and_a_held_write(agent_client: Client) -> None:
    customer = CustomerFactory()
    order = OrderFactory(user=customer)
    case = CaseFactory(user=customer, salesforce_id=None)
    held = held_case_create(customer, case)
    ordinary = OutboxEntryFactory(
        record_key=held.record_key, status=OutboxEntry.Status.FAILED, last_error="x"
    )

    bad_id = agent_client.post(
        reverse("admin:console_orderapprovalqueueitem_resolve_sync", args=[order.pk, held.pk]),
        {"salesforce_id_case": "500'; DROP"},
        follow=True,
    )
    not_held = agent_client.post(
        reverse("admin:console_orderapprovalqueueitem_resolve_sync", args=[order.pk, ordinary.pk]),
        {"salesforce_id_case": "500000000000123AAA"},
        follow=True,
    )

    held.refresh_from_db()
    ordinary.refresh_from_db()
    case.refresh_from_db()
    assert "Enter the 15- or 18-character Salesforce ID of the case record." in bad_id.content.decode()
    assert "Only a write whose outcome is unknown" in not_held.content.decode()
    assert (held.status, ordinary.status, case.salesforce_id) == ("failed", "failed", None)
    assert AgentDecision.objects.count() == 0
