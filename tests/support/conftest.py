"""Customers with a Salesforce Account in the emulator, API clients signed in as them, agents,
and a helper that delivers the outbox the way the worker does."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.integrations.outbox import DeliveryReport, outbox_deliver_due
from emulators import EmulatorSuite
from tests.factories import AgentFactory, CustomerFactory

MakeCustomer = Callable[..., User]


@pytest.fixture
def make_customer(systems: EmulatorSuite) -> MakeCustomer:
    def make(**user_fields: object) -> User:
        account = systems.salesforce.store.create_record("Account", {"Name": "Sato Hana"})
        return CustomerFactory.create(id_mapping__salesforce_account_id=account["Id"], **user_fields)

    return make


@pytest.fixture
def customer(make_customer: MakeCustomer) -> User:
    return make_customer(first_name="Hana", last_name="Sato")


@pytest.fixture
def api(customer: User) -> APIClient:
    client = APIClient()
    client.force_login(customer)
    return client


def api_for(user: User) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def agent(db: None) -> User:
    return AgentFactory(first_name="Aoi", last_name="Tanaka")


@pytest.fixture
def agent_client(agent: User) -> Client:
    client = Client()
    client.force_login(agent)
    return client


def account_id_of(user: User) -> str:
    return user.id_mapping.salesforce_account_id


def deliver_all() -> DeliveryReport:
    """Deliver the outbox until nothing is due (a customer's entries go one per run, in order);
    the report adds up the runs."""
    total = DeliveryReport()
    while True:
        report = outbox_deliver_due()
        total.api_calls += report.api_calls
        total.failed += report.failed
        if not report.delivered:
            return total
        total.delivered += report.delivered
