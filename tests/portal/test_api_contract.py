"""The committed schema (openapi.yaml) is the code's, every operation is documented for API users
with examples that match it, and every operation's errors are the documented envelope."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from django.conf import settings
from django.core.management import call_command
from rest_framework.test import APIClient

from apps.accounts.models import User
from tests.factories import OrderFactory
from tests.helpers import api_for

pytestmark = pytest.mark.django_db

SCHEMA_FILE = Path(settings.BASE_DIR) / "openapi.yaml"
REGENERATE = "DEBUG=true .venv/bin/python manage.py spectacular --lang en --validate --file openapi.yaml"
UNSAFE = {"post", "put", "patch", "delete"}


def generated_schema() -> str:
    out = io.StringIO()
    call_command("spectacular", "--lang", "en", stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return dict(yaml.safe_load(SCHEMA_FILE.read_text(encoding="utf-8")))


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def as_json_schema(node: Any, components: dict[str, Any], depth: int = 0) -> Any:
    """An OpenAPI 3.0 schema as a JSON Schema: references inlined, ``nullable`` as a null type."""
    if isinstance(node, list):
        return [as_json_schema(item, components, depth) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        assert depth < 20, node
        return as_json_schema(components[node["$ref"].split("/")[-1]], components, depth + 1)
    converted = {key: as_json_schema(value, components, depth) for key, value in node.items()}
    if converted.pop("nullable", False):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def assert_matches(example: Any, schema_node: dict[str, Any], schema: dict[str, Any], where: str) -> None:
    resolved = as_json_schema(schema_node, schema["components"]["schemas"])
    errors = sorted(jsonschema.Draft202012Validator(resolved).iter_errors(example), key=str)
    assert not errors, f"{where}: the example does not match the schema: {errors[0].message}"


def test_the_committed_schema_is_the_codes() -> None:
    committed = SCHEMA_FILE.read_text(encoding="utf-8")
    assert generated_schema() == committed, (
        f"openapi.yaml differs from the schema of the code. Regenerate it with `{REGENERATE}`, "
        "review the difference and commit it (python -m portal.schema_changes lists breaking changes)."
    )


def test_every_operation_is_documented_for_api_users_with_examples(schema: dict[str, Any]) -> None:
    missing = []
    for path, method, operation in operations(schema):
        name = f"{method.upper()} {path} ({operation['operationId']})"
        for key in ("summary", "description"):
            if not operation.get(key, "").strip():
                missing.append(f"{name}: no {key}")
        body = operation.get("requestBody", {}).get("content", {})
        if "application/json" in body and not body["application/json"].get("examples"):
            missing.append(f"{name}: no request example")
        for code, response in operation["responses"].items():
            for media in response.get("content", {}).values():
                if not media.get("examples"):
                    missing.append(f"{name}: no example of its {code} answer")
    assert not missing, "Document these in portal/operations.yaml:\n" + "\n".join(missing)


def test_every_example_matches_its_schema(schema: dict[str, Any]) -> None:
    for path, method, operation in operations(schema):
        name = f"{method.upper()} {path}"
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
            for example in media.get("examples", {}).values():
                assert_matches(example["value"], media["schema"], schema, f"{name} {media_type} request")
        for code, response in operation["responses"].items():
            for media in response.get("content", {}).values():
                for example in media.get("examples", {}).values():
                    assert_matches(example["value"], media["schema"], schema, f"{name} {code}")


def test_every_error_answer_is_the_error_envelope(schema: dict[str, Any]) -> None:
    for path, method, operation in operations(schema):
        for code, response in operation["responses"].items():
            if int(code) < 400:
                continue
            assert response["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }, f"{method.upper()} {path} {code}"
        needs_sign_in = {"session": []} in operation.get("security", []) and {} not in operation["security"]
        if needs_sign_in:
            assert "401" in operation["responses"], f"{method.upper()} {path}"
            assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
        if method in UNSAFE:
            assert all("csrf" in requirement for requirement in operation["security"]), path
            assert "403" in operation["responses"], f"{method.upper()} {path}"


def test_the_security_schemes_are_the_session_and_the_csrf_header(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert schemes["session"]["in"] == "cookie"
    assert (schemes["csrf"]["in"], schemes["csrf"]["name"]) == ("header", "X-CSRFToken")
    assert "/api/auth/csrf" in schemes["csrf"]["description"]


def test_created_records_link_to_the_operations_on_them(schema: dict[str, Any]) -> None:
    ids = {operation["operationId"]: operation for _, _, operation in operations(schema)}
    created = ids["orders_create"]["responses"]["201"]["links"]

    assert created == {
        "orders_retrieve": {
            "operationId": "orders_retrieve",
            "parameters": {"order_id": "$response.body#/id"},
        }
    }
    for _, _, operation in operations(schema):
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                target = ids[link["operationId"]]
                names = {p["name"] for p in target.get("parameters", []) if p["in"] == "path"}
                assert set(link["parameters"]) == names, link


def test_every_paginated_list_takes_page_and_page_size(schema: dict[str, Any]) -> None:
    lists = [
        (path, operation)
        for path, method, operation in operations(schema)
        if "Paginated" in str(operation["responses"].get("200", {}).get("content", {}))
    ]
    assert len(lists) >= 4
    for path, operation in lists:
        assert {"page", "page_size"} <= {parameter["name"] for parameter in operation["parameters"]}, path


def test_the_notification_feed_takes_cursor_and_page_size(schema: dict[str, Any]) -> None:
    operation = schema["paths"]["/api/notifications"]["get"]
    page = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]

    assert {"cursor", "page_size"} == {parameter["name"] for parameter in operation["parameters"]}
    assert set(schema["components"]["schemas"][page]["properties"]) == {"next", "previous", "results"}


def test_page_size_is_honoured_and_capped(customer: User) -> None:
    OrderFactory.create_batch(3, user=customer)
    api = api_for(customer)

    two = api.get("/api/orders", {"page_size": 2}).json()
    capped = api.get("/api/orders", {"page_size": 5000}).json()

    assert (two["count"], len(two["results"]), two["next"] is not None) == (3, 2, True)
    assert (len(capped["results"]), capped["next"]) == (3, None)


def call(api: APIClient, method: str, path: str) -> Any:
    url = re.sub(r"\{[^}]+\}", "999999", path)
    if method in UNSAFE:
        return getattr(api, method)(url, {}, format="json")
    return getattr(api, method)(url)


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "customer"])
def test_every_operation_answers_only_documented_statuses_and_errors_in_the_envelope(
    schema: dict[str, Any], customer: User, signed_in: bool
) -> None:
    """Each operation called as-is (no body, unknown ids), anonymously and as a customer: what
    comes back is documented, and every error is the envelope."""
    error = as_json_schema(schema["components"]["schemas"]["Error"], schema["components"]["schemas"])
    for path, method, operation in operations(schema):
        api = api_for(customer if signed_in else None)
        response = call(api, method, path)
        where = f"{method.upper()} {path} as {'a customer' if signed_in else 'anonymous'}"
        assert str(response.status_code) in operation["responses"], f"{where}: {response.status_code}"
        if response.status_code >= 400:
            jsonschema.validate(response.json(), error)
            assert response.json()["request_id"] == response["X-Request-ID"], where
