"""portal.schema_changes: what breaks a client written against the previous schema."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

from portal.schema_changes import breaking_changes

OLD: dict[str, Any] = {
    "paths": {
        "/api/orders": {
            "get": {"parameters": [{"in": "query", "name": "page"}], "responses": {"200": {}}},
            "post": {"responses": {"201": {}, "400": {}}},
        },
        "/api/me": {"get": {"responses": {"200": {}}}},
    },
    "components": {
        "schemas": {
            "Order": {
                "properties": {
                    "id": {"type": "integer"},
                    "status": {"type": "string", "enum": ["draft", "approved"]},
                    "items": {"type": "array", "items": {"properties": {"sku": {"type": "string"}}}},
                }
            },
            "OrderInputRequest": {"properties": {"note": {"type": "string"}}, "required": []},
        }
    },
}


def test_the_same_schema_and_additions_break_nothing() -> None:
    grown = copy.deepcopy(OLD)
    grown["paths"]["/api/new"] = {"get": {"responses": {"200": {}}}}
    grown["paths"]["/api/orders"]["get"]["parameters"].append({"in": "query", "name": "status"})
    grown["components"]["schemas"]["Order"]["properties"]["total"] = {"type": "string"}
    grown["components"]["schemas"]["Order"]["properties"]["status"]["enum"].append("cancelled")

    assert breaking_changes(OLD, OLD) == []
    assert breaking_changes(OLD, grown) == []


def test_removals_and_new_requirements_are_breaking() -> None:
    changed = copy.deepcopy(OLD)
    del changed["paths"]["/api/me"]
    del changed["paths"]["/api/orders"]["post"]["responses"]["201"]
    changed["paths"]["/api/orders"]["get"]["parameters"] = [{"in": "query", "name": "year", "required": True}]
    order = changed["components"]["schemas"]["Order"]["properties"]
    del order["id"]
    order["status"]["enum"].remove("approved")
    order["items"]["items"]["properties"]["sku"]["enum"] = ["x"]
    changed["components"]["schemas"]["OrderInputRequest"]["required"] = ["note"]

    assert breaking_changes(OLD, changed) == [
        "GET /api/orders: new required query parameter year",
        "GET /api/orders: query parameter page removed",
        "POST /api/orders: success answer 201 removed",
        "operation removed: GET /api/me",
        "schema Order.status: enum values removed: ['approved']",
        "schema Order: field id removed",
        "schema OrderInputRequest: field note became required",
    ]


def test_the_committed_schema_reads() -> None:
    committed = yaml.safe_load((Path(settings.BASE_DIR) / "openapi.yaml").read_text(encoding="utf-8"))

    assert breaking_changes(committed, committed) == []
