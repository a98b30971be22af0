"""ID verification in the console: the document view, verify, reject with a reason and message,
reopen, and one notification per decision whichever path tells the customer first."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from apps.accounts.models import IdVerificationStatus, User
from apps.accounts.status_events import account_status_event_apply
from apps.console.models import AgentDecision, DecisionAction, SubjectType
from apps.integrations.models import OutboxEntry
from apps.notifications.models import Notification, NotificationType
from apps.verification.models import RejectionReason, ResidenceCardStatusChange, ResidenceCardSubmission
from emulators import EmulatorSuite
from tests.console.conftest import submitted_card
from tests.factories import PNG_BYTES, AgentFactory, CustomerFactory, StaffUserFactory
from tests.helpers import MakeCustomer, account_id_of, deliver_all

pytestmark = pytest.mark.django_db

ACCOUNT_TOPIC = "/event/Account_Internet_Eligibility_Update__e"


def url(name: str, pk: int) -> str:
    return reverse(f"admin:console_idverificationqueueitem_{name}", args=[pk])


def test_the_checklist_shows_the_card_next_to_the_name_and_birth_date(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    _, submission = submitted_card(systems, make_customer)

    page = agent_client.get(url("change", submission.pk)).content.decode()

    assert '<dd id="console-name">Sato Hana</dd>' in page
    assert '<dd id="console-birth-date">1990-04-01</dd>' in page
    assert f'<img src="{url("document", submission.pk)}"' in page
    assert 'id="console-form-verify"' in page
    assert 'id="console-form-reject"' in page


def test_the_document_streams_inline_from_private_storage_to_an_agent(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    _, submission = submitted_card(systems, make_customer)

    response = agent_client.get(url("document", submission.pk))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG_BYTES  # type: ignore[attr-defined]
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == f'inline; filename="residence-card-{submission.pk}.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Frame-Options"] == "SAMEORIGIN"


def test_a_pdf_is_framed_in_the_checklist(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    _, submission = submitted_card(systems, make_customer, content_type="application/pdf")

    page = agent_client.get(url("change", submission.pk)).content.decode()

    assert f'<iframe src="{url("document", submission.pk)}"' in page


@pytest.mark.parametrize("who", ["anonymous", "customer", "staff_without_permission"])
def test_nobody_else_reaches_the_document(
    systems: EmulatorSuite, make_customer: MakeCustomer, who: str
) -> None:
    _, submission = submitted_card(systems, make_customer)
    client = Client()
    if who == "customer":
        client.force_login(submission.user)
    elif who == "staff_without_permission":
        client.force_login(StaffUserFactory())

    response = client.get(url("document", submission.pk))

    assert response.status_code == 404


def test_staff_without_the_document_permission_sees_the_checklist_without_the_card(
    systems: EmulatorSuite, make_customer: MakeCustomer
) -> None:
    _, submission = submitted_card(systems, make_customer)
    agent = AgentFactory()
    agent.groups.clear()
    agent.user_permissions.add(Permission.objects.get(codename="view_idverificationqueueitem"))
    client = Client()
    client.force_login(agent)

    page = client.get(url("change", submission.pk)).content.decode()

    assert "You do not have permission to view residence cards." in page
    assert url("document", submission.pk) not in page
    assert 'id="console-form-verify"' not in page


def test_verify_writes_the_account_the_history_and_one_notification(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent: User, agent_client: Client
) -> None:
    user, submission = submitted_card(systems, make_customer)

    response = agent_client.post(
        url("verify", submission.pk),
        {"verify-name_matches": "on", "verify-document_valid": "on", "verify-not_expired": "on"},
    )

    assert response.status_code == 302
    submission.refresh_from_db()
    profile = user.profile
    profile.refresh_from_db()
    assert submission.status == ResidenceCardSubmission.Status.VERIFIED
    assert submission.reviewed_by == agent
    assert submission.reviewed_at is not None
    assert profile.id_verification_status == IdVerificationStatus.VERIFIED
    assert profile.id_verification_note == "Verified by Aoi Tanaka"
    assert profile.id_verification_verified_at == submission.reviewed_at
    change = ResidenceCardStatusChange.objects.get(submission=submission)
    assert (change.from_status, change.to_status, change.changed_by) == ("submitted", "verified", agent)
    decision = AgentDecision.objects.get()
    assert (decision.subject_type, decision.subject_id, decision.action) == (
        SubjectType.ID_VERIFICATION,
        str(submission.pk),
        DecisionAction.VERIFY_ID,
    )
    assert decision.before["account"]["id_verification_status"] == "submitted"
    assert decision.after["account"]["id_verification_status"] == "verified"

    events_before = len(systems.bus.events(ACCOUNT_TOPIC))
    assert deliver_all().delivered == [OutboxEntry.objects.get().pk]
    account = systems.salesforce.store.get_record("Account", account_id_of(user))
    assert account["Id_Verification_Status__c"] == "Verified"
    assert account["Id_Verification_Note__c"] == "Verified by Aoi Tanaka"
    assert account["Id_Verification_Verified_Date_Time__c"]
    assert account["Id_Verification_Rejection_Message__c"] is None

    (event,) = systems.bus.decoded_events(ACCOUNT_TOPIC)[events_before:]
    assert account_status_event_apply(payload=event, topic=ACCOUNT_TOPIC).notifications == ()
    assert [n.type for n in Notification.objects.filter(user=user)] == [
        NotificationType.VERIFICATION_VERIFIED
    ]


def test_verify_needs_every_check_ticked(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    _, submission = submitted_card(systems, make_customer)

    response = agent_client.post(url("verify", submission.pk), {"verify-name_matches": "on"})

    assert response.status_code == 200
    assert response.content.decode().count("This field is required.") == 2
    submission.refresh_from_db()
    assert submission.status == ResidenceCardSubmission.Status.SUBMITTED


def test_reject_requires_a_reason_and_a_message(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    _, submission = submitted_card(systems, make_customer)

    response = agent_client.post(url("reject", submission.pk), {"reject-reason": "", "reject-message": " "})

    assert response.status_code == 200
    assert response.content.decode().count("This field is required.") == 2
    assert AgentDecision.objects.count() == 0


def test_reject_stores_the_reason_and_the_customer_sees_it_with_one_notification(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    user, submission = submitted_card(systems, make_customer)
    message = "The card in the photo expired in March 2025. Please upload your renewed card."

    response = agent_client.post(
        url("reject", submission.pk), {"reject-reason": RejectionReason.EXPIRED, "reject-message": message}
    )

    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.status == ResidenceCardSubmission.Status.REJECTED
    assert submission.rejection_reason == RejectionReason.EXPIRED
    assert submission.rejection_message == message
    events_before = len(systems.bus.events(ACCOUNT_TOPIC))
    deliver_all()
    account = systems.salesforce.store.get_record("Account", account_id_of(user))
    assert account["Id_Verification_Status__c"] == "Rejected"
    assert account["Id_Verification_Rejection_Message__c"] == message
    assert account["Id_Verification_Verified_Date_Time__c"]
    (event,) = systems.bus.decoded_events(ACCOUNT_TOPIC)[events_before:]
    account_status_event_apply(payload=event, topic=ACCOUNT_TOPIC)

    api = APIClient()
    api.force_login(user)
    status = api.get("/api/verification/residence-card").json()
    assert status["status"] == "rejected"
    assert status["rejection"]["reason"] == "expired"
    assert status["rejection"]["message"] == message
    notifications = api.get("/api/notifications").json()
    assert len(notifications["results"]) == 1
    assert notifications["results"][0]["type"] == "verification_rejected"


def test_a_supervisor_reopens_a_rejection_and_the_card_is_back_in_the_queue(
    systems: EmulatorSuite,
    make_customer: MakeCustomer,
    agent_client: Client,
    supervisor_client: Client,
) -> None:
    user, submission = submitted_card(systems, make_customer)
    agent_client.post(
        url("reject", submission.pk), {"reject-reason": RejectionReason.BLURRY, "reject-message": "Blurry."}
    )
    assert agent_client.post(url("reopen", submission.pk), {"reopen-note": "Readable"}).status_code == 403

    response = supervisor_client.post(url("reopen", submission.pk), {"reopen-note": "It is readable."})

    assert response.status_code == 302
    submission.refresh_from_db()
    profile = user.profile
    profile.refresh_from_db()
    assert submission.status == ResidenceCardSubmission.Status.SUBMITTED
    assert submission.rejection_reason == ""
    assert profile.id_verification_status == IdVerificationStatus.SUBMITTED
    assert profile.id_verification_rejection_message == ""
    assert [c.to_status for c in submission.history.all()] == ["rejected", "submitted"]
    assert AgentDecision.objects.filter(action=DecisionAction.REOPEN_ID_VERIFICATION).count() == 1
    deliver_all()
    account = systems.salesforce.store.get_record("Account", account_id_of(user))
    assert account["Id_Verification_Status__c"] == "Submitted"
    assert account["Id_Verification_Rejection_Message__c"] is None
    queue = agent_client.get(reverse("admin:console_idverificationqueueitem_changelist")).content.decode()
    assert url("change", submission.pk) in queue


def test_a_card_decided_in_salesforce_meanwhile_is_not_decided_again(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    user, submission = submitted_card(systems, make_customer)
    user.profile.id_verification_status = IdVerificationStatus.VERIFIED
    user.profile.save(update_fields=["id_verification_status"])

    response = agent_client.post(
        url("reject", submission.pk), {"reject-reason": RejectionReason.OTHER, "reject-message": "No."}
    )

    assert response.status_code == 200
    assert "it was decided elsewhere" in response.content.decode()
    assert OutboxEntry.objects.count() == 0


def test_customers_never_reach_the_queue(systems: EmulatorSuite, make_customer: MakeCustomer) -> None:
    _, submission = submitted_card(systems, make_customer)
    client = Client()
    client.force_login(CustomerFactory())

    response = client.get(url("change", submission.pk))

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
