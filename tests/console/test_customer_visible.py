"""Decision forms mark the fields the customer reads (item 8): the agent is warned before typing."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from emulators import EmulatorSuite
from tests.console.conftest import pending_eligibility, submitted_card
from tests.helpers import MakeCustomer
from tests.scenarios import pending_order

pytestmark = pytest.mark.django_db


def visible_fields(page: str) -> list[str]:
    return re.findall(r'id="(id_[\w-]+)-visible"', page)


def test_the_eligibility_notes_are_marked_as_shown_to_the_customer(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    user, _, _ = pending_eligibility(systems, make_customer)

    page = agent_client.get(
        reverse("admin:console_eligibilityqueueitem_change", args=[user.profile.pk])
    ).content.decode()

    assert visible_fields(page) == ["id_mark_eligible-notes", "id_mark_ineligible-notes"]
    assert "Shown to the customer" in page


def test_the_rejection_message_is_marked_and_the_verify_checks_are_not(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    _, submission = submitted_card(systems, make_customer)

    page = agent_client.get(
        reverse("admin:console_idverificationqueueitem_change", args=[submission.pk])
    ).content.decode()

    assert visible_fields(page) == ["id_reject-message"]


def test_internal_notes_are_not_marked(
    systems: EmulatorSuite, make_customer: MakeCustomer, supervisor_client: Client
) -> None:
    user = make_customer(internet_eligibility_status="eligible")

    page = supervisor_client.get(
        reverse("admin:console_eligibilityqueueitem_change", args=[user.profile.pk])
    ).content.decode()

    assert 'id="console-form-reopen"' in page
    assert visible_fields(page) == []


def test_the_order_reject_and_hold_reasons_are_marked_and_the_release_note_is_not(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    order = pending_order(systems, make_customer(internet_eligibility_status="eligible"))

    page = agent_client.get(
        reverse("admin:console_orderapprovalqueueitem_change", args=[order.pk])
    ).content.decode()
    agent_client.post(
        reverse("admin:console_orderapprovalqueueitem_hold", args=[order.pk]), {"hold-reason": "Call us"}
    )
    held = agent_client.get(
        reverse("admin:console_orderapprovalqueueitem_change", args=[order.pk])
    ).content.decode()

    assert visible_fields(page) == ["id_hold-reason", "id_reject-reason"]
    assert 'id="console-form-release"' in held
    assert visible_fields(held) == ["id_reject-reason"]
