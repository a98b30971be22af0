"""Structured references in queued Salesforce changes: where a value known only at delivery goes
is recorded beside the payload by our code, only registered fields can be referenced, and an entry
that cannot be built fails on its own, visibly, without holding up anyone else's."""

from __future__ import annotations

import base64
import importlib
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.integrations.models import PAYLOAD_INVALID, OutboxEntry
from apps.integrations.outbox import (
    PortalRef,
    WriteBack,
    outbox_deliver_due,
    outbox_enqueue_salesforce,
    portal_file_base64,
    portal_ref,
)
from apps.integrations.salesforce.gateway import CompositeSubrequest
from apps.opportunities.models import Case
from emulators import EmulatorSuite
from tests.factories import (
    AgentFactory,
    CaseFactory,
    CustomerFactory,
    OrderFactory,
    OutboxEntryFactory,
    ResidenceCardSubmissionFactory,
)

pytestmark = pytest.mark.django_db

structured_references = importlib.import_module(
    "apps.integrations.migrations.0005_outbox_structured_references"
)


def account_in_salesforce(systems: EmulatorSuite) -> str:
    return systems.salesforce.store.create_record("Account", {"Name": "Sato Hana"})["Id"]


def case_create(account_id: str, case: Case, **fields: Any) -> OutboxEntry:
    return outbox_enqueue_salesforce(
        operation="support.case_create",
        record_key=f"Account:{account_id}",
        subrequests=[
            CompositeSubrequest.create(
                "Case", "case", {"AccountId": account_id, "Subject": "Help", "Status": "New", **fields}
            )
        ],
        write_backs=[WriteBack("case", "opportunities.Case", case.pk)],
    )


def test_a_comment_on_a_case_still_being_created_waits_then_goes_to_that_case(systems: EmulatorSuite) -> None:
    account_id = account_in_salesforce(systems)
    case = CaseFactory(salesforce_id=None)
    create = case_create(account_id, case)
    comment = outbox_enqueue_salesforce(
        operation="support.comment",
        record_key=f"Account:{account_id}",
        subrequests=[
            CompositeSubrequest.create(
                "CaseComment",
                "comment",
                {"ParentId": portal_ref("opportunities.Case", case.pk), "CommentBody": "Hi"},
            )
        ],
    )

    assert comment.payload["subrequests"][0]["body"] == {"ParentId": None, "CommentBody": "Hi"}
    assert comment.payload["fills"] == [
        {
            "path": [0, "body", "ParentId"],
            "model": "opportunities.Case",
            "pk": case.pk,
            "field": "salesforce_id",
            "file_base64": False,
        }
    ]
    first = outbox_deliver_due()
    OutboxEntry.objects.filter(pk=comment.pk).update(next_attempt_at=timezone.now())
    second = outbox_deliver_due()

    case.refresh_from_db()
    assert (first.delivered, second.delivered) == ([create.pk], [comment.pk])
    [remote] = systems.salesforce.store.find_records("CaseComment", ParentId=case.salesforce_id)
    assert remote["CommentBody"] == "Hi"


@pytest.mark.parametrize(
    "reference",
    [
        PortalRef("accounts.User", 1, "password"),
        PortalRef("opportunities.Case", 1, "description"),
        PortalRef("verification.ResidenceCardSubmission", 1, "file"),  # a file, but not as a file
        PortalRef("opportunities.Case", 1, "salesforce_id", file_base64=True),
    ],
)
def test_only_registered_fields_can_be_referenced(systems: EmulatorSuite, reference: PortalRef) -> None:
    with pytest.raises(ValueError, match="is not a registered"):
        outbox_enqueue_salesforce(
            operation="x",
            record_key="Account:001",
            subrequests=[CompositeSubrequest.create("Case", "case", {"Description": reference})],
        )
    with pytest.raises(ValueError, match="is not a registered"):
        outbox_enqueue_salesforce(
            operation="x",
            record_key="Account:001",
            subrequests=[CompositeSubrequest.create("Case", "case", {"Subject": "x"})],
            write_backs=[WriteBack("case", "accounts.User", 1, "password")],
        )
    assert not OutboxEntry.objects.exists()


@pytest.mark.parametrize(
    ("fills", "reason"),
    [
        (
            [{"path": [0, "body", "ParentId"], "model": "nope.Nothing", "pk": 1, "field": "salesforce_id"}],
            "is not a registered",
        ),
        (
            [{"path": [0, "body", "ParentId"], "model": "accounts.User", "pk": 1, "field": "password"}],
            "is not a registered",
        ),
        (
            [
                {
                    "path": [0, "body", "ParentId"],
                    "model": "opportunities.Case",
                    "pk": 987654,
                    "field": "salesforce_id",
                }
            ],
            "does not exist",
        ),
        (
            [
                {
                    "path": [5, "body", "ParentId"],
                    "model": "opportunities.Case",
                    "pk": "CASE",
                    "field": "salesforce_id",
                }
            ],
            "invalid path",
        ),
        (
            [{"path": [0, "url"], "model": "opportunities.Case", "pk": "CASE", "field": "salesforce_id"}],
            "invalid path",
        ),
        (
            [
                {
                    "path": [0, "body", "VersionData"],
                    "model": "verification.ResidenceCardSubmission",
                    "pk": "CARD",
                    "field": "file",
                    "file_base64": True,
                }
            ],
            "only by the entry that uploads it",
        ),
    ],
)
def test_an_entry_that_cannot_be_built_fails_alone_with_its_reason_shown_and_counted(
    systems: EmulatorSuite, fills: list[dict[str, Any]], reason: str
) -> None:
    account_id = account_in_salesforce(systems)
    customer = CustomerFactory(id_mapping__salesforce_account_id=account_id)
    order = OrderFactory(user=customer)
    card = ResidenceCardSubmissionFactory(user=customer)
    case = CaseFactory(user=customer, salesforce_id="500000000000001AAA")
    for fill in fills:
        fill["pk"] = {"CASE": case.pk, "CARD": card.pk}.get(fill["pk"], fill["pk"])
    bad = OutboxEntryFactory(
        record_key=f"Account:{account_id}",
        operation="support.comment",
        payload={
            "subrequests": [
                {
                    "method": "POST",
                    "url": "sobjects/CaseComment",
                    "reference_id": "c",
                    "body": {"CommentBody": "x"},
                }
            ],
            "fills": fills,
            "write_backs": [],
        },
    )
    other_customers = case_create(account_in_salesforce(systems), CaseFactory(salesforce_id=None))

    report = outbox_deliver_due()

    bad.refresh_from_db()
    assert report.failed == [bad.pk]
    assert report.delivered == [other_customers.pk]
    assert bad.status == OutboxEntry.Status.FAILED
    assert bad.last_error.startswith(f"{PAYLOAD_INVALID}: ")
    assert reason in bad.last_error
    assert systems.salesforce.store.find_records("CaseComment") == []
    agent = Client()
    agent.force_login(AgentFactory())
    readiness = agent.get("/readyz").json()
    assert readiness["checks"]["outbox"]["failed"] == 1
    page = agent.get(reverse("admin:console_orderapprovalqueueitem_change", args=[order.pk])).content.decode()
    assert f'id="console-outbox-{bad.pk}"' in page
    assert PAYLOAD_INVALID in page


def test_a_residence_card_is_sent_by_the_entry_that_uploads_it(systems: EmulatorSuite) -> None:
    account_id = account_in_salesforce(systems)
    card = ResidenceCardSubmissionFactory()
    entry = outbox_enqueue_salesforce(
        operation="verification.residence_card",
        record_key=f"Account:{account_id}",
        subrequests=[
            CompositeSubrequest.create(
                "ContentVersion",
                "document",
                {
                    "Title": "Residence card",
                    "PathOnClient": "card.png",
                    "VersionData": portal_file_base64(
                        "verification.ResidenceCardSubmission", card.pk, "file"
                    ),
                    "FirstPublishLocationId": account_id,
                },
            )
        ],
        write_backs=[
            WriteBack(
                "document", "verification.ResidenceCardSubmission", card.pk, "salesforce_content_version_id"
            )
        ],
    )

    report = outbox_deliver_due()

    card.refresh_from_db()
    assert report.delivered == [entry.pk]
    stored = systems.salesforce.store.get_record("ContentVersion", card.salesforce_content_version_id or "")
    assert stored is not None
    with card.file.open("rb") as handle:
        assert base64.b64decode(stored["VersionData"]) == handle.read()


def test_entries_queued_in_the_old_form_are_converted_or_failed_never_interpreted(
    systems: EmulatorSuite,
) -> None:
    account_id = account_in_salesforce(systems)
    agent = AgentFactory()
    case = CaseFactory(salesforce_id=None)
    create = case_create(account_id, case)
    hostile = f"{{{{portal:accounts.User:{agent.pk}:password}}}}"
    old_comment = OutboxEntryFactory(
        record_key=f"Account:{account_id}",
        operation="support.comment",
        payload={
            "subrequests": [
                {
                    "method": "POST",
                    "url": "sobjects/CaseComment",
                    "reference_id": "comment",
                    "body": {
                        "ParentId": f"{{{{portal:opportunities.Case:{case.pk}:salesforce_id}}}}",
                        "CommentBody": hostile,
                    },
                }
            ],
            "write_backs": [],
        },
    )
    old_close = OutboxEntryFactory(
        record_key=f"Account:{account_id}",
        operation="support.close",
        payload={
            "subrequests": [
                {
                    "method": "PATCH",
                    "url": f"sobjects/Case/{{{{portal:opportunities.Case:{case.pk}:salesforce_id}}}}",
                    "reference_id": "case",
                    "body": {"Status": "Closed"},
                }
            ],
            "write_backs": [],
        },
    )
    smuggled = OutboxEntryFactory(
        record_key="Account:001000000000777",
        payload={
            "subrequests": [
                {
                    "method": "POST",
                    "url": "sobjects/CaseComment",
                    "reference_id": "comment",
                    "body": {"ParentId": hostile, "CommentBody": "x"},
                }
            ],
            "write_backs": [],
        },
    )

    structured_references.forwards(django_apps, None)
    while (report := outbox_deliver_due()).delivered:
        OutboxEntry.objects.filter(status=OutboxEntry.Status.PENDING).update(next_attempt_at=timezone.now())

    for entry in (create, old_comment, old_close, smuggled):
        entry.refresh_from_db()
    case.refresh_from_db()
    assert [e.status for e in (create, old_comment, old_close)] == [OutboxEntry.Status.DELIVERED] * 3
    [remote_comment] = systems.salesforce.store.find_records("CaseComment", ParentId=case.salesforce_id)
    assert remote_comment["CommentBody"] == hostile
    assert systems.salesforce.store.get_record("Case", case.salesforce_id or "")["Status"] == "Closed"
    assert smuggled.status == OutboxEntry.Status.FAILED
    assert smuggled.last_error.startswith(f"{PAYLOAD_INVALID}: ")
    assert report.failed == []
