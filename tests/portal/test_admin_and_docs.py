"""Every model is in the admin and its pages render; the API schema and docs are served."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from tests.factories import (
    AgentDecisionFactory,
    CaseFactory,
    CustomerFactory,
    EligibilityRequestFactory,
    EventReplayCursorFactory,
    FulfillmentRunFactory,
    IdempotentRequestFactory,
    NotificationFactory,
    OpportunityFactory,
    OrderItemFactory,
    OrphanedSalesforceAccountFactory,
    OrphanedWhmcsClientFactory,
    OutboxEntryFactory,
    PriceMismatchFactory,
    ProductFactory,
    RegistrationAttemptFactory,
    ResidenceCardSubmissionFactory,
    SalesforceSyncCursorFactory,
    UserFactory,
    WhmcsInvoiceFactory,
    WhmcsPaymentMethodFactory,
    WhmcsServiceFactory,
)

pytestmark = pytest.mark.django_db

PORTAL_APPS = {
    "accounts",
    "catalog",
    "checkout",
    "verification",
    "opportunities",
    "notifications",
    "billing",
    "integrations",
    "idempotency",
}


@pytest.fixture
def superuser_client(client: Client) -> Client:
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def one_of_everything() -> None:
    customer = CustomerFactory()
    PriceMismatchFactory(product=ProductFactory())
    RegistrationAttemptFactory()
    OpportunityFactory(user=customer)
    CaseFactory(user=customer)
    OrderItemFactory(order__user=customer)
    EligibilityRequestFactory(user=customer)
    ResidenceCardSubmissionFactory(user=customer)
    NotificationFactory(user=customer)
    OutboxEntryFactory()
    EventReplayCursorFactory()
    SalesforceSyncCursorFactory()
    OrphanedWhmcsClientFactory()
    OrphanedSalesforceAccountFactory()
    WhmcsServiceFactory(user=customer)
    WhmcsInvoiceFactory(user=customer)
    WhmcsPaymentMethodFactory(user=customer)
    FulfillmentRunFactory()
    AgentDecisionFactory()
    IdempotentRequestFactory()


def portal_models() -> list[type]:
    return [model for model in admin.site._registry if model._meta.app_label in PORTAL_APPS]


def test_every_portal_model_is_registered_or_inlined() -> None:
    from django.apps import apps

    registered = set(admin.site._registry)
    inlined = {
        inline.model for model_admin in admin.site._registry.values() for inline in model_admin.inlines
    }
    for app_label in PORTAL_APPS:
        for model in apps.get_app_config(app_label).get_models():
            assert model in registered | inlined, f"{model.__name__} is not in the admin"


def test_changelists_and_change_pages_render(superuser_client: Client, one_of_everything: None) -> None:
    for model in portal_models():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        response = superuser_client.get(changelist)
        assert response.status_code == 200, changelist

        instance = model._default_manager.first()
        if model._meta.proxy and instance is None:
            continue  # a queue over rows in another state; its change page is tested in tests/console
        change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[instance.pk])
        response = superuser_client.get(change)
        assert response.status_code == 200, change


def test_customers_cannot_reach_the_admin(client: Client) -> None:
    client.force_login(CustomerFactory())

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_openapi_schema_and_swagger_ui_are_served(client: Client) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "SonixNet customer portal API"
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
