"""Decision history and audit entries in words: field labels, choice labels, times in Asia/Tokyo."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts.models import EligibilityStatus
from apps.console.models import DecisionAction, SubjectType
from tests.factories import AgentDecisionFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def eligibility_decision(customer: object) -> object:
    return AgentDecisionFactory(
        customer=customer,
        subject_type=SubjectType.ELIGIBILITY,
        subject_id=str(customer.profile.pk),  # type: ignore[attr-defined]
        action=DecisionAction.MARK_ELIGIBLE,
        before={"internet_eligibility_status": "pending", "internet_eligibility_checked_at": None},
        after={
            "internet_eligibility_status": "eligible",
            "internet_eligibility_checked_at": "2026-03-02T01:30:00+00:00",
        },
    )


def test_the_record_page_shows_changes_with_labels_and_tokyo_times(agent_client: Client) -> None:
    customer = CustomerFactory(profile__internet_eligibility_status=EligibilityStatus.ELIGIBLE)
    eligibility_decision(customer)

    page = agent_client.get(
        reverse("admin:console_eligibilityqueueitem_change", args=[customer.profile.pk])
    ).content.decode()
    japanese = agent_client.get(
        reverse("admin:console_eligibilityqueueitem_change", args=[customer.profile.pk]),
        headers={"accept-language": "ja"},
    ).content.decode()

    assert "Pending → Eligible" in page
    assert "internet_eligibility_status" not in page
    assert "10:30" in page  # 01:30 UTC is 10:30 in Tokyo
    assert "2026-03-02T01:30" not in page
    assert "保留中 → 提供可" in japanese


def test_the_audit_entry_shows_the_changes_in_words_not_json(agent_client: Client) -> None:
    customer = CustomerFactory()
    decision = eligibility_decision(customer)

    page = agent_client.get(
        reverse("admin:console_agentdecision_change", args=[decision.pk])  # type: ignore[attr-defined]
    ).content.decode()

    assert '<table class="console-changes">' in page
    assert "<td>Pending</td><td>→ Eligible</td>" in page
    assert "{&quot;internet_eligibility_status&quot;" not in page
    assert '"internet_eligibility_status"' not in page
    assert "10:30" in page
