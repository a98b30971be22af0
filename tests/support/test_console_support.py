"""Support cases in the agent console: the queue (open tickets, oldest first, search and filters),
the record page with the whole thread, and replying (a published comment through the outbox, an
audit row), with who may do what."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.console.models import AgentDecision, DecisionAction, SubjectType
from apps.console.services import support_case_reply
from apps.opportunities.models import Case, CaseComment, CaseStatus, CaseType
from emulators import EmulatorSuite
from portal.exceptions import ApplicationError
from tests.factories import (
    AgentFactory,
    CaseCommentFactory,
    CaseFactory,
    CustomerFactory,
    StaffUserFactory,
    SupportCaseFactory,
)
from tests.helpers import MakeCustomer, account_id_of, deliver_all

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:console_supportcasequeueitem_changelist")


def record_url(case: Case) -> str:
    return reverse("admin:console_supportcasequeueitem_change", args=[case.pk])


def reply_url(case: Case) -> str:
    return reverse("admin:console_supportcasequeueitem_reply", args=[case.pk])


def rows(page: str) -> list[int]:
    return [int(pk) for pk in re.findall(r"/admin/console/supportcasequeueitem/(\d+)/change/", page)]


def ticket_in_salesforce(systems: EmulatorSuite, customer: User, **fields: object) -> Case:
    record = systems.salesforce.store.create_record(
        "Case",
        {
            "AccountId": account_id_of(customer),
            "Subject": "Router",
            "Origin": "Portal Website",
            "Status": "New",
        },
    )
    return SupportCaseFactory(user=customer, salesforce_id=record["Id"], **fields)


# --- The queue ---------------------------------------------------------------------------------


def test_the_queue_lists_open_portal_tickets_oldest_first(agent_client: Client) -> None:
    now = timezone.now()
    newer = SupportCaseFactory(user=CustomerFactory(), subject="Newer")
    older = SupportCaseFactory(user=CustomerFactory(), subject="Older", status=CaseStatus.WORKING)
    closed = SupportCaseFactory(user=CustomerFactory(), subject="Closed one", status=CaseStatus.CLOSED)
    CaseFactory(user=CustomerFactory(), type=CaseType.ELIGIBILITY_CHECK)
    CaseFactory(user=CustomerFactory(), type=CaseType.CANCELLATION_REQUEST)
    Case.objects.filter(pk=newer.pk).update(created_at=now - timedelta(hours=2))
    Case.objects.filter(pk=older.pk).update(created_at=now - timedelta(days=3))
    Case.objects.filter(pk=closed.pk).update(created_at=now - timedelta(days=5))

    page = agent_client.get(QUEUE).content.decode()
    everything = agent_client.get(QUEUE, {"state": "all"}).content.decode()
    closed_only = agent_client.get(QUEUE, {"state": "closed"}).content.decode()

    assert rows(page) == [older.pk, newer.pk]
    assert "3 days" in page
    assert "2 hours" in page
    assert rows(everything) == [closed.pk, older.pk, newer.pk]
    assert rows(closed_only) == [closed.pk]


def test_the_queue_shows_who_is_waiting_and_filters_by_category(agent_client: Client) -> None:
    waiting_for_agent = SupportCaseFactory(user=CustomerFactory())
    CaseCommentFactory(case=waiting_for_agent, body="Hello?", from_agent=False)
    answered = SupportCaseFactory(
        user=CustomerFactory(), description="Category: Billing\n\nWhy is my invoice so high?"
    )
    CaseCommentFactory(case=answered, body="Because of the installation fee.", from_agent=True)

    page = agent_client.get(QUEUE).content.decode()
    billing = agent_client.get(QUEUE, {"category": "billing"}).content.decode()

    assert page.count("console-badge-warning") == 1  # waiting for an agent
    assert page.count("console-badge-muted") == 1  # waiting for the customer
    assert rows(billing) == [answered.pk]


def test_the_queue_searches_subject_text_and_customer(agent_client: Client) -> None:
    hit = SupportCaseFactory(user=CustomerFactory(email="ren@example.com"), subject="Router blinking red")
    SupportCaseFactory(user=CustomerFactory(), subject="Invoice question")

    assert rows(agent_client.get(QUEUE, {"q": "blinking"}).content.decode()) == [hit.pk]
    assert rows(agent_client.get(QUEUE, {"q": "ren@example.com"}).content.decode()) == [hit.pk]
    assert sorted(rows(agent_client.get(QUEUE, {"q": "drops every evening"}).content.decode())) == sorted(
        Case.objects.values_list("pk", flat=True)
    )


# --- The record page ---------------------------------------------------------------------------


def test_the_record_page_shows_the_request_and_the_whole_thread(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    customer = make_customer(first_name="Hana", last_name="Sato")
    case = ticket_in_salesforce(systems, customer)
    CaseCommentFactory(case=case, body="It drops at 8pm.", author=customer, from_agent=False)
    CaseCommentFactory(case=case, body="Line test booked", from_agent=True, is_public=False)

    page = agent_client.get(record_url(case)).content.decode()

    assert 'id="console-category">Internet<' in page
    assert "The connection drops every evening." in page
    assert "It drops at 8pm." in page
    assert "Line test booked" in page
    assert "Internal" in page
    assert 'id="console-form-reply"' in page


def test_an_internal_case_has_no_record_page_in_the_support_queue(agent_client: Client) -> None:
    case = CaseFactory(user=CustomerFactory(), type=CaseType.ELIGIBILITY_CHECK)

    response = agent_client.get(record_url(case))

    assert response.status_code == 302  # "doesn't exist", back to the queue
    assert response["Location"] == QUEUE


# --- Replying ----------------------------------------------------------------------------------


def test_a_reply_is_shown_to_the_customer_at_once_and_written_to_salesforce_in_one_call(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent: User, agent_client: Client
) -> None:
    customer = make_customer()
    case = ticket_in_salesforce(systems, customer)

    response = agent_client.post(
        reply_url(case), {"reply-body": "Please restart the ONU.", "reply-status": "working"}
    )

    assert response.status_code == 302
    assert response["Location"] == record_url(case)
    customer_api = APIClient()
    customer_api.force_login(customer)
    detail = customer_api.get(f"/api/support/cases/{case.pk}").json()
    assert [(c["body"], c["from_agent"], c["author_name"]) for c in detail["comments"]] == [
        ("Please restart the ONU.", True, "Aoi")
    ]
    assert detail["state"] == "working"
    decision = AgentDecision.objects.get()
    assert (
        decision.agent,
        decision.customer,
        decision.subject_type,
        decision.subject_id,
        decision.action,
    ) == (
        agent,
        customer,
        SubjectType.SUPPORT_CASE,
        str(case.pk),
        DecisionAction.REPLY_SUPPORT_CASE,
    )
    assert decision.before == {"status": "new"}
    assert decision.after == {"status": "working", "comment_id": CaseComment.objects.get().pk}

    report = deliver_all()

    assert report.api_calls == 1
    assert systems.salesforce.counters()["total"] == 1
    comment = CaseComment.objects.get()
    record = systems.salesforce.store.get_record("CaseComment", comment.salesforce_id or "")
    assert record is not None
    assert (record["ParentId"], record["CommentBody"], record["IsPublished"]) == (
        case.salesforce_id,
        "Please restart the ONU.",
        True,
    )
    sf_case = systems.salesforce.store.get_record("Case", case.salesforce_id or "")
    assert sf_case is not None
    assert sf_case["Status"] == "Working"


def test_a_reply_that_closes_the_case_takes_it_out_of_the_queue(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    case = ticket_in_salesforce(systems, make_customer())

    agent_client.post(reply_url(case), {"reply-body": "Fixed on our side.", "reply-status": "closed"})

    assert rows(agent_client.get(QUEUE).content.decode()) == []
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED


def test_a_reply_without_a_status_leaves_it_and_costs_one_call_without_a_case_update(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent: User
) -> None:
    case = ticket_in_salesforce(systems, make_customer())

    decision = support_case_reply(agent=agent, case_id=case.pk, body="We are looking into it.")

    assert decision.outbox_entry is not None
    assert [s["method"] for s in decision.outbox_entry.payload["subrequests"]] == ["POST"]
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW


def test_an_empty_reply_is_not_recorded(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent_client: Client
) -> None:
    case = ticket_in_salesforce(systems, make_customer())

    page = agent_client.post(reply_url(case), {"reply-body": ""}).content.decode()

    assert "The decision was not recorded" in page
    assert not CaseComment.objects.exists()
    assert not AgentDecision.objects.exists()


def test_a_reply_on_a_ticket_still_submitting_waits_for_the_case(
    systems: EmulatorSuite, make_customer: MakeCustomer, agent: User
) -> None:
    customer = make_customer()
    api = APIClient()
    api.force_login(customer)
    created = api.post(
        "/api/support/cases", {"subject": "Help", "description": "Please", "category": "other"}, format="json"
    ).json()

    support_case_reply(agent=agent, case_id=created["id"], body="On it.", status="working")
    report = deliver_all()

    assert (len(report.delivered), report.failed) == (2, [])
    case = Case.objects.get(pk=created["id"])
    comment = CaseComment.objects.get()
    record = systems.salesforce.store.get_record("CaseComment", comment.salesforce_id or "")
    assert record is not None
    assert record["ParentId"] == case.salesforce_id
    sf_case = systems.salesforce.store.get_record("Case", case.salesforce_id or "")
    assert sf_case is not None
    assert sf_case["Status"] == "Working"


def test_only_portal_tickets_can_be_replied_to(systems: EmulatorSuite, agent: User) -> None:
    case = CaseFactory(user=CustomerFactory(), type=CaseType.CANCELLATION_REQUEST)

    with pytest.raises(ApplicationError):
        support_case_reply(agent=agent, case_id=case.pk, body="Hello")


# --- Who may ----------------------------------------------------------------------------------


def test_agents_and_supervisors_may_see_the_queue_and_reply() -> None:
    for name in ("Agents", "Supervisors"):
        codenames = set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))
        assert {"view_supportcasequeueitem", "reply_support_case"} <= codenames


def test_a_supervisor_can_reply(systems: EmulatorSuite, make_customer: MakeCustomer) -> None:
    case = ticket_in_salesforce(systems, make_customer())
    client = Client()
    client.force_login(AgentFactory(console_group="Supervisors"))

    response = client.post(reply_url(case), {"reply-body": "Hello from the supervisor."})

    assert response.status_code == 302
    assert CaseComment.objects.get().from_agent is True


def test_staff_who_may_only_view_see_no_form_and_cannot_reply(systems: EmulatorSuite) -> None:
    staff = StaffUserFactory()
    staff.user_permissions.add(Permission.objects.get(codename="view_supportcasequeueitem"))
    case = SupportCaseFactory(user=CustomerFactory())
    client = Client()
    client.force_login(staff)

    page = client.get(record_url(case)).content.decode()
    reply = client.post(reply_url(case), {"reply-body": "Hi"})

    assert "You do not have permission to reply to support cases." in page
    assert reply.status_code == 403
    assert not CaseComment.objects.exists()


def test_customers_and_staff_outside_the_groups_cannot_reach_the_queue(systems: EmulatorSuite) -> None:
    case = SupportCaseFactory(user=CustomerFactory())
    customer = Client()
    customer.force_login(case.user)
    staff = Client()
    staff.force_login(StaffUserFactory())

    assert customer.get(QUEUE)["Location"].startswith("/admin/login/")
    assert customer.post(reply_url(case), {"reply-body": "Hi"})["Location"].startswith("/admin/login/")
    assert staff.get(QUEUE).status_code == 403
    assert staff.post(reply_url(case), {"reply-body": "Hi"}).status_code == 403
    assert not CaseComment.objects.exists()
