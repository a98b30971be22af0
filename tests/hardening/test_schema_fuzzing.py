"""Schema fuzzing: schemathesis generates requests for every operation in ``/api/schema/`` and
sends them, as a signed-in customer, to the real WSGI application with the emulators running.

Whatever it sends, the portal must never answer with a server error, every status it answers must
be documented and every response must match the schema it publishes. Hostile input is sent to every operation the schema
lists as well, so a new endpoint is checked without a test of its own: JSON nested far too deeply,
and integers too large for any database column in bodies, paths and query strings.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from functools import reduce
from typing import Any

import pytest
import schemathesis
from django.contrib.sessions.backends.db import SessionStore
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.schemas import APIOperation

from emulators import EmulatorSuite
from portal.api import DATABASE_ID_MAX
from portal.wsgi import application
from tests.factories import CustomerFactory
from tests.scenarios import whmcs_client

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)

FUZZ_SETTINGS = hypothesis_settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)

# A fixed, well-formed CSRF secret: the fuzzer sends it as cookie and header, like a browser.
CSRF_TOKEN = "fuzzcsrftokenfuzzcsrftokenfuzzcs"


@pytest.fixture
def as_customer(systems: EmulatorSuite) -> dict[str, dict[str, str]]:
    """``case.call`` arguments that send a signed-in customer's session and CSRF token like a
    browser. Cookies must go in ``cookies``: the WSGI client drops a Cookie header for its own jar.
    The customer's WHMCS client exists in the emulator, as registration leaves it (the endpoints
    that call WHMCS answer 503 for a client WHMCS does not know)."""
    customer = CustomerFactory()
    customer.id_mapping.whmcs_client_id = whmcs_client(email=customer.email)
    customer.id_mapping.save()
    session = SessionStore()
    session["_auth_user_id"] = str(customer.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = customer.get_session_auth_hash()
    session.create()
    return {
        "cookies": {"sessionid": session.session_key, "csrftoken": CSRF_TOKEN},
        "headers": {"X-CSRFToken": CSRF_TOKEN, "Referer": "https://testserver/"},
    }


@schema.parametrize()
# Transactional: the WSGI handler closes the connection after each request, as in production.
@pytest.mark.django_db(transaction=True)
@FUZZ_SETTINGS
def test_no_server_error_and_responses_match_the_schema(
    case: Any, as_customer: dict[str, dict[str, str]]
) -> None:
    response = case.call(**as_customer)

    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code}"
    checks = schemathesis.specs.openapi.checks
    # Every status is documented (the error responses portal/schema.py adds), and every body matches.
    case.validate_response(
        response, checks=[checks.status_code_conformance, checks.response_schema_conformance]
    )


@pytest.mark.django_db(transaction=True)
def test_stateful_sequences_follow_the_links_and_stay_in_the_contract(
    as_customer: dict[str, dict[str, str]],
) -> None:
    """Sequences of calls that carry ids along the schema's links (an order created, then read):
    no server error, no undocumented status, every body as documented."""
    checks = schemathesis.specs.openapi.checks

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return as_customer

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code}"
            case.validate_response(
                response, checks=[checks.status_code_conformance, checks.response_schema_conformance]
            )

    Workflow.run(
        settings=hypothesis_settings(
            max_examples=8,
            stateful_step_count=5,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )


# --- Hostile input to every operation -----------------------------------------------------------

TOO_DEEP_JSON = {
    "array": "[" * 50_000 + "]" * 50_000,
    "object": '{"a":' * 50_000 + "0" + "}" * 50_000,
}
OUT_OF_RANGE = 2**64  # above the largest ID a database column holds (2**63 - 1)


def json_body_schema(operation: APIOperation) -> dict[str, Any] | None:
    content = operation.definition.raw.get("requestBody", {}).get("content", {})
    return content.get("application/json", {}).get("schema")


def integer_properties(node: dict[str, Any], name: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """The name and schema of every integer the JSON schema ``node`` takes, at any depth."""
    while "$ref" in node:
        path = node["$ref"].removeprefix("#/").split("/")
        node = reduce(lambda parent, key: parent[key], path, schema.raw_schema)
    if node.get("type") == "integer":
        yield name, node
    for child_name, child in node.get("properties", {}).items():
        yield from integer_properties(child, child_name)
    for child in [*node.get("allOf", []), *node.get("anyOf", []), *node.get("oneOf", [])]:
        yield from integer_properties(child, name)
    if "items" in node:
        yield from integer_properties(node["items"], name)


def integer_body_properties(operation: APIOperation) -> dict[str, dict[str, Any]]:
    body_schema = json_body_schema(operation)
    return {} if body_schema is None else dict(integer_properties(body_schema))


def integer_parameters(operation: APIOperation) -> list[str]:
    """The names of the operation's integer path and query parameters."""
    parameters = operation.definition.raw.get("parameters", [])
    return [
        p["name"] for p in parameters if p["in"] in ("path", "query") and p["schema"].get("type") == "integer"
    ]


OPERATIONS = [result.ok() for result in schema.get_all_operations()]
JSON_WRITE_OPERATIONS = [operation for operation in OPERATIONS if json_body_schema(operation) is not None]


def by_label(operation: APIOperation) -> str:
    return operation.label


@pytest.mark.parametrize("operation", JSON_WRITE_OPERATIONS, ids=by_label)
def test_every_integer_a_json_body_takes_is_bounded_for_the_database(operation: APIOperation) -> None:
    for name, integer in integer_body_properties(operation).items():
        # Unbounded, a huge number reaches the database and fails there (OverflowError, a 500):
        # use portal.api.DatabaseIdField for IDs, max_value for other numbers.
        assert integer.get("maximum", math.inf) <= DATABASE_ID_MAX, f"{operation.label}: {name}"


@pytest.mark.parametrize("operation", JSON_WRITE_OPERATIONS, ids=by_label)
@pytest.mark.parametrize("body", TOO_DEEP_JSON.values(), ids=TOO_DEEP_JSON.keys())
@pytest.mark.django_db(transaction=True)
def test_deeply_nested_json_is_a_client_error(
    operation: APIOperation, body: str, as_customer: dict[str, dict[str, str]]
) -> None:
    case = operation.Case(
        path_parameters={
            parameter.name: 1 if parameter.name in integer_parameters(operation) else str(uuid.uuid4())
            for parameter in operation.path_parameters
        },
        headers={header.name: "fuzz" for header in operation.headers if header.is_required},
    )

    response = case.call(
        headers={**as_customer["headers"], "Content-Type": "application/json"},
        cookies=as_customer["cookies"],
        data=body.encode(),
    )

    assert 400 <= response.status_code < 500, f"{operation.label}: {response.status_code}"


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def out_of_range_parameters(context: Any, parameters: dict[str, Any] | None) -> dict[str, Any] | None:
    """Path or query parameters with every integer out of range (``None``: there are none)."""
    if parameters is None:
        return None
    return {name: OUT_OF_RANGE if _is_integer(value) else value for name, value in parameters.items()}


def _locations_of(names: set[str], value: Any, location: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Where in ``value`` an integer property named in ``names`` is (a path of keys and indexes)."""
    if isinstance(value, dict | list):
        for key in value.keys() if isinstance(value, dict) else range(len(value)):
            yield from _locations_of(names, value[key], (*location, key))
    elif _is_integer(value) and location and location[-1] in names:
        yield location


def _replaced(value: Any, location: tuple[Any, ...]) -> Any:
    if not location:
        return OUT_OF_RANGE
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[location[0]] = _replaced(value[location[0]], location[1:])
    return copy


def flatmap_body(context: Any, body: Any) -> st.SearchStrategy[Any]:
    # One integer the schema declares at a time: another out of range (a quantity) must not hide
    # the one tested behind its own validation error.
    locations = list(_locations_of(set(integer_body_properties(context.operation)), body))
    if not locations:
        return st.just(body)
    return st.sampled_from(locations).map(lambda location: _replaced(body, location))


def takes_an_integer(context: Any) -> bool:
    return bool(integer_body_properties(context.operation) or integer_parameters(context.operation))


@schema.hooks.apply(out_of_range_parameters, name="map_path_parameters")
@schema.hooks.apply(out_of_range_parameters, name="map_query")
@schema.hooks.apply(flatmap_body)
@schema.include(takes_an_integer).parametrize()
@pytest.mark.django_db(transaction=True)
@FUZZ_SETTINGS
def test_integers_too_large_for_the_database_are_client_errors(
    case: Any, as_customer: dict[str, dict[str, str]]
) -> None:
    response = case.call(**as_customer)

    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code}"
