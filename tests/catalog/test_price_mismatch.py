"""Billed as quoted, catalog side: the catalog sync compares each product's Salesforce price
with WHMCS's pricing (GetProducts) and shows the differences to supervisors only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from apps.catalog.models import PriceMismatch, Product
from apps.catalog.sync import sync_catalog
from emulators import EmulatorSuite
from tests.factories import StaffUserFactory
from tests.helpers import add_product

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:catalog_pricemismatch_changelist")


def mismatches() -> set[tuple[str, str, Decimal | None, Decimal | None]]:
    return {
        (row.product.name, row.kind, row.whmcs_price, row.whmcs_setup_fee)
        for row in PriceMismatch.objects.select_related("product")
    }


def test_the_sync_records_each_kind_of_difference_and_nothing_where_the_prices_agree(
    systems: EmulatorSuite,
) -> None:
    # given: Salesforce prices against the emulated WHMCS catalog (Home 1G ¥5,500; installation
    # ¥22,000 one-time; SIM 5GB ¥1,200 + ¥3,300 setup, monthly only)
    add_product(systems, Name="Home 1G", price="5280")
    add_product(
        systems,
        Name="Installation",
        price="22000",
        Item_Class__c="Installation",
        Billing_Cycle__c="One-time",
        WHMCS_Product_Id__c="3",
    )
    add_product(systems, Name="SIM 5GB", price="1200", Product_Type__c="SIM", WHMCS_Product_Id__c="4")
    add_product(
        systems, Name="SIM 5GB yearly", price="13200", Product_Type__c="SIM", WHMCS_Product_Id__c="4",
        Billing_Cycle__c="Annually",
    )  # fmt: skip
    add_product(systems, Name="Gone", price="100", WHMCS_Product_Id__c="99")
    add_product(systems, Name="Unmapped", price="100", WHMCS_Product_Id__c=None)

    # when
    sync_catalog()

    # then
    assert mismatches() == {
        ("Home 1G", PriceMismatch.Kind.PRICE, Decimal("5500.00"), Decimal("0.00")),
        ("SIM 5GB", PriceMismatch.Kind.SETUP_FEE, Decimal("1200.00"), Decimal("3300.00")),
        ("SIM 5GB yearly", PriceMismatch.Kind.CYCLE_NOT_OFFERED, None, None),
        ("Gone", PriceMismatch.Kind.PRODUCT_MISSING, None, None),
        ("Unmapped", PriceMismatch.Kind.NOT_MAPPED, None, None),
    }
    home = PriceMismatch.objects.get(product__name="Home 1G")
    assert (home.salesforce_price, home.whmcs_product_id, home.currency_code) == (
        Decimal("5280.00"),
        1,
        "JPY",
    )


def test_a_difference_corrected_in_whmcs_goes_at_the_next_sync(systems: EmulatorSuite) -> None:
    # given
    add_product(systems, Name="Home 1G", price="5280")
    sync_catalog()
    first_seen = PriceMismatch.objects.get().first_seen_at

    # when: WHMCS is corrected (nothing changed in Salesforce: the comparison still runs)
    systems.whmcs.set_product_price(1, "monthly", "5280.00")
    sync_catalog()

    # then
    assert not PriceMismatch.objects.exists()
    assert first_seen is not None


def test_a_difference_that_persists_keeps_its_first_sighting(systems: EmulatorSuite) -> None:
    # given
    add_product(systems, Name="Home 1G", price="5280")
    sync_catalog()
    before = PriceMismatch.objects.get()

    # when: WHMCS changes its price again
    systems.whmcs.set_product_price(1, "monthly", "5600.00")
    sync_catalog()

    # then
    after = PriceMismatch.objects.get()
    assert (after.pk, after.first_seen_at, after.whmcs_price) == (
        before.pk,
        before.first_seen_at,
        Decimal("5600.00"),
    )
    assert after.checked_at > before.checked_at


def test_whmcs_down_leaves_the_last_comparison_and_the_catalog_still_syncs(systems: EmulatorSuite) -> None:
    # given
    add_product(systems, Name="Home 1G", price="5280")
    sync_catalog()
    add_product(systems, Name="Home 10G", price="6380", WHMCS_Product_Id__c="2")
    systems.whmcs.inject_fault("GetProducts", kind="http_status", status=503, times=None)

    # when
    sync_catalog()

    # then
    assert Product.objects.filter(name="Home 10G").exists()
    assert mismatches() == {("Home 1G", PriceMismatch.Kind.PRICE, Decimal("5500.00"), Decimal("0.00"))}


def staff_client(group: str | None) -> Client:
    user = StaffUserFactory()
    if group:
        user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client


def test_supervisors_see_the_mismatches_and_agents_do_not(systems: EmulatorSuite) -> None:
    # given
    add_product(systems, Name="Home 1G", price="5280")
    sync_catalog()
    row = PriceMismatch.objects.get()

    # when
    supervisor = staff_client("Supervisors").get(CHANGELIST)
    agent = staff_client("Agents").get(CHANGELIST)
    edit = staff_client("Supervisors").post(
        reverse("admin:catalog_pricemismatch_delete", args=[row.pk]), {"post": "yes"}
    )

    # then
    assert supervisor.status_code == 200
    assert "Home 1G" in supervisor.content.decode()
    assert "Price differs" in supervisor.content.decode()
    page = supervisor.content.decode()
    assert '<td class="field-salesforce_price">5280.00</td><td class="field-whmcs_price">5500.00</td>' in page
    assert agent.status_code == 403
    assert edit.status_code == 403
    assert PriceMismatch.objects.filter(pk=row.pk).exists()
