"""Eligibility decisions in the console: Salesforce fields, the Case, the mirror, the audit row
and exactly one notification, even when the platform event for the same change arrives too."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import EligibilityStatus, User
from apps.accounts.status_events import account_status_event_apply
from apps.console.models import AgentDecision, DecisionAction, SubjectType
from apps.integrations.models import OutboxEntry
from apps.integrations.outbox import outbox_deliver_due
from apps.notifications.models import Notification, NotificationType
from apps.opportunities.models import CaseStatus
from emulators import EmulatorSuite
from tests.console.conftest import pending_eligibility
from tests.helpers import MakeCustomer, account_id_of, deliver_all

pytestmark = pytest.mark.django_db

ACCOUNT_TOPIC = "/event/Account_Internet_Eligibility_Update__e"


def url(name: str, pk: int) -> str:
    return reverse(f"admin:console_eligibilityqueueitem_{name}", args=[pk])


def test_the_checklist_shows_the_address_the_case_and_the_decision_forms(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    user, _, case = pending_eligibility(systems, make_customer)

    response = agent_client.get(url("change", user.profile.pk))

    assert response.status_code == 200
    page = response.content.decode()
    assert "〒150-0002" in page
    assert "2-21-1 Shibuya" in page
    assert case.salesforce_id in page
    assert "Internet availability check request (Portal)" in page
    assert 'id="console-form-mark_eligible"' in page
    assert 'id="console-form-mark_ineligible"' in page
    assert 'list="mark_eligible-offering-options"' not in page  # the id-based list is used
    assert '<option value="Home 10G">' in page
    assert 'id="console-form-reopen"' not in page


def test_the_checklist_shows_the_japanese_address_first_then_the_romaji_one(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    user, request, _ = pending_eligibility(systems, make_customer)
    request.address_line2, request.address_line2_ja = "Room 1203", "1203号室"
    request.save(update_fields=["address_line2", "address_line2_ja"])

    english = agent_client.get(url("change", user.profile.pk)).content.decode()
    japanese = agent_client.get(
        url("change", user.profile.pk), headers={"accept-language": "ja"}
    ).content.decode()

    address_ja = "〒150-0002 東京都渋谷区渋谷2-21-1 1203号室"
    address_romaji = "〒150-0002 Tokyo Shibuya-ku 2-21-1 Shibuya Room 1203"
    for page in (english, japanese):
        assert page.index(address_ja) < page.index(address_romaji)
    assert "Address (Japanese)" in english
    assert "Address (romaji)" in english
    assert "住所（日本語）" in japanese
    assert "住所（ローマ字）" in japanese


def test_a_request_made_before_the_japanese_address_was_asked_for_shows_a_dash(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    user, request, _ = pending_eligibility(systems, make_customer)
    request.prefecture_ja = request.city_ja = request.address_line1_ja = ""
    request.save(update_fields=["prefecture_ja", "city_ja", "address_line1_ja"])

    page = agent_client.get(url("change", user.profile.pk)).content.decode()

    assert '<dd id="console-address-ja" lang="ja">—</dd>' in page
    assert "〒150-0002 Tokyo Shibuya-ku 2-21-1 Shibuya" in page


def test_mark_eligible_writes_the_account_closes_the_case_records_and_notifies_once(
    systems: EmulatorSuite,
    make_customer: MakeCustomer,
    agent: User,
    agent_client: Client,
) -> None:
    user, _, case = pending_eligibility(systems, make_customer)
    account_id = account_id_of(user)
    before = timezone.now()

    response = agent_client.post(
        url("mark_eligible", user.profile.pk),
        {"mark_eligible-offering": "Home 1G", "mark_eligible-notes": "FLET'S光 Cross available"},
    )

    assert response.status_code == 302
    assert response["Location"] == url("change", user.profile.pk)
    profile = user.profile
    profile.refresh_from_db()
    case.refresh_from_db()
    assert profile.internet_eligibility_status == EligibilityStatus.ELIGIBLE
    assert profile.internet_eligibility == "Home 1G"
    assert profile.internet_eligibility_notes == "FLET'S光 Cross available"
    assert profile.internet_eligibility_checked_at is not None
    assert profile.internet_eligibility_checked_at >= before
    assert case.status == CaseStatus.CLOSED

    decision = AgentDecision.objects.get()
    assert decision.agent == agent
    assert decision.customer == user
    assert decision.subject_type == SubjectType.ELIGIBILITY
    assert decision.subject_id == str(profile.pk)
    assert decision.action == DecisionAction.MARK_ELIGIBLE
    assert decision.before["internet_eligibility_status"] == "pending"
    assert decision.after["internet_eligibility_status"] == "eligible"
    assert decision.after["internet_eligibility"] == "Home 1G"
    assert decision.after["case_status"] == "closed"

    entry = OutboxEntry.objects.get()
    assert decision.outbox_entry == entry
    assert entry.record_key == f"Account:{account_id}"
    calls_before = systems.salesforce.counters()["total"]
    events_before = len(systems.bus.events(ACCOUNT_TOPIC))
    report = outbox_deliver_due()
    assert report.delivered == [entry.pk]
    assert systems.salesforce.counters()["total"] - calls_before == report.api_calls == 1
    account = systems.salesforce.store.get_record("Account", account_id)
    assert account["Internet_Eligibility__c"] == "Home 1G"
    assert account["Internet_Eligibility_Status__c"] == "Eligible"
    assert account["Internet_Eligibility_Notes__c"] == "FLET'S光 Cross available"
    assert account["Internet_Eligibility_Checked_Date_Time__c"]
    assert systems.salesforce.store.get_record("Case", case.salesforce_id)["Status"] == "Closed"

    notifications = Notification.objects.filter(user=user)
    assert [n.type for n in notifications] == [NotificationType.ELIGIBILITY_ELIGIBLE]
    assert notifications[0].context == {"offering": "Home 1G"}

    # The org's flow published the status event for the same change; the event path adds nothing.
    events = systems.bus.decoded_events(ACCOUNT_TOPIC)[events_before:]
    assert len(events) == 1
    assert events[0]["Internet_Eligibility_Status__c"] == "Eligible"
    outcome = account_status_event_apply(payload=events[0], topic=ACCOUNT_TOPIC)
    assert outcome.notifications == ()
    again = account_status_event_apply(payload=events[0], topic=ACCOUNT_TOPIC)
    assert again.notifications == ()
    assert Notification.objects.filter(user=user).count() == 1


def test_mark_ineligible_requires_notes_and_clears_the_offering(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    user, _, _ = pending_eligibility(systems, make_customer)

    missing = agent_client.post(url("mark_ineligible", user.profile.pk), {"mark_ineligible-notes": ""})
    assert missing.status_code == 200
    assert "This field is required." in missing.content.decode()
    assert AgentDecision.objects.count() == 0

    response = agent_client.post(
        url("mark_ineligible", user.profile.pk), {"mark_ineligible-notes": "No fibre in this building."}
    )

    assert response.status_code == 302
    outbox_deliver_due()
    account = systems.salesforce.store.get_record("Account", account_id_of(user))
    assert account["Internet_Eligibility_Status__c"] == "Ineligible"
    assert account["Internet_Eligibility__c"] is None
    assert account["Internet_Eligibility_Notes__c"] == "No fibre in this building."
    notification = Notification.objects.get(user=user)
    assert notification.type == NotificationType.ELIGIBILITY_INELIGIBLE
    assert notification.context == {"notes": "No fibre in this building."}
    assert AgentDecision.objects.get().action == DecisionAction.MARK_INELIGIBLE


def test_a_decided_check_cannot_be_decided_again(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    user, _, _ = pending_eligibility(systems, make_customer)
    agent_client.post(url("mark_eligible", user.profile.pk), {"mark_eligible-offering": "Home 1G"})

    response = agent_client.post(
        url("mark_ineligible", user.profile.pk), {"mark_ineligible-notes": "Changed my mind"}
    )

    assert response.status_code == 200
    assert "This eligibility check is not pending any more (it is Eligible)." in response.content.decode()
    assert AgentDecision.objects.count() == 1
    assert OutboxEntry.objects.count() == 1


def test_an_agent_cannot_reopen_but_a_supervisor_can(
    systems: EmulatorSuite,
    make_customer: MakeCustomer,
    agent_client: Client,
    supervisor: User,
    supervisor_client: Client,
) -> None:
    user, _, case = pending_eligibility(systems, make_customer)
    agent_client.post(url("mark_eligible", user.profile.pk), {"mark_eligible-offering": "Mansion 1G"})
    assert 'id="console-form-reopen"' not in agent_client.get(url("change", user.profile.pk)).content.decode()

    refused = agent_client.post(url("reopen", user.profile.pk), {"reopen-note": "Wrong building"})
    assert refused.status_code == 403

    page = supervisor_client.get(url("change", user.profile.pk)).content.decode()
    assert 'id="console-form-reopen"' in page
    response = supervisor_client.post(url("reopen", user.profile.pk), {"reopen-note": "Wrong building"})

    assert response.status_code == 302
    profile = user.profile
    profile.refresh_from_db()
    case.refresh_from_db()
    assert profile.internet_eligibility_status == EligibilityStatus.PENDING
    assert profile.internet_eligibility_checked_at is None
    assert case.status == CaseStatus.NEW
    reopen = AgentDecision.objects.get(action=DecisionAction.REOPEN_ELIGIBILITY)
    assert reopen.agent == supervisor
    assert reopen.note == "Wrong building"
    assert reopen.before["internet_eligibility_status"] == "eligible"
    assert reopen.after["internet_eligibility_status"] == "pending"
    assert len(deliver_all().delivered) == 2
    account = systems.salesforce.store.get_record("Account", account_id_of(user))
    assert account["Internet_Eligibility_Status__c"] == "Pending"
    assert account["Internet_Eligibility_Checked_Date_Time__c"] is None
    assert systems.salesforce.store.get_record("Case", case.salesforce_id)["Status"] == "New"


def test_the_case_id_waits_for_the_request_entry_when_salesforce_does_not_have_the_case_yet(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    user, _, case = pending_eligibility(systems, make_customer)
    case.salesforce_id = None
    case.save(update_fields=["salesforce_id"])

    agent_client.post(url("mark_eligible", user.profile.pk), {"mark_eligible-offering": "Home 1G"})

    entry = OutboxEntry.objects.get()
    assert entry.payload["subrequests"][1]["url"] == "sobjects/Case/"
    assert entry.payload["fills"] == [
        {
            "path": [1, "url"],
            "model": "opportunities.Case",
            "pk": case.pk,
            "field": "salesforce_id",
            "file_base64": False,
        }
    ]
    assert outbox_deliver_due().waiting == [entry.pk]


def test_the_checklist_shows_the_sla_warning_past_two_business_days(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    user, _, _ = pending_eligibility(systems, make_customer, requested_at=timezone.now() - timedelta(days=5))

    page = agent_client.get(url("change", user.profile.pk)).content.decode()

    assert "console-badge-overdue" in page
    assert "Overdue:" in page
