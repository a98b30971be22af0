"""API clients signed in as the customer, and an agent with a console session (customers come
from ``make_customer``/``customer``)."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.models import User
from tests.factories import AgentFactory


@pytest.fixture
def api(customer: User) -> APIClient:
    client = APIClient()
    client.force_login(customer)
    return client


@pytest.fixture
def agent(db: None) -> User:
    return AgentFactory(first_name="Aoi", last_name="Tanaka")


@pytest.fixture
def agent_client(agent: User) -> Client:
    client = Client()
    client.force_login(agent)
    return client
