"""manage.py link_legacy_customer."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from apps.accounts.models import EligibilityStatus, RegistrationSource, User
from apps.integrations.outbox import outbox_deliver_due
from emulators import EmulatorSuite
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def legacy_account(systems: EmulatorSuite) -> tuple[str, str]:
    store = systems.salesforce.store
    account = store.create_record(
        "Account",
        {
            "Name": "Tanaka Kenji",
            "SF_Account_No__c": "P0000777",
            "WH_Account__c": "4242",
            "Internet_Eligibility__c": "Home 1G",
            "Internet_Eligibility_Status__c": "Eligible",
        },
    )
    contact = store.create_record(
        "Contact",
        {
            "AccountId": account["Id"],
            "FirstName": "Kenji",
            "LastName": "Tanaka",
            "Email": "kenji@example.com",
        },
    )
    return account["Id"], contact["Id"]


def test_links_an_existing_customer_without_creating_anything(
    systems: EmulatorSuite, django_capture_on_commit_callbacks: Any
) -> None:
    account_id, contact_id = legacy_account(systems)

    with django_capture_on_commit_callbacks(execute=False):
        call_command("link_legacy_customer", "--customer-number", "P0000777", "--email", "Kenji@Example.com")

    user = User.objects.get(email="kenji@example.com")
    assert user.has_usable_password() is False
    assert (user.first_name, user.last_name) == ("Kenji", "Tanaka")
    assert user.profile.registration_source == RegistrationSource.LEGACY
    assert user.profile.customer_number == "P0000777"
    assert user.profile.internet_eligibility_status == EligibilityStatus.ELIGIBLE
    assert user.profile.internet_eligibility == "Home 1G"
    assert (user.id_mapping.salesforce_account_id, user.id_mapping.salesforce_contact_id) == (
        account_id,
        contact_id,
    )
    assert user.id_mapping.whmcs_client_id == 4242
    assert systems.whmcs.calls == {}
    assert systems.salesforce.counters()["composite"] == 0
    assert len(systems.salesforce.store.find_records("Account")) == 1
    assert len(systems.salesforce.store.find_records("Contact")) == 1

    outbox_deliver_due()
    assert (
        systems.salesforce.store.get_record("Account", account_id)["Portal_Registration_Source__c"]
        == "Legacy"
    )

    (invitation,) = mail.outbox
    uid, token = re.search(r"uid=([\w-]+)&token=([\w-]+)", invitation.body).groups()
    api = APIClient()
    confirmed = api.post(
        "/api/auth/password/reset/confirm", {"uid": uid, "token": token, "new_password": "amber-lantern-2024"}
    )
    assert confirmed.status_code == 204
    assert (
        api.post(
            "/api/auth/login", {"email": "kenji@example.com", "password": "amber-lantern-2024"}, format="json"
        ).status_code
        == 200
    )


def test_an_unknown_customer_number_is_refused(systems: EmulatorSuite) -> None:
    legacy_account(systems)

    with pytest.raises(CommandError, match="No single Salesforce Account has customer number P9999999"):
        call_command("link_legacy_customer", "--customer-number", "P9999999", "--email", "kenji@example.com")

    assert not User.objects.exists()


def test_an_email_that_is_not_a_contact_of_the_account_is_refused(systems: EmulatorSuite) -> None:
    legacy_account(systems)

    with pytest.raises(CommandError, match="no Contact with this email"):
        call_command(
            "link_legacy_customer", "--customer-number", "P0000777", "--email", "someone@example.com"
        )

    assert not User.objects.exists()


def test_an_existing_portal_user_is_never_overwritten(systems: EmulatorSuite) -> None:
    legacy_account(systems)
    UserFactory(email="kenji@example.com")

    with pytest.raises(CommandError, match="already exists"):
        call_command("link_legacy_customer", "--customer-number", "P0000777", "--email", "kenji@example.com")

    assert systems.salesforce.counters()["total"] == 0
