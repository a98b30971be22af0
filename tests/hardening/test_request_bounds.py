"""Bad input gets a 4xx, never a 500: JSON bodies nested too deeply or too large for the API's
parser, and IDs and page numbers too large for any database column, in URLs and query strings."""

from __future__ import annotations

import json

import pytest
from pytest_django.fixtures import Settings as SettingsFixture
from rest_framework.test import APIClient

from emulators import EmulatorSuite
from portal.parsers import MAX_JSON_DEPTH
from tests.factories import CustomerFactory
from tests.helpers import error_code, error_message, field_messages

pytestmark = pytest.mark.django_db

LOGIN = "/api/auth/login"
TOO_DEEP = {
    "array": "[" * 50_000 + "]" * 50_000,
    "object": '{"a":' * 50_000 + "1" + "}" * 50_000,
}
OUT_OF_RANGE = 10**23  # far above the largest ID a database column holds (2**63 - 1)


def nested_list(depth: int) -> str:
    return "[" * depth + "]" * depth


def signed_in() -> APIClient:
    client = APIClient()
    client.force_login(CustomerFactory())
    return client


# --- JSON bodies ---------------------------------------------------------------------------------


@pytest.mark.parametrize("body", TOO_DEEP.values(), ids=TOO_DEEP.keys())
def test_deeply_nested_json_is_refused_even_before_sign_in(body: str) -> None:
    response = APIClient().post(LOGIN, body, content_type="application/json")

    assert response.status_code == 400
    assert (error_code(response), error_message(response)) == (
        "parse_error",
        "The JSON is nested too deeply (at most 32 levels).",
    )


@pytest.mark.parametrize("body", TOO_DEEP.values(), ids=TOO_DEEP.keys())
def test_deeply_nested_json_is_refused_on_a_signed_in_endpoint(body: str) -> None:
    response = signed_in().post(
        "/api/orders", body, content_type="application/json", headers={"Idempotency-Key": "key-1"}
    )

    assert response.status_code == 400
    assert error_code(response) == "parse_error"


def test_nesting_up_to_the_limit_is_parsed_and_validated_as_usual() -> None:
    at_limit = f'{{"email": {nested_list(MAX_JSON_DEPTH - 1)}, "password": "x"}}'
    over_limit = f'{{"email": {nested_list(MAX_JSON_DEPTH)}, "password": "x"}}'

    accepted = APIClient().post(LOGIN, at_limit, content_type="application/json")
    refused = APIClient().post(LOGIN, over_limit, content_type="application/json")

    assert accepted.status_code == 400
    assert field_messages(accepted) == {"email": ["Enter a valid email address."]}
    assert refused.status_code == 400
    assert error_code(refused) == "parse_error"


def test_brackets_and_escaped_quotes_inside_strings_do_not_count_as_nesting(systems: EmulatorSuite) -> None:
    customer = CustomerFactory()
    body = json.dumps(
        {
            "email": customer.email,
            "password": "correct-horse-battery",
            "note": '[{"\\' * 5_000 + '"]]}}' * 5_000,
        }
    )

    response = APIClient().post(LOGIN, body, content_type="application/json")

    assert response.status_code == 200, response.content
    assert response.json()["email"] == customer.email


def test_a_json_body_larger_than_django_allows_is_refused(settings: SettingsFixture) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    body = json.dumps({"email": "someone@example.com", "password": "x" * 1_000})

    response = APIClient().post(LOGIN, body, content_type="application/json")

    assert response.status_code == 400
    assert (error_code(response), error_message(response)) == (
        "parse_error",
        "The request body is too large.",
    )


def test_a_body_in_a_charset_that_is_no_text_encoding_is_refused() -> None:
    response = APIClient().post(
        LOGIN, TOO_DEEP["array"].encode(), content_type="application/json; charset=bz2_codec"
    )

    assert response.status_code == 400
    assert error_code(response) == "parse_error"


def test_the_refusal_is_in_the_customers_language() -> None:
    response = APIClient().post(
        LOGIN, TOO_DEEP["array"], content_type="application/json", headers={"Accept-Language": "ja"}
    )

    assert response.status_code == 400
    assert (error_code(response), error_message(response)) == (
        "parse_error",
        "JSONの入れ子が深すぎます（最大32階層）。",
    )


# --- Integers in URLs and query strings ---------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/orders/{id}", None),
        ("get", "/api/subscriptions/{id}", None),
        ("post", "/api/subscriptions/{id}/cancellation", {"confirm": True}),
        ("get", "/api/billing/invoices/{id}", None),
        ("get", "/api/support/cases/{id}", None),
        ("post", "/api/support/cases/{id}/comments", {"body": "Hello?"}),
    ],
)
def test_an_id_too_large_for_the_database_is_not_found(method: str, path: str, body: object) -> None:
    response = getattr(signed_in(), method)(path.format(id=OUT_OF_RANGE), body, format="json")

    assert response.status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/api/orders",
        "/api/subscriptions",
        "/api/billing/invoices",
        "/api/support/cases",
        "/api/notifications",
    ],
)
@pytest.mark.parametrize(
    "query", [f"page={OUT_OF_RANGE}", f"page_size={OUT_OF_RANGE}", "page=-1", "page=1e400"]
)
def test_page_numbers_and_sizes_out_of_range_are_no_server_errors(path: str, query: str) -> None:
    response = signed_in().get(f"{path}?{query}")

    assert response.status_code in (200, 404)  # a page past the end is "not found"; sizes are capped


# --- Unknown URLs ----------------------------------------------------------------------------------

MALFORMED_MULTIPART = b"--b\r\n" + b"X-Header: " + b"x" * 20_000 + b"\r\n\r\nvalue\r\n--b--\r\n"


@pytest.mark.parametrize("path", ["/api/support/cases/false/comments", "/no-such-page"])
def test_a_malformed_upload_to_an_unknown_url_is_not_found_not_a_server_error(path: str) -> None:
    # The CSRF check of the error page is what read the body: a browser-like client with a cookie.
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(CustomerFactory())
    client.cookies["csrftoken"] = "fuzzcsrftokenfuzzcsrftokenfuzzcs"

    response = client.generic(
        "POST", path, MALFORMED_MULTIPART, content_type="multipart/form-data; boundary=b"
    )

    assert response.status_code == 404


def test_an_unknown_api_url_answers_in_the_api_error_format() -> None:
    response = signed_in().get("/api/no-such-endpoint")

    assert response.status_code == 404
    assert (error_code(response), error_message(response)) == ("not_found", "Not found.")
