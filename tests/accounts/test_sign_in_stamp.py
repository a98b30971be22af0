"""Portal_Last_SignIn__c: every sign-in is stamped, many sign-ins cost one Salesforce update."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.integrations.models import OutboxEntry
from apps.integrations.outbox import outbox_deliver_due
from emulators import EmulatorSuite
from tests.factories import StaffUserFactory
from tests.helpers import account_id_of, make_customer

pytestmark = pytest.mark.django_db

CREDENTIALS = {"email": "ren@example.com", "password": "correct-horse-battery"}


def test_many_sign_ins_within_the_window_cost_one_salesforce_call(systems: EmulatorSuite) -> None:
    customer = make_customer(systems, email="ren@example.com", account={"Name": "Ren"})

    for _ in range(6):
        api = APIClient()
        assert api.post("/api/auth/login", CREDENTIALS, format="json").status_code == 200

    customer.profile.refresh_from_db()
    (entry,) = OutboxEntry.objects.filter(operation="account.last_sign_in")
    assert entry.next_attempt_at > timezone.now()  # waits for more sign-ins to collapse
    assert outbox_deliver_due().delivered == []

    OutboxEntry.objects.filter(pk=entry.pk).update(next_attempt_at=timezone.now())
    report = outbox_deliver_due()

    assert report.delivered == [entry.pk]
    assert report.api_calls == 1
    stamped = systems.salesforce.store.get_record("Account", account_id_of(customer))["Portal_Last_SignIn__c"]
    assert stamped.startswith(customer.profile.last_signed_in_at.strftime("%Y-%m-%dT%H:%M:%S"))


def test_a_sign_in_after_delivery_starts_a_new_window(systems: EmulatorSuite) -> None:
    make_customer(systems, email="ren@example.com", account={"Name": "Ren"})
    APIClient().post("/api/auth/login", CREDENTIALS, format="json")
    OutboxEntry.objects.update(next_attempt_at=timezone.now())
    outbox_deliver_due()

    APIClient().post("/api/auth/login", CREDENTIALS, format="json")

    assert OutboxEntry.objects.filter(operation="account.last_sign_in").count() == 2
    assert OutboxEntry.objects.filter(operation="account.last_sign_in", status="pending").count() == 1


def test_staff_sign_ins_touch_no_salesforce_account() -> None:
    StaffUserFactory(email="agent@sonixnet.example")

    response = APIClient().post(
        "/api/auth/login",
        {"email": "agent@sonixnet.example", "password": "correct-horse-battery"},
        format="json",
    )

    assert response.status_code == 403  # staff sign in to the console, not here
    assert not OutboxEntry.objects.exists()
