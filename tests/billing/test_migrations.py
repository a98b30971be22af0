"""The WHMCS mirror moved from ``integrations`` to ``billing`` in Django's state only: rows written
before the move are read through the billing models after it, and permissions granted on the old
models stay granted.

Each test migrates the test database back to the state before the move (``billing`` unapplied,
``integrations`` at 0005, as on ``main`` before the move), writes through the historical models of
that state, and migrates forward again, as ``manage.py migrate`` does on a deployed database.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.apps.registry import Apps
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from apps.accounts.models import User
from apps.billing.models import WhmcsInvoice, WhmcsPaymentMethod, WhmcsService

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE_THE_MOVE = [
    ("integrations", "0005_outbox_structured_references"),
    ("contenttypes", "0002_remove_content_type_name"),
    ("auth", "0012_alter_user_first_name_max_length"),
]
MIRROR_MODELS = ("whmcsservice", "whmcsinvoice", "whmcspaymentmethod")


def migrate(*args: str) -> None:
    call_command("migrate", *args, verbosity=0, stdout=io.StringIO())


@pytest.fixture
def before_the_move() -> Iterator[Apps]:
    """The database as it was before the move, and the models of that state; afterwards the
    database is fully migrated again, whatever the test did."""
    migrate("billing", "zero")
    try:
        yield MigrationLoader(connection).project_state(BEFORE_THE_MOVE).apps
    finally:
        migrate()


def content_type_labels() -> set[tuple[str, str]]:
    ContentType.objects.clear_cache()
    return set(
        ContentType.objects.filter(model__in=MIRROR_MODELS).values_list("app_label", "model").order_by()
    )


def test_rows_written_before_the_move_are_read_through_the_billing_models(before_the_move: Apps) -> None:
    # given mirror rows written by the integrations models, before the move
    old = before_the_move
    user = old.get_model("accounts", "User").objects.create(email="taro@example.com", password="!")
    product = old.get_model("catalog", "Product").objects.create(
        salesforce_id="01t000000000001AAA",
        name="Home 1G",
        product_type="internet",
        item_class="plan",
        billing_cycle="monthly",
        price=Decimal("5500.00"),
        whmcs_product_id=1,
    )
    old.get_model("integrations", "WhmcsService").objects.create(
        user=user, whmcs_id=11, product=product, whmcs_product_id=1, name="Home 1G", status="Active"
    )
    old.get_model("integrations", "WhmcsInvoice").objects.create(
        user=user,
        whmcs_id=21,
        number="INV-21",
        status="Unpaid",
        issued_on=datetime.date(2026, 11, 1),
        due_on=datetime.date(2026, 11, 15),
        total=Decimal("6050.00"),
    )
    old.get_model("integrations", "WhmcsPaymentMethod").objects.create(
        user=user,
        whmcs_id=31,
        type="CreditCard",
        card_last_four="4242",
        expires_on=datetime.date(2030, 12, 31),
    )

    # when the database is migrated forward
    migrate()

    # then the billing models read the same rows from the same tables
    customer = User.objects.get(email="taro@example.com")
    service = WhmcsService.objects.get(whmcs_id=11)
    assert (service.user, service.product_id, service.name, service.status) == (
        customer,
        product.pk,
        "Home 1G",
        "Active",
    )
    invoice = WhmcsInvoice.objects.get(whmcs_id=21)
    assert (invoice.user, invoice.number, invoice.total, invoice.due_on) == (
        customer,
        "INV-21",
        Decimal("6050.00"),
        datetime.date(2026, 11, 15),
    )
    card = WhmcsPaymentMethod.objects.get(whmcs_id=31)
    assert (card.user, card.card_last_four, card.expires_on) == (
        customer,
        "4242",
        datetime.date(2030, 12, 31),
    )
    assert [model._meta.db_table for model in (WhmcsService, WhmcsInvoice, WhmcsPaymentMethod)] == [
        "integrations_whmcsservice",
        "integrations_whmcsinvoice",
        "integrations_whmcspaymentmethod",
    ]


def test_permissions_granted_on_the_old_models_follow_them(before_the_move: Apps) -> None:
    # given a group and a user granted permissions on the mirror models under their old app label
    assert content_type_labels() == {("integrations", model) for model in MIRROR_MODELS}
    group = Group.objects.create(name="Billing support")
    group.permissions.add(
        Permission.objects.get(content_type__app_label="integrations", codename="view_whmcsinvoice")
    )
    user = User.objects.create_user(email="agent@example.com", password="x", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="integrations", codename="view_whmcsservice")
    )
    user.groups.add(group)

    # when the database is migrated forward
    migrate()

    # then the content types (and so the permissions and grants) are billing's
    assert content_type_labels() == {("billing", model) for model in MIRROR_MODELS}
    user = User.objects.get(pk=user.pk)
    assert user.has_perm("billing.view_whmcsinvoice")
    assert user.has_perm("billing.view_whmcsservice")
    assert not user.has_perm("billing.view_whmcspaymentmethod")


def test_grants_move_to_billing_content_types_that_already_exist(before_the_move: Apps) -> None:
    # given a grant under the old label, and billing's content type already created by an earlier
    # partial migrate (with its own permission row)
    group = Group.objects.create(name="Billing support")
    group.permissions.add(
        Permission.objects.get(content_type__app_label="integrations", codename="view_whmcsinvoice")
    )
    early = ContentType.objects.create(app_label="billing", model="whmcsinvoice")
    Permission.objects.create(content_type=early, codename="view_whmcsinvoice", name="Can view WHMCS invoice")

    # when the database is migrated forward
    migrate()

    # then the grant is on billing's permission and the old content type is gone
    assert content_type_labels() == {("billing", model) for model in MIRROR_MODELS}
    assert list(
        Group.objects.get(pk=group.pk).permissions.values_list("content_type__app_label", "codename")
    ) == [("billing", "view_whmcsinvoice")]
