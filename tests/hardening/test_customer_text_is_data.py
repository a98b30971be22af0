"""Customer text is data: whatever a customer types that looks like an outbox reference
(``{{portal:…}}``, ``{{portal_file:…}}``) reaches Salesforce and comes back exactly as typed; it
never pulls another row's value (an agent's password hash, another customer's residence card)
into the payload."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.opportunities.case_comment_sync import sync_case_comments
from apps.opportunities.models import Case
from emulators import EmulatorSuite
from tests.factories import AgentFactory, CustomerFactory, ResidenceCardSubmissionFactory
from tests.helpers import deliver_all, make_customer
from tests.scenarios import SIGNUP, cancel, customer_with_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def secrets_in_the_portal(systems: EmulatorSuite) -> dict[str, Any]:
    """Rows an attacker would like to read: an agent's password hash and another customer's
    residence card, and the text that used to pull them into a Salesforce payload."""
    agent = AgentFactory()
    card = ResidenceCardSubmissionFactory(user=CustomerFactory())
    with card.file.open("rb") as handle:
        card_base64 = base64.b64encode(handle.read()).decode("ascii")
    hostile = (
        f"Hi {{{{portal:accounts.User:{agent.pk}:password}}}} and "
        f"{{{{portal_file:verification.ResidenceCardSubmission:{card.pk}:file}}}}"
    )
    return {"text": hostile, "leaks": [agent.password, card_base64]}


def assert_salesforce_has_exactly(systems: EmulatorSuite, secrets: dict[str, Any]) -> None:
    org = json.dumps(systems.salesforce.store.snapshot()["records"], ensure_ascii=False)
    for leak in secrets["leaks"]:
        assert leak not in org
    assert json.dumps(secrets["text"], ensure_ascii=False)[1:-1] in org


def signed_in(user: User) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_a_support_ticket_and_its_comment_reach_salesforce_and_come_back_as_typed(
    systems: EmulatorSuite, secrets_in_the_portal: dict[str, Any]
) -> None:
    text = secrets_in_the_portal["text"]
    api = signed_in(make_customer(systems))
    created = api.post(
        "/api/support/cases",
        {"subject": text[:200], "description": text, "category": "billing"},
        format="json",
    ).json()
    deliver_all()
    case = Case.objects.get(pk=created["id"])
    assert (
        api.post(f"/api/support/cases/{case.pk}/comments", {"body": text}, format="json").status_code == 201
    )

    report = deliver_all()
    sync_case_comments()

    assert report.failed == []
    remote_case = systems.salesforce.store.get_record("Case", case.salesforce_id or "")
    assert remote_case is not None
    assert remote_case["Subject"] == text[:200]
    assert text in remote_case["Description"]
    [remote_comment] = systems.salesforce.store.find_records("CaseComment", ParentId=case.salesforce_id)
    assert remote_comment["CommentBody"] == text
    shown = api.get(f"/api/support/cases/{case.pk}").json()
    assert shown["subject"] == text[:200]
    assert [comment["body"] for comment in shown["comments"]] == [text]
    assert_salesforce_has_exactly(systems, secrets_in_the_portal)


def test_an_eligibility_request_reaches_salesforce_and_comes_back_as_typed(
    systems: EmulatorSuite, secrets_in_the_portal: dict[str, Any]
) -> None:
    text = secrets_in_the_portal["text"]
    api = signed_in(make_customer(systems))
    address = {
        "postal_code": "1500002",
        "prefecture": "東京都",
        "city": "Shibuya-ku",
        "address_line1": text[:200],
        "address_line2": text[:100],
        "prefecture_ja": "東京都",
        "city_ja": "渋谷区",
        "address_line1_ja": "渋谷2-21-1",
        "address_line2_ja": text[:100],
        "housing_type": "apartment",
        "notes": text,
    }
    assert api.post("/api/eligibility-request", address, format="json").status_code == 201

    report = deliver_all()

    assert report.failed == []
    shown = api.get("/api/eligibility-request").json()["address"]
    assert (shown["address_line1"], shown["address_line2"], shown["address_line2_ja"], shown["notes"]) == (
        text[:200],
        text[:100],
        text[:100],
        text,
    )
    assert_salesforce_has_exactly(systems, secrets_in_the_portal)


def test_cancellation_comments_reach_salesforce_as_typed(
    systems: EmulatorSuite, secrets_in_the_portal: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = secrets_in_the_portal["text"]
    user, service, _ = customer_with_service(systems)
    api = signed_in(user)

    assert cancel(api, service, comments=text).status_code in (200, 201)
    report = deliver_all()

    assert report.failed == []
    case = Case.objects.get(user=user)
    remote_case = systems.salesforce.store.get_record("Case", case.salesforce_id or "")
    assert remote_case is not None
    assert text in remote_case["Description"]
    assert_salesforce_has_exactly(systems, secrets_in_the_portal)


def test_names_and_address_at_sign_up_reach_salesforce_and_come_back_as_typed(
    systems: EmulatorSuite, secrets_in_the_portal: dict[str, Any]
) -> None:
    text = secrets_in_the_portal["text"]
    api = APIClient()
    signup = {
        **SIGNUP,
        "first_name": text[:50],
        "last_name": text[:50],
        "city": text[:100],
        "address_line1": text[:200],
    }

    response = api.post("/api/checkout/registration", {**signup, "order_type": "sim"}, format="json")
    report = deliver_all()

    assert response.status_code == 201, response.json()
    assert report.failed == []
    me = api.get("/api/me").json()
    assert (me["first_name"], me["last_name"]) == (text[:50], text[:50])
    assert_salesforce_has_exactly(systems, secrets_in_the_portal)
