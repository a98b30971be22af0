"""Fulfillment runs are visible, read-only, in the admin."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import FulfillmentRunFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_fulfillment_runs_are_listed_and_read_only(client: Client) -> None:
    run = FulfillmentRunFactory(error_code="WHMCS_ACCEPT_ORDER_FAILED")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    listing = client.get(reverse("admin:checkout_fulfillmentrun_changelist"))
    page = client.get(reverse("admin:checkout_fulfillmentrun_change", args=[run.pk]))
    add = client.get(reverse("admin:checkout_fulfillmentrun_add"))

    assert (listing.status_code, page.status_code, add.status_code) == (200, 200, 403)
    assert run.salesforce_order_id in listing.content.decode()
    assert b'name="salesforce_order_id"' not in page.content
