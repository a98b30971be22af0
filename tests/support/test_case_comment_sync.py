"""The support ticket sync (``integrations.sync_case_comments``): an agent's comment or status
change made in Salesforce reaches the customer's next read, once, and the portal's own comments
are never doubled."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.integrations.models import OutboxEntry
from apps.opportunities.case_comment_sync import sync_case_comments
from apps.opportunities.models import Case, CaseComment, CaseStatus, CaseType
from apps.opportunities.tasks import sync_case_comments_task
from emulators import EmulatorSuite
from tests.factories import CaseFactory, OutboxEntryFactory, SupportCaseFactory
from tests.helpers import account_id_of, deliver_all

pytestmark = pytest.mark.django_db

CASES = "/api/support/cases"


def ticket_in_salesforce(systems: EmulatorSuite, customer: User, **fields: object) -> Case:
    """A support ticket the outbox already delivered: the Case exists in the emulated org."""
    record = systems.salesforce.store.create_record(
        "Case",
        {
            "AccountId": account_id_of(customer),
            "Subject": "My internet keeps dropping",
            "Type": "General Inquiry",
            "Origin": "Portal Website",
            "Status": "New",
        },
    )
    return SupportCaseFactory(user=customer, salesforce_id=record["Id"], **fields)


def agent_comment(systems: EmulatorSuite, case: Case, body: str, *, published: bool = True) -> dict:
    """An agent writes a comment on the Case in Salesforce."""
    return systems.salesforce.store.create_record(
        "CaseComment", {"ParentId": case.salesforce_id, "CommentBody": body, "IsPublished": published}
    )


def test_an_agents_comment_in_salesforce_shows_up_in_the_customers_next_read(
    systems: EmulatorSuite, api: APIClient, customer: User
) -> None:
    case = ticket_in_salesforce(systems, customer)
    assert api.get(f"{CASES}/{case.pk}").json()["comments"] == []  # read before: nothing to go stale
    record = agent_comment(systems, case, "Please restart the ONU and tell us if it helps.")

    report = sync_case_comments()

    assert (report.comments_fetched, report.comments_created) == (1, 1)
    comments = api.get(f"{CASES}/{case.pk}").json()["comments"]
    assert [(c["body"], c["from_agent"], c["author_name"], c["submitting"]) for c in comments] == [
        ("Please restart the ONU and tell us if it helps.", True, "SonixNet Support", False)
    ]
    comment = CaseComment.objects.get()
    assert (comment.salesforce_id, comment.author, comment.synced_at is not None) == (
        record["Id"],
        None,
        True,
    )


def test_a_second_run_adds_nothing_and_picks_up_only_the_new_comment(
    systems: EmulatorSuite, customer: User
) -> None:
    case = ticket_in_salesforce(systems, customer)
    agent_comment(systems, case, "First answer")
    sync_case_comments()

    again = sync_case_comments()
    agent_comment(systems, case, "Second answer")
    third = sync_case_comments()

    assert again.comments_created == 0
    assert third.comments_created == 1
    assert list(CaseComment.objects.values_list("body", flat=True)) == ["First answer", "Second answer"]


def test_one_run_costs_two_queries_and_none_without_tickets_in_salesforce(
    systems: EmulatorSuite, customer: User
) -> None:
    SupportCaseFactory(user=customer, salesforce_id=None)  # still on its way: nothing to ask

    sync_case_comments()
    assert systems.salesforce.counters()["total"] == 0

    ticket_in_salesforce(systems, customer)
    sync_case_comments()
    assert systems.salesforce.counters()["query"] == 2


def test_an_unpublished_comment_is_kept_for_agents_but_never_shown_to_the_customer(
    systems: EmulatorSuite, api: APIClient, customer: User
) -> None:
    case = ticket_in_salesforce(systems, customer)
    agent_comment(systems, case, "Internal: escalate to NTT", published=False)

    sync_case_comments()

    assert CaseComment.objects.get().is_public is False
    assert api.get(f"{CASES}/{case.pk}").json()["comments"] == []


def test_publishing_a_comment_later_in_salesforce_shows_it(
    systems: EmulatorSuite, api: APIClient, customer: User
) -> None:
    case = ticket_in_salesforce(systems, customer)
    record = agent_comment(systems, case, "We have found the cause.", published=False)
    sync_case_comments()

    systems.salesforce.store.update_record("CaseComment", record["Id"], {"IsPublished": True})
    report = sync_case_comments()

    assert report.comments_updated == 1
    assert [c["body"] for c in api.get(f"{CASES}/{case.pk}").json()["comments"]] == [
        "We have found the cause."
    ]


def test_the_customers_own_comment_is_not_doubled_by_the_sync(
    systems: EmulatorSuite, api: APIClient, customer: User
) -> None:
    case = ticket_in_salesforce(systems, customer)
    api.post(f"{CASES}/{case.pk}/comments", {"body": "Still dropping."}, format="json")
    deliver_all()

    report = sync_case_comments()

    assert report.comments_created == 0
    comment = CaseComment.objects.get()
    assert (comment.from_agent, comment.author, comment.salesforce_modified_at is not None) == (
        False,
        customer,
        True,
    )


def test_a_comment_salesforce_has_but_whose_id_is_not_written_back_yet_is_matched_not_doubled(
    systems: EmulatorSuite, customer: User
) -> None:
    # Given the customer's comment created in Salesforce a moment before the outbox writes its ID back
    case = ticket_in_salesforce(systems, customer)
    local = CaseComment.objects.create(case=case, body="Still dropping.", author=customer, salesforce_id=None)
    OutboxEntryFactory(record_key=f"Account:{account_id_of(customer)}", status=OutboxEntry.Status.IN_PROGRESS)
    record = agent_comment(systems, case, "Still dropping.")

    # When the sync runs in between
    report = sync_case_comments()

    # Then it is the same comment, still the customer's
    assert report.comments_created == 0
    local.refresh_from_db()
    assert (local.salesforce_id, local.from_agent) == (record["Id"], False)
    assert CaseComment.objects.count() == 1


def test_comments_on_cases_that_are_not_portal_tickets_are_ignored(
    systems: EmulatorSuite, customer: User
) -> None:
    ticket_in_salesforce(systems, customer)
    other = systems.salesforce.store.create_record("Case", {"Subject": "Phone call", "Origin": "Phone"})
    CaseFactory(user=customer, salesforce_id=other["Id"], type=CaseType.ELIGIBILITY_CHECK)
    systems.salesforce.store.create_record(
        "CaseComment", {"ParentId": other["Id"], "CommentBody": "internal"}
    )

    report = sync_case_comments()

    assert (report.comments_fetched, report.comments_created) == (1, 0)
    assert not CaseComment.objects.exists()


def test_a_status_change_in_salesforce_reaches_the_customer(
    systems: EmulatorSuite, api: APIClient, customer: User
) -> None:
    case = ticket_in_salesforce(systems, customer)
    systems.salesforce.store.update_record("Case", case.salesforce_id or "", {"Status": "Closed"})

    report = sync_case_comments()

    assert report.cases_updated == 1
    detail = api.get(f"{CASES}/{case.pk}").json()
    record = systems.salesforce.store.get_record("Case", case.salesforce_id or "")
    assert record is not None
    assert (detail["state"], detail["case_number"]) == ("closed", record["CaseNumber"])


def test_a_status_the_portal_still_owes_salesforce_is_not_overwritten(
    systems: EmulatorSuite, customer: User
) -> None:
    case = ticket_in_salesforce(systems, customer, status=CaseStatus.CLOSED)
    OutboxEntryFactory(record_key=f"Account:{account_id_of(customer)}", status=OutboxEntry.Status.PENDING)

    sync_case_comments()

    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    assert case.case_number  # the rest of the record is mirrored


def test_an_unknown_status_leaves_the_local_one(systems: EmulatorSuite, customer: User) -> None:
    case = ticket_in_salesforce(systems, customer, status=CaseStatus.WORKING)
    systems.salesforce.store.add_picklist_value("Case", "Status", "On Hold")  # by the org's administrator
    systems.salesforce.store.update_record("Case", case.salesforce_id or "", {"Status": "On Hold"})

    sync_case_comments()

    case.refresh_from_db()
    assert case.status == CaseStatus.WORKING


def test_the_task_runs_the_sync(systems: EmulatorSuite, customer: User) -> None:
    case = ticket_in_salesforce(systems, customer)
    agent_comment(systems, case, "Hello from support")

    assert sync_case_comments_task() == {"cases_updated": 1, "comments_created": 1, "comments_updated": 0}
