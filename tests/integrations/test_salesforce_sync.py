"""Catalog sync and account status reconciliation against the Salesforce emulator."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache

from apps.accounts.models import EligibilityStatus, IdVerificationStatus
from apps.accounts.sync import reconcile_account_statuses
from apps.accounts.tasks import reconcile_account_statuses_task
from apps.catalog.models import BillingCycle, ItemClass, Product, ProductType
from apps.catalog.services import CATALOG_CACHE_VERSION_KEY
from apps.catalog.sync import sync_catalog
from apps.catalog.tasks import sync_catalog_task
from emulators import EmulatorSuite
from tests.factories import CustomerFactory, OutboxEntryFactory
from tests.helpers import add_product

pytestmark = pytest.mark.django_db


def test_catalog_sync_mirrors_product2_with_its_standard_price(systems: EmulatorSuite) -> None:
    product_id = add_product(systems)

    report = sync_catalog()

    product = Product.objects.get(salesforce_id=product_id)
    assert (report.fetched, report.created, report.updated) == (1, 1, 0)
    assert product.name == "SonixNet Home 1G"
    assert product.product_type == ProductType.INTERNET
    assert product.item_class == ItemClass.PLAN
    assert product.billing_cycle == BillingCycle.MONTHLY
    assert product.whmcs_product_id == 1
    assert product.config_options == {"router": "wifi6"}
    assert product.eligibility_offering == "Home 1G"
    assert product.price == Decimal("5280.00")
    assert product.is_active is True
    assert product.salesforce_modified_at is not None


def test_catalog_sync_is_incremental_on_system_modstamp(systems: EmulatorSuite) -> None:
    first = add_product(systems)
    sync_catalog()
    systems.salesforce.store.update_record("Product2", first, {"Name": "SonixNet Home 1G (new)"})
    second = add_product(
        systems, Name="SonixNet SIM 5GB", Product_Type__c="SIM", Eligibility_Offering__c=None
    )

    report = sync_catalog()

    assert report.fetched <= 2 + 1  # the cursor record itself may come again (inclusive cursor)
    assert Product.objects.get(salesforce_id=first).name == "SonixNet Home 1G (new)"
    assert Product.objects.get(salesforce_id=second).product_type == ProductType.SIM
    assert Product.objects.count() == 2


def test_a_product_without_a_price_is_not_offered(systems: EmulatorSuite) -> None:
    product_id = add_product(systems, price=None)

    report = sync_catalog()

    assert report.unknown == [product_id]
    assert Product.objects.get(salesforce_id=product_id).is_active is False


def test_a_catalog_change_invalidates_cached_catalog_pages(
    systems: EmulatorSuite, django_capture_on_commit_callbacks: Any
) -> None:
    add_product(systems)
    cache.set(CATALOG_CACHE_VERSION_KEY, 7, timeout=None)

    with django_capture_on_commit_callbacks(execute=True):
        sync_catalog_task.apply()

    assert cache.get(CATALOG_CACHE_VERSION_KEY) == 8


def test_reconciliation_catches_a_status_change_whose_event_was_missed(systems: EmulatorSuite) -> None:
    customer = CustomerFactory()
    account = systems.salesforce.store.create_record("Account", {"Name": "Customer"})
    customer.id_mapping.salesforce_account_id = account["Id"]
    customer.id_mapping.save()
    systems.salesforce.store.update_record(
        "Account",
        account["Id"],
        {
            "Internet_Eligibility__c": "Home 1G",
            "Internet_Eligibility_Status__c": "Eligible",
            "Internet_Eligibility_Checked_Date_Time__c": "2026-11-20T01:02:03.000+0000",
            "Id_Verification_Status__c": "Rejected",
            "Id_Verification_Rejection_Message__c": "Image is not clear enough.",
        },
    )
    systems.salesforce.store.create_record("Account", {"Name": "Not a portal customer"})

    report = reconcile_account_statuses()

    profile = customer.profile
    profile.refresh_from_db()
    assert report.fetched == 2
    assert report.updated == 1
    assert profile.internet_eligibility == "Home 1G"
    assert profile.internet_eligibility_status == EligibilityStatus.ELIGIBLE
    assert profile.internet_eligibility_checked_at.isoformat() == "2026-11-20T01:02:03+00:00"
    assert profile.id_verification_status == IdVerificationStatus.REJECTED
    assert profile.id_verification_rejection_message == "Image is not clear enough."
    assert profile.synced_at is not None


def test_reconciliation_never_undoes_a_newer_mirror(systems: EmulatorSuite) -> None:
    customer = CustomerFactory()
    account = systems.salesforce.store.create_record(
        "Account", {"Name": "Customer", "Internet_Eligibility_Status__c": "Pending"}
    )
    customer.id_mapping.salesforce_account_id = account["Id"]
    customer.id_mapping.save()
    reconcile_account_statuses()
    profile = customer.profile
    profile.refresh_from_db()
    profile.salesforce_modified_at = profile.salesforce_modified_at.replace(year=2099)
    profile.internet_eligibility_status = EligibilityStatus.ELIGIBLE
    profile.save()

    reconcile_account_statuses(full=True)

    profile.refresh_from_db()
    assert profile.internet_eligibility_status == EligibilityStatus.ELIGIBLE


def test_reconciliation_task_retries_when_salesforce_is_down(systems: EmulatorSuite) -> None:
    systems.salesforce.fail_next(
        10, status=503, error_code="SERVER_UNAVAILABLE", path_prefix="/services/data"
    )

    result = reconcile_account_statuses_task.apply()

    assert result.state == "FAILURE"
    assert result.traceback is not None
    assert "SalesforceUnavailable" in result.traceback


def test_reconciliation_leaves_an_account_alone_while_the_portal_owes_it_a_change(
    systems: EmulatorSuite,
) -> None:
    customer = CustomerFactory()
    account = systems.salesforce.store.create_record("Account", {"Name": "Customer"})
    customer.id_mapping.salesforce_account_id = account["Id"]
    customer.id_mapping.save()
    profile = customer.profile
    profile.internet_eligibility_status = EligibilityStatus.PENDING
    profile.save()
    OutboxEntryFactory(record_key=f"Account:{account['Id']}")

    report = reconcile_account_statuses()

    profile.refresh_from_db()
    assert report.updated == 0
    assert profile.internet_eligibility_status == EligibilityStatus.PENDING
