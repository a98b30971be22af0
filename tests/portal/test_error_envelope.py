"""Every error under /api/ answers one envelope: code, message, request_id, and fields or details
when there are some. The shape is asserted here; other tests read errors through tests/helpers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

from apps.accounts.models import User
from portal.logging import ContextFormatter, RequestIdFilter
from tests.helpers import api_for, error_code, error_details, error_message, field_errors

pytestmark = pytest.mark.django_db

ENVELOPE_KEYS = {"code", "message", "request_id", "fields", "details"}


def assert_envelope(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) <= ENVELOPE_KEYS
    assert {"code", "message", "request_id"} <= set(body)
    assert body["code"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    assert body["request_id"] == response["X-Request-ID"]
    return dict(body)


def test_a_validation_error_names_each_field_with_its_own_codes(customer: User) -> None:
    response = api_for(customer).post(
        "/api/orders",
        {"product_type": "boat", "items": [{"product_id": 1, "quantity": 0}]},
        format="json",
        headers={"Idempotency-Key": "envelope-1"},
    )

    body = assert_envelope(response, 400, "invalid")
    assert field_errors(response) == {"product_type": ["invalid_choice"], "items.0.quantity": ["min_value"]}
    assert all(error["message"] for errors in body["fields"].values() for error in errors)
    assert "details" not in body


def test_an_error_about_the_whole_body_is_its_message() -> None:
    response = APIClient().post("/api/auth/login", [1, 2], format="json")

    body = assert_envelope(response, 400, "invalid")
    assert field_errors(response) == {"non_field_errors": ["invalid"]}
    assert body["message"] == body["fields"]["non_field_errors"][0]["message"]


def test_a_business_error_carries_its_code_and_no_fields() -> None:
    response = APIClient().post(
        "/api/auth/login", {"email": "nobody@example.com", "password": "wrong"}, format="json"
    )

    body = assert_envelope(response, 400, "invalid_credentials")
    assert error_message(response) == "The email address or password is incorrect."
    assert "fields" not in body
    assert error_details(response) == {}


def test_signed_out_is_401_with_a_challenge_and_signed_in_but_refused_is_403(customer: User) -> None:
    anonymous = APIClient().get("/api/me")

    assert_envelope(anonymous, 401, "not_authenticated")
    assert anonymous["WWW-Authenticate"] == 'Session realm="api"'

    signed_in = APIClient(enforce_csrf_checks=True)
    signed_in.force_login(customer)
    refused = signed_in.post("/api/auth/logout")

    assert_envelope(refused, 403, "csrf_failed")
    assert "WWW-Authenticate" not in refused
    assert signed_in.get("/api/me").status_code == 200  # still signed in


def test_a_csrf_failure_on_an_anonymous_form_is_the_envelope_too() -> None:
    response = APIClient(enforce_csrf_checks=True).post(
        "/api/auth/login", {"email": "hana@example.com", "password": "x"}, format="json"
    )

    assert_envelope(response, 403, "csrf_failed")


def test_the_console_keeps_djangos_csrf_page() -> None:
    response = Client(enforce_csrf_checks=True).post("/admin/login/", {"username": "a", "password": "b"})

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


def test_unknown_api_paths_are_a_json_404_and_other_paths_a_page() -> None:
    assert_envelope(Client().get("/api/no-such-thing"), 404, "not_found")
    assert_envelope(Client().post("/api/no/such/thing", {}), 404, "not_found")
    assert Client().get("/no-such-page")["Content-Type"].startswith("text/html")


@override_settings(DEBUG=True)
def test_unknown_api_paths_answer_the_envelope_with_debug_on_too() -> None:
    assert_envelope(Client().get("/api/no-such-thing"), 404, "not_found")
    assert_envelope(Client().get("/api/me/"), 404, "not_found")


def test_a_record_of_another_customer_is_not_found(customer: User) -> None:
    assert_envelope(api_for(customer).get("/api/orders/999999"), 404, "not_found")


def test_a_method_the_path_does_not_take_is_405(customer: User) -> None:
    assert_envelope(api_for(customer).delete("/api/me"), 405, "method_not_allowed")


def test_a_body_that_is_not_json_is_415() -> None:
    response = APIClient().post("/api/auth/login", "email=a", content_type="text/plain")

    assert_envelope(response, 415, "unsupported_media_type")


def test_throttling_is_429_with_retry_after_in_the_header_and_the_details() -> None:
    api = APIClient()
    responses = [
        api.post("/api/auth/password/reset", {"email": "hana.sato@example.com"}, format="json")
        for _ in range(6)
    ]

    assert [response.status_code for response in responses[:5]] == [202] * 5
    assert_envelope(responses[-1], 429, "throttled")
    assert int(responses[-1]["Retry-After"]) > 0
    assert error_details(responses[-1]) == {"retry_after": int(responses[-1]["Retry-After"])}


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(ContextFormatter("%(levelname)s %(name)s %(message)s"))
        self.addFilter(RequestIdFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    handler = Collect()
    logging.getLogger().addHandler(handler)
    try:
        yield handler.lines
    finally:
        logging.getLogger().removeHandler(handler)


def test_a_server_error_is_the_envelope_and_its_request_id_finds_the_logged_traceback(
    customer: User, monkeypatch: pytest.MonkeyPatch, log_lines: list[str]
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("apps.accounts.api.views.user_with_profile", broken)
    api = api_for(customer)
    api.raise_request_exception = False

    response = api.get("/api/me")

    body = assert_envelope(response, 500, "server_error")
    assert "secret" not in response.content.decode()
    logged = [line for line in log_lines if "Internal Server Error: /api/me" in line]
    assert logged
    assert all(f"request_id={body['request_id']}" in line for line in logged)


def test_a_sane_incoming_request_id_is_kept_and_any_other_replaced() -> None:
    kept = Client().get("/api/no-such-thing", headers={"X-Request-ID": "edge-7f3a.01:b_c"})
    assert kept["X-Request-ID"] == "edge-7f3a.01:b_c"
    assert kept.json()["request_id"] == "edge-7f3a.01:b_c"

    for hostile in ("two words", "line\nbreak", "x" * 200, ""):
        replaced = Client().get("/healthz", headers={"X-Request-ID": hostile})
        assert replaced["X-Request-ID"] != hostile
        assert len(replaced["X-Request-ID"]) == 32


def test_codes_are_read_the_same_way_everywhere(customer: User) -> None:
    assert error_code(APIClient().get("/api/me")) == "not_authenticated"
