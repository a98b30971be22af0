"""Schema fuzzing: schemathesis generates requests for every operation in ``/api/schema/`` and
sends them, as a signed-in customer, to the real WSGI application with the emulators running.

Whatever it sends, the portal must never answer with a server error, and every documented
response must match the schema it publishes.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.contrib.sessions.backends.db import SessionStore
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from apps.integrations.emulators import EmulatorSuite
from portal.wsgi import application
from tests.factories import CustomerFactory

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)

# A fixed, well-formed CSRF secret: the fuzzer sends it as cookie and header, like a browser.
CSRF_TOKEN = "fuzzcsrftokenfuzzcsrftokenfuzzcs"


@pytest.fixture
def customer_headers(systems: EmulatorSuite) -> dict[str, str]:
    customer = CustomerFactory()
    session = SessionStore()
    session["_auth_user_id"] = str(customer.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = customer.get_session_auth_hash()
    session.create()
    return {
        "Cookie": f"sessionid={session.session_key}; csrftoken={CSRF_TOKEN}",
        "X-CSRFToken": CSRF_TOKEN,
        "Referer": "https://testserver/",
    }


@schema.parametrize()
# Transactional: the WSGI handler closes the connection after each request, as in production.
@pytest.mark.django_db(transaction=True)
@hypothesis_settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_no_server_error_and_responses_match_the_schema(case: Any, customer_headers: dict[str, str]) -> None:
    response = case.call(headers=customer_headers)

    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code}"
    case.validate_response(response, checks=[schemathesis.specs.openapi.checks.response_schema_conformance])
