"""The customer's support API: opening a ticket, reading one's Cases and replying, with what each
action costs in Salesforce (one call) and what the customer may never see."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.integrations.models import OutboxEntry
from apps.opportunities.models import Case, CaseComment, CaseOrigin, CaseStatus, CaseType
from emulators import EmulatorSuite
from tests.factories import (
    CaseCommentFactory,
    CaseFactory,
    CustomerFactory,
    OpportunityFactory,
    StaffUserFactory,
    SupportCaseFactory,
    WhmcsServiceFactory,
)
from tests.helpers import (
    MakeCustomer,
    account_id_of,
    api_for,
    deliver_all,
    error_code,
    error_message,
    field_errors,
    field_messages,
)

pytestmark = pytest.mark.django_db

CASES = "/api/support/cases"


def ticket(api: APIClient, **fields: object) -> dict:
    body = {
        "subject": "Invoice shows the wrong amount",
        "description": "My November invoice is ¥1,000 too high.",
        "category": "billing",
        **fields,
    }
    response = api.post(CASES, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


# --- Opening a ticket ---------------------------------------------------------------------------


def test_a_new_ticket_is_shown_at_once_as_submitting_and_reaches_salesforce_in_one_call(
    systems: EmulatorSuite, api: APIClient, customer: User
) -> None:
    created = ticket(api)

    assert created == {
        "id": created["id"],
        "kind": "support_ticket",
        "case_number": "",
        "subject": "Invoice shows the wrong amount",
        "category": "billing",
        "state": "submitting",
        "state_label": "Submitting",
        "created_at": created["created_at"],
        "updated_at": created["updated_at"],
        "description": "My November invoice is ¥1,000 too high.",
        "related_service": None,
        "comments": [],
    }
    assert systems.salesforce.counters()["total"] == 0

    report = deliver_all()

    assert report.api_calls == 1
    assert systems.salesforce.counters()["composite"] == 1
    case = Case.objects.get(pk=created["id"])
    record = systems.salesforce.store.get_record("Case", case.salesforce_id)
    assert record is not None
    assert {
        name: record[name] for name in ("AccountId", "OpportunityId", "Type", "Origin", "Status", "Subject")
    } == {
        "AccountId": account_id_of(customer),
        "OpportunityId": None,
        "Type": "General Inquiry",
        "Origin": "Portal Website",
        "Status": "New",
        "Subject": "Invoice shows the wrong amount",
    }
    assert record["Description"] == "Category: Billing\n\nMy November invoice is ¥1,000 too high."
    detail = api.get(f"{CASES}/{case.pk}").json()
    assert (detail["state"], detail["state_label"]) == ("new", "Received")


def test_a_ticket_about_a_service_is_linked_to_the_services_opportunity(
    systems: EmulatorSuite, api: APIClient, customer: User
) -> None:
    opportunity_record = systems.salesforce.store.create_record(
        "Opportunity",
        {
            "AccountId": account_id_of(customer),
            "Name": "Home internet",
            "StageName": "Active",
            "CloseDate": "2026-12-31",
        },
    )
    service = WhmcsServiceFactory(user=customer, name="SonixNet Home 1G")
    opportunity = OpportunityFactory(
        user=customer,
        salesforce_id=opportunity_record["Id"],
        whmcs_service_id=service.whmcs_id,
        stage="active",
    )

    created = ticket(api, category="internet", service_id=service.pk, description="Slow in the evening.")
    deliver_all()

    case = Case.objects.get(pk=created["id"])
    assert case.opportunity == opportunity
    assert created["related_service"] == {"id": service.pk, "name": "SonixNet Home 1G"}
    record = systems.salesforce.store.get_record("Case", case.salesforce_id or "")
    assert record is not None
    assert record["OpportunityId"] == opportunity_record["Id"]
    assert record["Description"] == (
        f"Category: Internet\nRelated service: SonixNet Home 1G (WHMCS service #{service.whmcs_id})\n\n"
        "Slow in the evening."
    )


def test_a_service_without_an_opportunity_is_named_in_the_description_only(
    systems: EmulatorSuite, api: APIClient, customer: User
) -> None:
    service = WhmcsServiceFactory(user=customer, name="SonixNet SIM", product_type="sim")

    created = ticket(api, category="sim", service_id=service.pk)
    deliver_all()

    case = Case.objects.get(pk=created["id"])
    assert case.opportunity is None
    record = systems.salesforce.store.get_record("Case", case.salesforce_id or "")
    assert record is not None
    assert record["OpportunityId"] is None
    assert api.get(f"{CASES}/{case.pk}").json()["related_service"] == {
        "id": service.pk,
        "name": "SonixNet SIM",
    }


def test_another_customers_service_is_refused_like_an_unknown_one(
    systems: EmulatorSuite, api: APIClient
) -> None:
    others = WhmcsServiceFactory(user=CustomerFactory())

    response = api.post(
        CASES,
        {"subject": "Help", "description": "Please", "category": "other", "service_id": others.pk},
        format="json",
    )

    assert response.status_code == 400
    assert field_messages(response) == {"service_id": ["This service is not one of yours."]}
    assert not Case.objects.exists()
    assert not OutboxEntry.objects.exists()


def test_a_service_id_too_large_for_the_database_is_refused_as_invalid(
    systems: EmulatorSuite, api: APIClient
) -> None:
    response = api.post(
        CASES,
        {"subject": "Help", "description": "Please", "category": "other", "service_id": 2**63},
        format="json",
    )

    assert response.status_code == 400
    assert field_messages(response) == {
        "service_id": ["Ensure this value is less than or equal to 9223372036854775807."]
    }
    assert not Case.objects.exists()


def test_subject_description_and_category_are_required(systems: EmulatorSuite, api: APIClient) -> None:
    response = api.post(CASES, {"category": "phone"}, format="json")

    assert response.status_code == 400
    assert set(field_errors(response)) == {"subject", "description", "category"}


def test_a_ticket_is_accepted_while_salesforce_is_down_and_delivered_later(
    systems: EmulatorSuite, api: APIClient
) -> None:
    systems.salesforce.fail_next(1, status=503, error_code="SERVER_UNAVAILABLE", path_prefix="/services/data")

    created = ticket(api)
    first = deliver_all()

    assert first.delivered == []
    assert OutboxEntry.objects.get().status == OutboxEntry.Status.PENDING
    assert api.get(f"{CASES}/{created['id']}").json()["state"] == "submitting"
    OutboxEntry.objects.update(next_attempt_at=timezone.now())
    deliver_all()
    assert api.get(f"{CASES}/{created['id']}").json()["state"] == "new"


def test_the_same_ticket_again_is_the_same_ticket_for_a_few_minutes_only(
    systems: EmulatorSuite, api: APIClient
) -> None:
    # Given a ticket sent twice (a double click without an Idempotency-Key)
    body = {"subject": "No connection", "description": "The light is red.", "category": "internet"}
    first = api.post(CASES, body, format="json")
    again = api.post(CASES, body, format="json")

    # When the customer opens the same ticket again six minutes later
    Case.objects.update(created_at=timezone.now() - timedelta(minutes=6))
    later = api.post(CASES, body, format="json")

    # Then the double submit got the first ticket, the later request a new one
    assert (first.status_code, again.status_code, again.json()) == (201, 200, first.json())
    assert later.status_code == 201
    assert later.json()["id"] != first.json()["id"]
    assert OutboxEntry.objects.count() == 2


def test_staff_without_a_customer_account_cannot_open_a_ticket(systems: EmulatorSuite) -> None:
    response = api_for(StaffUserFactory()).post(
        CASES, {"subject": "Hi", "description": "Hello", "category": "other"}, format="json"
    )

    assert response.status_code == 400
    assert error_code(response) == "account_not_linked"


# --- Reading -----------------------------------------------------------------------------------


def test_the_list_has_tickets_and_cancellation_requests_newest_first_never_internal_cases(
    systems: EmulatorSuite, api: APIClient, customer: User
) -> None:
    now = timezone.now()
    older = SupportCaseFactory(user=customer, subject="Older ticket")
    cancellation = CaseFactory(
        user=customer, type=CaseType.CANCELLATION_REQUEST, subject="Cancellation Request - Home 1G"
    )
    newer = SupportCaseFactory(user=customer, subject="Newer ticket", status=CaseStatus.WORKING)
    CaseFactory(user=customer, type=CaseType.ELIGIBILITY_CHECK, subject="Internet availability check request")
    CaseFactory(user=customer, type=CaseType.ID_VERIFICATION, subject="ID verification")
    CaseFactory(user=customer, type=CaseType.GENERAL_INQUIRY, origin=CaseOrigin.PHONE, subject="Phoned in")
    SupportCaseFactory(user=CustomerFactory(), subject="Someone else's")
    for offset, case in enumerate((older, cancellation, newer)):
        Case.objects.filter(pk=case.pk).update(created_at=now - timedelta(days=3 - offset))

    response = api.get(CASES)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [(row["subject"], row["kind"], row["state"], row["category"]) for row in body["results"]] == [
        ("Newer ticket", "support_ticket", "working", "internet"),
        ("Cancellation Request - Home 1G", "cancellation_request", "new", None),
        ("Older ticket", "support_ticket", "new", "internet"),
    ]


def test_the_list_is_paginated(systems: EmulatorSuite, api: APIClient, customer: User) -> None:
    SupportCaseFactory.create_batch(21, user=customer)

    first = api.get(CASES).json()
    second = api.get(CASES, {"page": 2}).json()

    assert (first["count"], len(first["results"]), len(second["results"])) == (21, 20, 1)


def test_a_ticket_shows_its_published_comments_oldest_first(
    systems: EmulatorSuite, api: APIClient, customer: User
) -> None:
    case = SupportCaseFactory(user=customer)
    now = timezone.now()
    CaseCommentFactory(
        case=case, body="Did you restart the router?", from_agent=True, created_at=now - timedelta(hours=2)
    )
    CaseCommentFactory(case=case, body="Internal: line test scheduled", from_agent=True, is_public=False)
    CaseCommentFactory(
        case=case,
        body="Yes, twice.",
        author=customer,
        author_name="Hana Sato",
        created_at=now - timedelta(hours=1),
        salesforce_id=None,
    )

    detail = api.get(f"{CASES}/{case.pk}").json()

    assert detail["description"] == "The connection drops every evening."
    assert [(c["body"], c["from_agent"], c["author_name"], c["submitting"]) for c in detail["comments"]] == [
        ("Did you restart the router?", True, "SonixNet Support", False),
        ("Yes, twice.", False, "Hana Sato", True),
    ]


def test_a_cancellation_request_shows_its_status_only(
    systems: EmulatorSuite, api: APIClient, customer: User
) -> None:
    service = WhmcsServiceFactory(user=customer, name="SonixNet Home 1G")
    opportunity = OpportunityFactory(user=customer, whmcs_service_id=service.whmcs_id, stage="cancelling")
    case = CaseFactory(
        user=customer,
        opportunity=opportunity,
        type=CaseType.CANCELLATION_REQUEST,
        subject="Cancellation Request - SonixNet Home 1G",
        description="Cancellation requested through the customer portal.\nCustomer comments:\nMoving abroad",
    )
    CaseCommentFactory(case=case, body="Agent note on the cancellation", from_agent=True)

    detail = api.get(f"{CASES}/{case.pk}").json()

    assert detail["kind"] == "cancellation_request"
    assert (detail["description"], detail["category"], detail["comments"]) == (None, None, [])
    assert detail["related_service"] == {"id": service.pk, "name": "SonixNet Home 1G"}


@pytest.mark.parametrize("case_type", [CaseType.ELIGIBILITY_CHECK, CaseType.ID_VERIFICATION])
def test_an_internal_case_of_ones_own_is_not_found(
    systems: EmulatorSuite, api: APIClient, customer: User, case_type: str
) -> None:
    case = CaseFactory(user=customer, type=case_type)

    assert api.get(f"{CASES}/{case.pk}").status_code == 404
    assert api.post(f"{CASES}/{case.pk}/comments", {"body": "Hello?"}, format="json").status_code == 404


def test_another_customers_ticket_is_not_found(systems: EmulatorSuite, api: APIClient) -> None:
    case = SupportCaseFactory(user=CustomerFactory())

    assert api.get(f"{CASES}/{case.pk}").status_code == 404
    assert api.post(f"{CASES}/{case.pk}/comments", {"body": "Hello?"}, format="json").status_code == 404
    assert not CaseComment.objects.exists()


def test_anonymous_visitors_are_refused(systems: EmulatorSuite, customer: User) -> None:
    case = SupportCaseFactory(user=customer)

    assert APIClient().get(CASES).status_code == 401
    assert APIClient().get(f"{CASES}/{case.pk}").status_code == 401


# --- Replying ----------------------------------------------------------------------------------


def test_a_reply_is_shown_at_once_and_reaches_salesforce_as_a_published_comment_in_one_call(
    systems: EmulatorSuite, api: APIClient, customer: User
) -> None:
    created = ticket(api)
    deliver_all()
    case = Case.objects.get(pk=created["id"])
    calls_before = systems.salesforce.counters()["total"]

    response = api.post(f"{CASES}/{case.pk}/comments", {"body": "  Any news?  "}, format="json")

    assert response.status_code == 201
    assert response.json() == {
        "id": response.json()["id"],
        "body": "Any news?",
        "from_agent": False,
        "author_name": "Hana Sato",
        "submitting": True,
        "created_at": response.json()["created_at"],
    }
    assert [c["body"] for c in api.get(f"{CASES}/{case.pk}").json()["comments"]] == ["Any news?"]

    report = deliver_all()

    assert report.api_calls == 1
    assert systems.salesforce.counters()["total"] - calls_before == 1
    comment = CaseComment.objects.get()
    assert (comment.author, comment.from_agent, comment.is_public) == (customer, False, True)
    record = systems.salesforce.store.get_record("CaseComment", comment.salesforce_id or "")
    assert record is not None
    assert (record["ParentId"], record["CommentBody"], record["IsPublished"]) == (
        case.salesforce_id,
        "Any news?",
        True,
    )
    assert api.get(f"{CASES}/{case.pk}").json()["comments"][0]["submitting"] is False


def test_a_reply_on_a_ticket_still_submitting_waits_for_the_case(
    systems: EmulatorSuite, api: APIClient
) -> None:
    created = ticket(api)

    response = api.post(f"{CASES}/{created['id']}/comments", {"body": "One more thing"}, format="json")
    report = deliver_all()

    assert response.status_code == 201
    assert len(report.delivered) == 2
    assert report.api_calls == 2  # one for the Case, one for the comment
    case = Case.objects.get(pk=created["id"])
    comment = CaseComment.objects.get()
    record = systems.salesforce.store.get_record("CaseComment", comment.salesforce_id or "")
    assert record is not None
    assert record["ParentId"] == case.salesforce_id


def test_the_same_reply_again_is_the_same_reply_for_a_few_minutes_only(
    systems: EmulatorSuite, api: APIClient, customer: User
) -> None:
    case = SupportCaseFactory(user=customer)
    comments = f"{CASES}/{case.pk}/comments"
    first = api.post(comments, {"body": "Any news?"}, format="json")
    again = api.post(comments, {"body": "Any news?"}, format="json")

    CaseComment.objects.update(created_at=timezone.now() - timedelta(minutes=6))
    later = api.post(comments, {"body": "Any news?"}, format="json")

    assert (first.status_code, again.status_code, again.json()) == (201, 200, first.json())
    assert later.status_code == 201
    assert CaseComment.objects.count() == 2


def test_a_cancellation_request_takes_no_comments(
    systems: EmulatorSuite, api: APIClient, customer: User
) -> None:
    case = CaseFactory(user=customer, type=CaseType.CANCELLATION_REQUEST)

    response = api.post(f"{CASES}/{case.pk}/comments", {"body": "Hello?"}, format="json")

    assert response.status_code == 400
    assert error_code(response) == "comments_not_available"


def test_a_closed_ticket_takes_no_comments(systems: EmulatorSuite, api: APIClient, customer: User) -> None:
    case = SupportCaseFactory(user=customer, status=CaseStatus.CLOSED)

    response = api.post(f"{CASES}/{case.pk}/comments", {"body": "Hello?"}, format="json")

    assert response.status_code == 409
    assert error_code(response) == "case_closed"
    assert not OutboxEntry.objects.exists()


def test_an_empty_comment_is_refused(systems: EmulatorSuite, api: APIClient, customer: User) -> None:
    case = SupportCaseFactory(user=customer)

    response = api.post(f"{CASES}/{case.pk}/comments", {"body": "   "}, format="json")

    assert response.status_code == 400
    assert "body" in field_errors(response)


def test_the_support_api_speaks_japanese(systems: EmulatorSuite, make_customer: MakeCustomer) -> None:
    customer = make_customer()
    case = SupportCaseFactory(user=customer, status=CaseStatus.CLOSED)
    CaseCommentFactory(case=case, from_agent=True, body="解決しました。")
    api = api_for(customer)

    detail = api.get(f"{CASES}/{case.pk}", HTTP_ACCEPT_LANGUAGE="ja").json()
    refused = api.post(
        f"{CASES}/{case.pk}/comments", {"body": "まだです"}, format="json", HTTP_ACCEPT_LANGUAGE="ja"
    )

    assert detail["state_label"] == "完了"
    assert detail["comments"][0]["author_name"] == "SonixNet サポート"
    assert (
        error_message(refused)
        == "このお問い合わせは完了しています。さらにサポートが必要な場合は、新しいお問い合わせを作成してください。"
    )
