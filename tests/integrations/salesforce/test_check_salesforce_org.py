"""``manage.py check_salesforce_org`` against the emulator's org, described through the REST
describe calls: it passes on the org as set up, and names what an administrator removes."""

from __future__ import annotations

import json
from io import StringIO
from urllib.parse import quote

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError
from pytest_django.fixtures import Settings as SettingsFixture

from emulators import EmulatorSuite


def _run(*args: str) -> tuple[str, int]:
    out = StringIO()
    try:
        call_command("check_salesforce_org", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue() + str(exc), exc.returncode
    return out.getvalue(), 0


def test_the_emulated_org_has_everything_the_portal_needs(systems: EmulatorSuite) -> None:
    output, status = _run()

    assert status == 0, output
    assert "MISSING" not in output
    assert "DIFFERS" not in output
    assert "2 platform events, 5 change event channels" in output


def test_a_removed_field_fails_the_check_naming_it(systems: EmulatorSuite) -> None:
    systems.salesforce.store.remove_field("Opportunity", "LineReturn__c")

    output, status = _run()

    assert status == 1
    assert "MISSING  field Opportunity.LineReturn__c (picklist) is missing" in output
    assert "lacks 1 thing(s)" in output


def test_a_removed_picklist_value_and_platform_event_are_named_in_the_json(systems: EmulatorSuite) -> None:
    systems.salesforce.store.remove_picklist_value("Opportunity", "StageName", "〇Cancelled")
    systems.salesforce.store.remove_platform_event("OrderProvisionRequested__e")
    systems.salesforce.store.deselect_change_events("Case")
    out = StringIO()

    with pytest.raises(CommandError) as failure:
        call_command("check_salesforce_org", "--json", stdout=out)

    assert failure.value.returncode == 1
    report = json.loads(out.getvalue())
    assert report["ok"] is False
    problems = {(item["kind"], item["object"], item["name"], item["expected"]) for item in report["problems"]}
    assert problems == {
        ("picklist_value", "Opportunity", "StageName", "〇Cancelled"),
        ("platform_event", "OrderProvisionRequested__e", "OrderProvisionRequested__e", ""),
        ("change_events", "Case", "CaseChangeEvent", ""),
    }


def test_a_field_of_the_wrong_type_differs(systems: EmulatorSuite) -> None:
    systems.salesforce.store.remove_field("Order", "Activation_Error_DateTime__c")
    systems.salesforce.store.add_field("Order", "Activation_Error_DateTime__c", "string")

    output, status = _run()

    assert status == 1
    assert "field Order.Activation_Error_DateTime__c: type string, needs datetime" in output


def test_the_optional_product2_fields_are_reported_without_failing(systems: EmulatorSuite) -> None:
    for name in (
        "Product_Type__c",
        "Eligibility_Offering__c",
        "Family_Discount__c",
        "Portal_Display_Order__c",
    ):
        systems.salesforce.store.remove_field("Product2", name)

    output, status = _run()

    assert status == 0, output
    assert "field Product2.Product_Type__c (picklist) is missing (optional)" in output
    assert "field Product2.Portal_Display_Order__c (number) is missing (optional)" in output


def test_the_field_map_overrides_and_channel_settings_are_what_is_checked(
    systems: EmulatorSuite, settings: SettingsFixture
) -> None:
    settings.SALESFORCE = {
        **settings.SALESFORCE,
        "FIELD_MAP_OVERRIDES": {
            "fields": {"Order": {"activation_error_message": "Activation_Error__c"}},
            "picklists": {"Order.activation_status": {"activated": "Provisioned"}},
        },
        "ACCOUNT_EVENT_CHANNEL": "/event/Account_Status__e",
    }

    output, status = _run()

    assert status == 1
    assert "field Order.Activation_Error__c is missing" in output
    assert "picklist value Order.Activation_Status__c = 'Provisioned' is missing" in output
    assert "platform event Account_Status__e is missing" in output
    assert "Activation_Error_Message__c" not in output


def test_the_emulators_driver_removes_schema_items_as_an_administrator_would(
    systems: EmulatorSuite,
) -> None:
    base = f"{systems.salesforce.base_url}/__emulator__/schema"
    driver = requests.Session()
    driver.trust_env = False
    driver.verify = str(systems.salesforce.ca_bundle)

    removed = [
        driver.delete(f"{base}/Case/fields/Type/values/{quote('Cancellation Request')}", timeout=5),
        driver.delete(f"{base}/Account/fields/WH_Account__c", timeout=5),
        driver.delete(f"{base}/change-events/Order", timeout=5),
        driver.delete(f"{base}/events/Account_Internet_Eligibility_Update__e", timeout=5),
    ]
    unknown = driver.delete(f"{base}/Account/fields/No_Such__c", timeout=5)
    output, status = _run()

    assert [response.status_code for response in removed] == [204, 204, 204, 204]
    assert unknown.status_code == 400
    assert status == 1
    assert "picklist value Case.Type = 'Cancellation Request' is missing" in output
    assert "field Account.WH_Account__c is missing" in output
    assert (
        "change events for Order (OrderChangeEvent, channel /data/OrderChangeEvent) is not selected in "
        "Setup > Change Data Capture" in output
    )
    assert "platform event Account_Internet_Eligibility_Update__e is missing" in output
    assert "lacks 4 thing(s)" in output


def test_without_access_to_the_change_data_capture_selection_it_is_reported_unchecked(
    systems: EmulatorSuite,
) -> None:
    systems.salesforce.fail_next(
        status=403,
        error_code="INSUFFICIENT_ACCESS",
        message="insufficient access rights",
        path_prefix="/services/data/v59.0/tooling/",
    )

    output, status = _run()

    assert status == 0, output
    assert (
        "the Change Data Capture selection (Tooling API PlatformEventChannelMember) could not be read "
        "(INSUFFICIENT_ACCESS); selections unchecked" in output
    )


def test_an_unreachable_org_exits_2(systems: EmulatorSuite) -> None:
    systems.salesforce.fail_next(
        10, status=503, error_code="SERVER_UNAVAILABLE", path_prefix="/services/data/"
    )

    output, status = _run()

    assert status == 2
    assert "Could not describe the Salesforce org" in output
