"""A misspelled Salesforce field name in a write the portal makes fails a test: the emulated org
knows its own fields (not the portal's field map), so the outbox entry fails with INVALID_FIELD
exactly as it would against the real org."""

from __future__ import annotations

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from apps.integrations.models import OutboxEntry
from apps.integrations.outbox import outbox_deliver_due
from apps.verification.services import eligibility_request_create
from emulators import EmulatorSuite
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def request_eligibility(systems: EmulatorSuite) -> tuple[str, OutboxEntry]:
    """A customer whose Account exists in the org asks for an eligibility check; returns the
    Account ID and the outbox entry that owes Salesforce the change."""
    account_id = systems.salesforce.store.create_record("Account", {"Name": "Sato Hana"})["Id"]
    customer = CustomerFactory.create(id_mapping__salesforce_account_id=account_id)
    eligibility_request_create(
        user_id=customer.pk, postal_code="150-0002", prefecture="Tokyo", city="Shibuya-ku",
        address_line1="2-21-1 Shibuya",
    )  # fmt: skip
    return account_id, OutboxEntry.objects.get()


def test_the_field_maps_names_are_the_orgs_so_the_write_is_delivered(systems: EmulatorSuite) -> None:
    account_id, entry = request_eligibility(systems)

    outbox_deliver_due()

    entry.refresh_from_db()
    assert entry.status == OutboxEntry.Status.DELIVERED
    account = systems.salesforce.store.get_record("Account", account_id)
    assert account is not None
    assert account["Internet_Eligibility_Status__c"] == "Pending"


def test_a_misspelled_custom_field_fails_the_outbox_entry_with_invalid_field(
    systems: EmulatorSuite, settings: SettingsWrapper
) -> None:
    # Given a field map whose custom field name has a typo (as an override, or an edit of the defaults)
    settings.SALESFORCE = {
        **settings.SALESFORCE,
        "FIELD_MAP_OVERRIDES": {
            "fields": {"Account": {"internet_eligibility_status": "Internet_Eligiblity_Status__c"}}
        },
    }

    # When the portal delivers the customer's eligibility request
    account_id, entry = request_eligibility(systems)
    outbox_deliver_due()

    # Then the org refuses the unknown field, and nothing of the change reached it
    entry.refresh_from_db()
    assert entry.status == OutboxEntry.Status.FAILED
    assert "INVALID_FIELD" in entry.last_error
    assert "No such column 'Internet_Eligiblity_Status__c' on sobject of type Account" in entry.last_error
    account = systems.salesforce.store.get_record("Account", account_id)
    assert account is not None
    assert account["Internet_Eligibility_Status__c"] is None
    assert systems.salesforce.store.find_records("Case") == []
