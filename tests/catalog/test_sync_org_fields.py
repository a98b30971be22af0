"""Catalog sync on an org set up from the Salesforce requirements alone: the Product2 fields the
portal reads beyond them (product type, eligibility offering, family discount, display order) are
optional, selected only when the org's describe lists them."""

from __future__ import annotations

import pytest

from apps.catalog.models import ItemClass, Product, ProductType
from apps.catalog.sync import sync_catalog
from emulators import EmulatorSuite
from tests.helpers import add_product

pytestmark = pytest.mark.django_db

EXTRA_FIELDS = ("Product_Type__c", "Eligibility_Offering__c", "Family_Discount__c", "Portal_Display_Order__c")


def _org_from_the_requirements(systems: EmulatorSuite) -> None:
    for name in EXTRA_FIELDS:
        systems.salesforce.store.remove_field("Product2", name)


def test_an_org_without_the_extra_product2_fields_syncs_with_the_product_family_as_type(
    systems: EmulatorSuite,
) -> None:
    internet = add_product(systems, Product_Type__c=None, Eligibility_Offering__c=None, Family="Internet")
    sim = add_product(
        systems, Name="SonixNet SIM 5GB", Product_Type__c=None, Eligibility_Offering__c=None, Family="SIM"
    )
    _org_from_the_requirements(systems)

    report = sync_catalog()

    assert (report.fetched, report.created, report.unknown) == (2, 2, [])
    plan = Product.objects.get(salesforce_id=internet)
    assert (plan.product_type, plan.item_class, plan.is_active) == (
        ProductType.INTERNET,
        ItemClass.PLAN,
        True,
    )
    assert (plan.eligibility_offering, plan.is_family_discount, plan.display_order) == ("", False, 0)
    assert Product.objects.get(salesforce_id=sim).product_type == ProductType.SIM


def test_the_org_is_described_once_and_the_extra_fields_are_read_where_it_has_them(
    systems: EmulatorSuite,
) -> None:
    product_id = add_product(systems, Family="SIM", Family_Discount__c=True, Portal_Display_Order__c=3)

    sync_catalog()
    describes = systems.salesforce.counters()["sobject"]
    sync_catalog(full=True)

    assert describes == 1
    assert systems.salesforce.counters()["sobject"] == describes  # the cached describe served
    product = Product.objects.get(salesforce_id=product_id)
    # Product_Type__c wins over the family; the other extras are mirrored.
    assert product.product_type == ProductType.INTERNET
    assert (product.eligibility_offering, product.is_family_discount, product.display_order) == (
        "Home 1G",
        True,
        3,
    )


def test_a_field_deleted_after_the_describe_is_noticed_and_the_sync_goes_on_without_it(
    systems: EmulatorSuite,
) -> None:
    product_id = add_product(systems)
    sync_catalog()
    systems.salesforce.store.remove_field("Product2", "Eligibility_Offering__c")

    report = sync_catalog(full=True)

    assert (report.fetched, report.updated) == (1, 1)
    assert systems.salesforce.counters()["sobject"] == 2  # described again after INVALID_FIELD
    assert Product.objects.get(salesforce_id=product_id).eligibility_offering == ""


def test_a_product_with_neither_product_type_nor_family_is_reported_and_not_offered(
    systems: EmulatorSuite,
) -> None:
    product_id = add_product(systems, Product_Type__c=None)
    _org_from_the_requirements(systems)

    report = sync_catalog()

    assert report.unknown == [product_id]
    assert not Product.objects.filter(salesforce_id=product_id).exists()
