"""The console speaks Japanese to an agent whose browser asks for it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from apps.integrations.salesforce.field_map import FieldMap
from emulators import EmulatorSuite
from tests.console.conftest import pending_eligibility
from tests.helpers import PICKLIST_CHOICES, MakeCustomer

pytestmark = pytest.mark.django_db


def test_the_admin_index_and_queues_are_labelled_in_japanese(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    pending_eligibility(systems, make_customer)

    index = agent_client.get(reverse("admin:index"), headers={"accept-language": "ja"}).content.decode()
    queue = agent_client.get(
        reverse("admin:console_eligibilityqueueitem_changelist"), headers={"accept-language": "ja"}
    ).content.decode()

    assert '<html lang="ja"' in index
    assert "担当者キュー" in index
    assert "インターネット提供可否の確認依頼" in index
    assert "エージェントコンソール" in index
    assert "インターネット提供可否キュー" in queue
    assert "SLA以内" in queue


def test_the_checklist_and_its_forms_are_in_japanese(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    user, _, _ = pending_eligibility(systems, make_customer)

    page = agent_client.get(
        reverse("admin:console_eligibilityqueueitem_change", args=[user.profile.pk]),
        headers={"accept-language": "ja"},
    ).content.decode()

    assert "インターネット提供可否チェックリスト" in page
    assert "NTTの提供可否確認を行う" in page
    assert "提供可にする" in page
    assert "提供種別" in page


def test_translated_labels_never_reach_salesforce() -> None:
    """The choices' labels are translated: a field map built while Japanese is active must still
    speak the org's (English) values."""
    english = FieldMap()
    with translation.override("ja"):
        japanese = FieldMap()

    for key, choices in PICKLIST_CHOICES.items():
        sobject, attribute = key.split(".")
        for choice in choices:
            if choice.value:
                assert japanese.to_salesforce(sobject, attribute, choice.value) == english.to_salesforce(
                    sobject, attribute, choice.value
                ), key
    assert japanese.record("Account", {"portal_status": "active"}) == {"Portal_Status__c": "Active"}
